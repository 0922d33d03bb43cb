// CRC32C (Castagnoli), the checksum of every WAL record, snapshot section and
// index file.
//
// Why not a library: Debian 12 ships no crc32c -dev package. The portable path
// is Boost.CRC (well kept, table driven); on x86-64 CPUs with SSE4.2 (checked
// at run time, so the binary still runs on CPUs without it) we use the crc32
// instruction, ~20x faster, which matters for multi-GiB snapshots at start-up.
// Tests pin both paths to the same known vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kyrodb::crc32c {

// CRC32C of data[0, n) continuing from `crc` (0 to start).
uint32_t Extend(uint32_t crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// The two implementations, exposed for tests and benchmarks.
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);  // requires SSE4.2
bool HardwareAvailable();

}  // namespace kyrodb::crc32c
