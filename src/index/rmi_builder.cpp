// Building the RMI: two or three sequential passes over the keys (router,
// maybe the log router, leaves), O(n + leaves + 2^router_bits).
//
// Why the root is a radix table and not a trained model (measured on this
// machine kind, 10M keys; docs/INDEX.md has the tables):
//  - A linear root over the key range is perfect on uniform keys but on
//    lognormal keys it sends most keys to a few leaves: max error 26 657 with
//    16 keys/leaf, and lookups slower than plain binary search.
//  - A piecewise-linear CDF root with 4096 quantile knots fixes the errors
//    (max 29) but finding the knot is a binary search: ~100 ns of dependent
//    in-cache compares, most of the budget.
//  - A radix table over the top bits of (key - min) storing the rank of each
//    bucket's first key is a piecewise-linear CDF with equal-width knots: it
//    follows the distribution at bucket granularity and costs two adjacent
//    u32 loads, no search. Leaves are then chosen by the router's CDF
//    estimate (leaf = estimate * leaves / n), so every leaf receives about
//    n / leaves keys wherever the buckets resolve the distribution: the leaf
//    count adapts to the data by construction.
//  - Equal-width buckets cannot resolve a heavy tail (lognormal: 52% of 10M
//    keys in bucket 0 of 65 536). Buckets per power of two (the log router)
//    can, but spread uniform keys worse. So the build measures the linear
//    router's crowding and, when it is bad, builds the log one too and keeps
//    the better (docs/INDEX.md: the estimate lands in the key's cache line
//    for 0.8% of lognormal keys with linear buckets, 30% with log buckets).
// Where no bucket layout resolves the keys (a dense cluster far narrower than
// a bucket, or two such clusters in one bucket), the leaf's own model over the
// router's in-bucket interpolation still separates them as far as doubles
// allow; failing that a leaf searches its whole, bounded range.
// The router width is capped by the key range's width (dense keys need no
// more buckets than values) and by ~4x the key count (tiny sets stay tiny).
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "index/rmi.h"
#include "index/rmi_model.h"

namespace kyrodb::index {
namespace {


// Fits leaf `leaf` over the router estimates `ts` of its `count` keys (local
// ranks 0..count-1): least squares for the line, then the exact error bounds
// of the stored (float) parameters under the lookup's own arithmetic.
void FitLeaf(const std::vector<double>& ts, Rmi::Leaf* leaf, double* sum_abs_error) {
  const size_t count = ts.size();
  leaf->centre = 0;
  leaf->slope = 0;
  leaf->err_lo = 0;
  leaf->err_hi = 0;
  if (count == 0) return;

  // Two-pass moments: t values inside a dense cluster can differ only in
  // their last bits, where E[t^2] - E[t]^2 would cancel to noise.
  const double m = static_cast<double>(count);
  double mean_t = 0;
  for (double t : ts) mean_t += t;
  mean_t /= m;
  const double mean_y = (m - 1) / 2;
  double var = 0;
  double cov = 0;
  for (size_t i = 0; i < count; ++i) {
    const double dt = ts[i] - mean_t;
    var += dt * dt;
    cov += dt * (static_cast<double>(i) - mean_y);
  }
  double slope = var > 0 ? cov / var : 0.0;
  if (!(slope >= 0)) slope = 0;  // sorted keys give cov >= 0; also drops NaN
  slope = std::min(slope, kMaxLeafSlope);
  leaf->slope = static_cast<float>(slope);
  leaf->centre = static_cast<uint32_t>(std::min(std::round(mean_t * 0x1p32), 4294967295.0));

  int64_t err_lo = 0;
  int64_t err_hi = 0;
  double sum_abs = 0;
  const auto n = static_cast<int64_t>(count);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = LeafPredictLocal(*leaf, ts[static_cast<size_t>(i)], n) - i;
    err_lo = std::max(err_lo, d);
    err_hi = std::max(err_hi, -d);
    sum_abs += static_cast<double>(d < 0 ? -d : d);
  }

  if (err_lo >= Rmi::kWholeLeaf || err_hi >= Rmi::kWholeLeaf || err_lo + err_hi + 1 > n) {
    // Searching the whole leaf is no wider than the model's window.
    leaf->err_lo = 0;
    leaf->err_hi = Rmi::kWholeLeaf;
  } else {
    leaf->err_lo = static_cast<uint16_t>(err_lo);
    leaf->err_hi = static_cast<uint16_t>(err_hi);
  }
  *sum_abs_error += sum_abs;
}

}  // namespace

bool Rmi::FillRouter(uint64_t buckets, double* crowding) {
  // Keys are sorted, so buckets only move forward: router_[b] is the rank of
  // the first key in a bucket >= b.
  router_.assign(buckets + 1, 0);
  uint32_t* router = router_.data();
  const size_t n = keys_.size();
  uint64_t next_bucket = 0;
  uint64_t unsorted = 0;
  uint64_t prev = min_key_;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = keys_[i];
    unsorted |= static_cast<uint64_t>(i != 0 && k <= prev);
    prev = k;
    uint64_t bucket;
    double frac;
    Bucket(k - min_key_, &bucket, &frac);
    // The clamp only matters for unsorted input, rejected below, but it keeps
    // that rejection from writing past the table first.
    bucket = std::min(bucket, buckets - 1);
    while (next_bucket <= bucket) router[next_bucket++] = static_cast<uint32_t>(i);
  }
  while (next_bucket <= buckets) router[next_bucket++] = static_cast<uint32_t>(n);
  double sum_sq = 0;
  for (uint64_t b = 0; b < buckets; ++b) {
    const auto c = static_cast<double>(router[b + 1] - router[b]);
    sum_sq += c * c;
  }
  *crowding = n == 0 ? 0 : sum_sq / static_cast<double>(n);
  return unsorted == 0;
}

