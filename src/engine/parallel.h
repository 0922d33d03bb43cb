// Start-up work that reads the whole data set (snapshot checksums, key order)
// split over the machine's cores, and the CRC32C algebra that lets one
// checksum be computed in pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace kyrodb {

// Runs task(i) for every i in [0, tasks), on up to `max_threads` threads (the
// calling thread is one of them; 0 = one per usable CPU, see UsableCpus). Tasks are
// taken in index order from a shared counter, so short and long tasks
// balance. Returns when every task has run. `task` must be thread-safe.
void ParallelFor(size_t tasks, size_t max_threads, const std::function<void(size_t)>& task);

// The CRC32C of A followed by B, given crc(A), crc(B) and |B| (zlib's
// crc32_combine over the Castagnoli polynomial): O(log |B|) 32x32 GF(2)
// matrix steps, so chunks checksummed in parallel cost nothing to join.
uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

// CRC32C of data[0, n), computed in chunks on up to `max_threads` threads.
// Equal to crc32c::Value(data, n).
uint32_t ParallelCrc32c(const char* data, uint64_t n, size_t max_threads = 0);

}  // namespace kyrodb
