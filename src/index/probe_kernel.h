// The probe, written once for every xsimd architecture. Included only by the
// probe_<arch>.cpp files, each compiled with that architecture's -m flags;
// nothing else may include it (code built for AVX2 must not leak into paths
// that run on older CPUs).
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>

#include "index/probe.h"

// Internal linkage on purpose: an inline function with external linkage
// would be emitted by every probe_<arch>.cpp and the linker would keep one of
// them, possibly the AVX-512 one, for every caller.
namespace kyrodb::index::probe_detail {
namespace {

// Narrowing: the invariant is lower_bound in [base, base + len]; each step
// keeps the half that holds it. The select compiles to cmov, so the only
// branch is the loop's, which depends on the window size alone.
inline const uint64_t* Narrow(const uint64_t* base, size_t& len, uint64_t key) {
  while (len > kScanMaxKeys) {
    const size_t half = len / 2;
    base = base[half] < key ? base + half : base;
    len -= half;
  }
  return base;
}

// Counting keys < key over any range [a, b) with a <= lower_bound <= b gives
// lower_bound - a: everything before the lower bound is smaller, everything
// from it on is not. So the scan may start earlier and end later than the
// window; it does, to load whole, aligned batches.
template <class Arch>
size_t LowerBoundImpl(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key) {
  using Batch = xsimd::batch<int64_t, Arch>;
  constexpr size_t kLanes = Batch::size;

  size_t len = hi - lo;
  const uint64_t* base = Narrow(keys + lo, len, key);
  size_t start = static_cast<size_t>(base - keys);
  const size_t end = start + len;

  // Align the first load to the batch width in memory (the key array is only
  // guaranteed 8-byte aligned), then cover [start, end) with whole batches.
  const size_t misalign = (reinterpret_cast<uintptr_t>(base) / sizeof(uint64_t)) % kLanes;
  start = start >= misalign ? start - misalign : 0;
  size_t batches = (end - start + kLanes - 1) / kLanes;
  if (start + batches * kLanes > n) {
    // Near the end of the array: slide left instead of reading past it.
    if (n < batches * kLanes) {
      size_t count = 0;
      for (size_t i = start; i < end; ++i) count += keys[i] < key;
      return start + count;
    }
    start = n - batches * kLanes;
  }

  // Unsigned compare as signed compare on sign-flipped values: SSE4.2, AVX2
  // and AVX-512 all have a signed 64-bit compare.
  const Batch flip(INT64_MIN);
  const Batch needle(static_cast<int64_t>(key ^ 0x8000000000000000ull));
  const Batch one(1);
  const Batch zero(0);
  Batch acc(0);
  const auto* p = reinterpret_cast<const int64_t*>(keys + start);
  for (size_t b = 0; b < batches; ++b, p += kLanes) {
    const Batch v = Batch::load_unaligned(p) ^ flip;
    acc += xsimd::select(v < needle, one, zero);
  }
  return start + static_cast<size_t>(xsimd::hadd(acc));
}

}  // namespace
}  // namespace kyrodb::index::probe_detail