std::unique_ptr<Rmi> Rmi::Build(std::span<const uint64_t> keys, const RmiOptions& opts) {
  const auto started = std::chrono::steady_clock::now();
  const size_t n = keys.size();
  if (n > kMaxKeys) return nullptr;

  std::unique_ptr<Rmi> rmi(new Rmi());
  rmi->keys_ = keys;
  if (n == 0) {
    // min > max: every lookup takes the out-of-range fast path.
    rmi->router_.assign(2, 0);
    rmi->leaves_.assign(2, Leaf{0, 0, 0, 0, 0});
    rmi->FinishStats();
    return rmi;
  }

  // Pass 1: the linear router, fused with the sortedness check.
  const uint64_t min_key = keys.front();
  const uint64_t max_key = keys.back();
  const uint64_t range = max_key - min_key;
  const auto range_bits = static_cast<uint32_t>(std::bit_width(range));
  const auto count_bits = static_cast<uint32_t>(std::bit_width(n)) + 2;
  const uint32_t wanted_bits = std::min({opts.router_bits, kMaxRouterBits, count_bits});
  const uint32_t bits = std::min(wanted_bits, range_bits);
  rmi->min_key_ = min_key;
  rmi->max_key_ = max_key;
  rmi->router_bits_ = bits;
  // Zero router bits means one bucket (a linear root); a full 64-bit range
  // then needs two, as a u64 cannot be shifted by 64.
  const uint32_t shift = std::min(range_bits - bits, 63u);
  double linear_crowding = 0;
  if (!rmi->FillRouter(rmi->SetRouterShape(kRouterLinear, shift, 0), &linear_crowding)) return nullptr;

  // Pass 1b, only when the linear router crowds keys into few buckets (4x
  // the even spread): try the log router and keep whichever spreads better.
  const double even = std::max(1.0, static_cast<double>(n) / static_cast<double>(rmi->router_.size() - 1));
  if (n >= 64 && wanted_bits >= 4 && linear_crowding > 4 * even) {
    const uint32_t exp_lo = static_cast<uint32_t>(std::bit_width(keys[1] - min_key)) - 1;
    const uint32_t slots = range_bits - exp_lo;  // powers of two from exp_lo up
    const uint32_t slot_bits = static_cast<uint32_t>(std::bit_width(slots - 1));
    const uint32_t mantissa_bits = wanted_bits > slot_bits ? wanted_bits - slot_bits : 0;
    std::vector<uint32_t> linear_router = std::move(rmi->router_);
    double log_crowding = 0;
    rmi->FillRouter(rmi->SetRouterShape(kRouterLog, mantissa_bits, exp_lo), &log_crowding);
    if (log_crowding < linear_crowding) {
      rmi->router_bits_ = static_cast<uint32_t>(std::bit_width(rmi->router_.size() - 2));
    } else {
      rmi->router_ = std::move(linear_router);
      rmi->SetRouterShape(kRouterLinear, shift, 0);
    }
  }

  // Pass 2: route every key, fit each leaf once its keys are all seen.
  uint64_t leaf_count = opts.leaves != 0 ? opts.leaves
                                         : (n + std::max(opts.keys_per_leaf, 1u) - 1) / std::max(opts.keys_per_leaf, 1u);
  leaf_count = std::clamp<uint64_t>(leaf_count, 1, kMaxLeaves);
  rmi->leaf_scale_ = static_cast<double>(leaf_count) / static_cast<double>(n);
  rmi->leaves_.assign(leaf_count + 1, Leaf{0, 0, 0, 0, 0});

  double sum_abs_error = 0;
  std::vector<double> ts;
  ts.reserve(4 * std::max<size_t>(opts.keys_per_leaf, 16));
  Leaf* leaves = rmi->leaves_.data();
  size_t current = 0;
  leaves[0].first = 0;
  for (size_t i = 0; i < n; ++i) {
    const Routed r = rmi->Route(keys[i]);
    if (r.leaf != current) {
      FitLeaf(ts, &leaves[current], &sum_abs_error);
      ts.clear();
      // Leaves the router skipped are empty and start where the next begins.
      for (size_t j = current + 1; j <= r.leaf; ++j) leaves[j].first = static_cast<uint32_t>(i);
      current = r.leaf;
    }
    ts.push_back(r.t);
  }
  FitLeaf(ts, &leaves[current], &sum_abs_error);
  for (size_t j = current + 1; j <= leaf_count; ++j) leaves[j].first = static_cast<uint32_t>(n);

  rmi->FinishStats();
  rmi->stats_.mean_error = sum_abs_error / static_cast<double>(n);
  rmi->stats_.build_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return rmi;
}

}  // namespace kyrodb::index
