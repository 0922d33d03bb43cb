// LatencyHistogram: an HDR-style log-linear histogram of nanosecond values.
//
// Values below 128 ns have a bucket each; above, every power of two is split
// into 64 linear sub-buckets, so a bucket's width is at most 1/64 (1.6 %) of
// its value. 2 304 buckets cover 0 ns .. 2^40 ns (18 minutes); larger values
// land in the last bucket. Recording is one count increment (no allocation,
// no lock): each connection owns one histogram and they are merged after the
// phase. min, max and the sum are exact.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace kyrodb::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;                  // 64 sub-buckets per power of two
  static constexpr uint64_t kSub = 1ull << kSubBits;  // 64
  static constexpr int kMaxExp = 40 - kSubBits;       // 2^40 ns
  static constexpr size_t kBuckets = (kMaxExp + 2) * kSub;

  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++total_;
    sum_ += ns;
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return total_ ? max_ : 0; }
  uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The smallest recorded value v such that at least q of all values are <= v,
  // reported as the upper edge of its bucket (capped at the exact max).
  uint64_t Percentile(double q) const {
    if (total_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.999999);
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }

  // (upper edge in ns, cumulative fraction) for every non-empty bucket: the
  // latency CDF, at most kBuckets points.
  std::vector<std::pair<uint64_t, double>> Cdf() const {
    std::vector<std::pair<uint64_t, double>> out;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets && seen < total_; ++i) {
      if (counts_[i] == 0) continue;
      seen += counts_[i];
      out.emplace_back(std::min(UpperEdge(i), max_), static_cast<double>(seen) / static_cast<double>(total_));
    }
    return out;
  }

  static size_t Index(uint64_t v) {
    if (v < 2 * kSub) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int e = msb - kSubBits;  // v >> e lies in [64, 128)
    if (e > kMaxExp) return kBuckets - 1;
    return static_cast<size_t>(e) * kSub + static_cast<size_t>(v >> e);
  }

  static uint64_t UpperEdge(size_t index) {
    if (index < 2 * kSub) return index;
    uint64_t e = index / kSub - 1;
    uint64_t s = index - e * kSub;
    return ((s + 1) << e) - 1;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace kyrodb::bench
