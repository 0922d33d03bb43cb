// The RMI's arithmetic, in one place: routing a key to (leaf, t) and a leaf's
// prediction. Build, lookup and load all include this file, so the error
// bounds measured at build hold for lookups by construction. The target is
// compiled with -ffp-contract=off so no compiler fuses a*b+c differently in
// one translation unit than in another; Deserialize re-measures anyway.
//
// Why lookups are exact, for present and absent keys alike: every step is
// monotone in the key (integer subtraction and shift, u64 -> double
// conversion, multiplication by non-negative constants, truncation, min), so
// keys routed to leaves before j are < key and keys routed after j are > key.
// Hence lower_bound(key) lies between the leaf's first rank and the next
// leaf's first rank, and between the key's two neighbours inside the leaf. The
// builder bounds the prediction error at every key of the leaf (err_lo above,
// err_hi below), the prediction P is monotone in t (slope >= 0) and clamped
// to [0, keys in leaf]. For a key between leaf keys A < key <= B:
//   P(key) - err_lo     <= P(B) - err_lo         <= rank(B)     = lower_bound
//   P(key) + err_hi + 1 >= P(A) + err_hi + 1     >= rank(A) + 1 = lower_bound
// Before the leaf's first key the lower bound is `first` and P >= 0; after its
// last key it is the next leaf's `first` and P <= count. Either way the
// window [P - err_lo, P + err_hi + 1] holds lower_bound(key).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>

#include "index/rmi.h"

namespace kyrodb::index {

// Largest slope a leaf may hold (the loader rejects anything larger). Dense
// clusters inside one router bucket need steep slopes: their keys' t values
// differ only in far decimals.
inline constexpr double kMaxLeafSlope = 281474976710656.0;  // 2^48

// Why a fixed-point centre and no stored intercept: the line goes through
// (centre, middle of the leaf). A float intercept would be slope * mean_t,
// which for a steep leaf is huge and loses whole ranks to rounding; the
// centre is exact to 2^-32 (as fine as t itself is resolved), and what little
// offset its rounding leaves is absorbed by the asymmetric error bounds.
inline double LeafCentre(const Rmi::Leaf& leaf) { return static_cast<double>(leaf.centre) * 0x1p-32; }

// Local rank predicted by a leaf holding `count` keys for router estimate t
// in [0, 1]. Clamping to [0, count] keeps the prediction monotone, makes the
// truncation a floor, and stops a steep leaf from extrapolating past its end
// for absent keys between its last key and the next leaf.
inline int64_t LeafPredictLocal(const Rmi::Leaf& leaf, double t, int64_t count) {
  double v = static_cast<double>(count - 1) * 0.5 + static_cast<double>(leaf.slope) * (t - LeafCentre(leaf));
  v = v > 0.0 ? v : 0.0;  // also maps NaN to 0
  const double c = static_cast<double>(count);
  v = v < c ? v : c;
  return static_cast<int64_t>(v);
}

// 2^-sh as a double, exactly, without a libm call.
inline double Pow2Neg(uint32_t sh) { return std::bit_cast<double>(static_cast<uint64_t>(1023 - sh) << 52); }

inline void Rmi::Bucket(uint64_t x, uint64_t* bucket, double* frac) const {
  if (router_kind_ == kRouterLinear) {
    *bucket = x >> shift_;
    // bucket_scale_ is a power of two, so frac is exactly (x mod width) /
    // width, rounded once.
    *frac = static_cast<double>(x & bucket_mask_) * bucket_scale_;
    return;
  }
  if ((x >> exp_lo_) == 0) {
    *bucket = 0;
    *frac = static_cast<double>(x) * bucket_scale_;
    return;
  }
  // Ordering by (exponent, next shift_ bits) is ordering by x, and inside a
  // bucket the remaining low bits interpolate linearly, so the map stays
  // monotone.
  const auto e = static_cast<uint32_t>(63 - std::countl_zero(x));
  uint64_t mantissa;
  double f = 0;
  if (e >= shift_) {
    const uint32_t sh = e - shift_;
    mantissa = (x >> sh) & bucket_mask_;
    f = static_cast<double>(x & ((uint64_t{1} << sh) - 1)) * Pow2Neg(sh);
  } else {
    mantissa = (x << (shift_ - e)) & bucket_mask_;  // one value per bucket
  }
  *bucket = 1 + ((static_cast<uint64_t>(e - exp_lo_) << shift_) | mantissa);
  *frac = f;
}

inline uint64_t Rmi::SetRouterShape(uint32_t kind, uint32_t shift, uint32_t exp_lo) {
  router_kind_ = kind;
  shift_ = shift;
  exp_lo_ = exp_lo;
  bucket_mask_ = shift == 0 ? 0 : (uint64_t{1} << shift) - 1;
  const uint64_t range = max_key_ - min_key_;
  if (kind == kRouterLinear) {
    bucket_scale_ = Pow2Neg(shift);
    return (range >> shift) + 1;
  }
  bucket_scale_ = Pow2Neg(exp_lo);
  const auto exp_hi = static_cast<uint32_t>(std::bit_width(range)) - 1;
  return 1 + (static_cast<uint64_t>(exp_hi - exp_lo + 1) << shift);
}

inline Rmi::Routed Rmi::Route(uint64_t key) const {
  uint64_t bucket;
  double frac;
  Bucket(key - min_key_, &bucket, &frac);
  const uint32_t r0 = router_[bucket];
  const uint32_t r1 = router_[bucket + 1];
  // Linear interpolation of the CDF inside the bucket.
  const double rank = static_cast<double>(r0) + static_cast<double>(r1 - r0) * frac;
  const double s = rank * leaf_scale_;
  size_t leaf = static_cast<size_t>(s);
  const size_t last = leaves_.size() - 2;  // leaves_ ends with a sentinel
  leaf = leaf < last ? leaf : last;
  double t = s - static_cast<double>(leaf);
  t = t < 1.0 ? t : 1.0;
  return {leaf, t, rank};
}

inline ApproxPos Rmi::Window(uint64_t key) const { return WindowOf(Route(key)); }

inline ApproxPos Rmi::WindowOf(const Routed& r) const {
  const Leaf& leaf = leaves_[r.leaf];
  const int64_t first = leaf.first;
  const int64_t end = leaves_[r.leaf + 1].first;  // usually the same cache line
  if (leaf.err_hi == kWholeLeaf) {
    // The leaf's keys defeated a linear model: search all of them.
    return {static_cast<size_t>(first), static_cast<size_t>(first), static_cast<size_t>(end)};
  }
  const int64_t n = static_cast<int64_t>(keys_.size());
  const int64_t pos = first + LeafPredictLocal(leaf, r.t, end - first);
  const int64_t lo = std::clamp<int64_t>(pos - leaf.err_lo, 0, n);
  const int64_t hi = std::clamp<int64_t>(pos + leaf.err_hi + 1, lo, n);
  return {static_cast<size_t>(std::clamp(pos, lo, hi)), static_cast<size_t>(lo),
          static_cast<size_t>(hi)};
}

}  // namespace kyrodb::index
