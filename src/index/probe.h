// The last mile of a lookup: the lower bound of a key inside a small window
// of the sorted key array, with xsimd batch compares.
//
// The SIMD width is picked once, at run time, from what the CPU and OS
// support (AVX-512F, AVX2, SSE4.2, else the SSE2 every x86-64 has). Each level
// is compiled in its own translation unit with its own -m flags, so the
// binary never requires a CPU the user might not have. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kyrodb::index {

enum class SimdLevel : int { kScalar = 0, kSse2, kSse42, kAvx2, kAvx512 };

// Windows up to this many keys (8 cache lines) are scanned whole: their loads
// are independent, so the CPU overlaps the misses and the scan costs about one
// memory latency. Wider windows are first halved with a branchless binary
// search, whose loads depend on each other.
inline constexpr size_t kScanMaxKeys = 64;

// First position p in [lo, hi] with keys[p] >= key, given that such a
// position lies in [lo, hi] (hi inclusive). May read keys[0, n) outside the
// window (never outside the array) to keep loads whole batches.
size_t LowerBoundInWindow(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key);

// The level LowerBoundInWindow uses now, and its name for /build_info:
// "avx512", "avx2", "sse4.2", "sse2" or "scalar".
SimdLevel ActiveSimdLevel();
const char* SimdLevelName();
const char* SimdLevelName(SimdLevel level);

// The best level this CPU and this build support.
SimdLevel DetectSimdLevel();

// Switches the level (tests and benchmarks compare them). Returns false and
// changes nothing if the CPU or the build cannot run `level`.
bool SetSimdLevel(SimdLevel level);

}  // namespace kyrodb::index
