// Building the RMI: two sequential passes over the keys.
//
// Why the root is a radix table and not a trained model (measured on this
// machine kind, 10M keys; docs/INDEX.md has the full tables):
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
//    n / leaves keys wherever the buckets resolve the distribution, i.e. the
//    leaf count adapts to the data by construction. Where they do not (a dense
//    cluster inside one bucket), the leaf's own model over the router's
//    in-bucket interpolation still separates the keys; only if even that fails
//    does a leaf fall back to searching its whole (bounded) range.
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
  leaf->intercept = 0;
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
  slope = std::min(slope, kMaxLeafParam / 2);
  double intercept = mean_y - slope * mean_t;
  intercept = std::clamp(intercept, -kMaxLeafParam / 2, kMaxLeafParam / 2);
  leaf->slope = static_cast<float>(slope);
  leaf->intercept = static_cast<float>(intercept);

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

  // Pass 1: the router, fused with the sortedness check. Keys are sorted, so
  // buckets only move forward: router_[b] is the first rank in bucket >= b.
  const uint64_t min_key = keys.front();
  const uint64_t max_key = keys.back();
  const uint64_t range = max_key - min_key;
  const auto range_bits = static_cast<uint32_t>(std::bit_width(range));
  const auto count_bits = static_cast<uint32_t>(std::bit_width(n)) + 2;
  const uint32_t bits = std::min({opts.router_bits, kMaxRouterBits, range_bits, count_bits});
  // Zero router bits means one bucket (a linear root); a full 64-bit range
  // then needs two, as a u64 cannot be shifted by 64.
  const uint32_t shift = std::min(range_bits - bits, 63u);
  const uint64_t buckets = (range >> shift) + 1;

  rmi->min_key_ = min_key;
  rmi->max_key_ = max_key;
  rmi->shift_ = shift;
  rmi->router_bits_ = bits;
  rmi->bucket_mask_ = shift == 0 ? 0 : (uint64_t{1} << shift) - 1;
  rmi->bucket_scale_ = std::ldexp(1.0, -static_cast<int>(shift));
  rmi->router_.resize(buckets + 1);

  uint32_t* router = rmi->router_.data();
  uint64_t next_bucket = 0;
  uint64_t unsorted = 0;
  uint64_t prev = min_key;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = keys[i];
    unsorted |= static_cast<uint64_t>(i != 0 && k <= prev);
    prev = k;
    // The clamp only matters for unsorted input, rejected below, but it keeps
    // that rejection from writing past the table first.
    const uint64_t bucket = std::min((k - min_key) >> shift, buckets - 1);
    while (next_bucket <= bucket) router[next_bucket++] = static_cast<uint32_t>(i);
  }
  if (unsorted != 0) return nullptr;
  while (next_bucket <= buckets) router[next_bucket++] = static_cast<uint32_t>(n);

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
