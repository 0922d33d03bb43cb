// Picks the probe's SIMD level once, at first use, from CPUID and the OS's
// saved register state (__builtin_cpu_supports checks both).
#include <algorithm>
#include <atomic>

#include "index/probe.h"

namespace kyrodb::index {

#if defined(KYRODB_INDEX_X86_PROBES)
size_t LowerBound_sse2(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key);
size_t LowerBound_sse42(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key);
size_t LowerBound_avx2(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key);
size_t LowerBound_avx512(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key);
#endif

namespace {

using ProbeFn = size_t (*)(const uint64_t*, size_t, size_t, size_t, uint64_t);

// Reference implementation and the fallback off x86-64: branchless
// narrowing, then a count the compiler is free to vectorise.
size_t LowerBoundScalar(const uint64_t* keys, size_t /*n*/, size_t lo, size_t hi, uint64_t key) {
  const uint64_t* base = keys + lo;
  size_t len = hi - lo;
  while (len > kScanMaxKeys) {
    const size_t half = len / 2;
    base = base[half] < key ? base + half : base;
    len -= half;
  }
  size_t count = 0;
  for (size_t i = 0; i < len; ++i) count += base[i] < key;
  return static_cast<size_t>(base - keys) + count;
}

ProbeFn FnFor(SimdLevel level) {
  switch (level) {
#if defined(KYRODB_INDEX_X86_PROBES)
    case SimdLevel::kAvx512: return LowerBound_avx512;
    case SimdLevel::kAvx2: return LowerBound_avx2;
    case SimdLevel::kSse42: return LowerBound_sse42;
    case SimdLevel::kSse2: return LowerBound_sse2;
#endif
    default: return LowerBoundScalar;
  }
}

bool Supported(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar: return true;
#if defined(KYRODB_INDEX_X86_PROBES)
    case SimdLevel::kSse2: return true;  // part of x86-64
    case SimdLevel::kSse42: return __builtin_cpu_supports("sse4.2");
    case SimdLevel::kAvx2: return __builtin_cpu_supports("avx2");
    case SimdLevel::kAvx512: return __builtin_cpu_supports("avx512f");
#endif
    default: return false;
  }
}

// Constant-initialised, so lookups from other globals' constructors are
// safe, and the hot path is one relaxed load and an indirect call (the
// target never changes after start, so the branch predictor learns it).
size_t Resolve(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key);
std::atomic<ProbeFn> g_fn{Resolve};
std::atomic<SimdLevel> g_level{SimdLevel::kScalar};
std::atomic<bool> g_resolved{false};

void EnsureResolved() {
  if (g_resolved.load(std::memory_order_acquire)) return;
  const SimdLevel level = DetectSimdLevel();
  g_level.store(level, std::memory_order_relaxed);
  g_fn.store(FnFor(level), std::memory_order_relaxed);
  g_resolved.store(true, std::memory_order_release);
}

size_t Resolve(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key) {
  EnsureResolved();
  return g_fn.load(std::memory_order_relaxed)(keys, n, lo, hi, key);
}

}  // namespace

SimdLevel DetectSimdLevel() {
  for (SimdLevel level : {SimdLevel::kAvx512, SimdLevel::kAvx2, SimdLevel::kSse42, SimdLevel::kSse2}) {
    if (Supported(level)) return level;
  }
  return SimdLevel::kScalar;
}

bool SetSimdLevel(SimdLevel level) {
  if (!Supported(level)) return false;
  EnsureResolved();
  g_level.store(level, std::memory_order_relaxed);
  g_fn.store(FnFor(level), std::memory_order_relaxed);
  return true;
}

SimdLevel ActiveSimdLevel() {
  EnsureResolved();
  return g_level.load(std::memory_order_relaxed);
}

const char* SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512: return "avx512";
    case SimdLevel::kAvx2: return "avx2";
    case SimdLevel::kSse42: return "sse4.2";
    case SimdLevel::kSse2: return "sse2";
    default: return "scalar";
  }
}

const char* SimdLevelName() { return SimdLevelName(ActiveSimdLevel()); }

size_t LowerBoundInWindow(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key) {
  return g_fn.load(std::memory_order_relaxed)(keys, n, lo, hi, key);
}

}  // namespace kyrodb::index
