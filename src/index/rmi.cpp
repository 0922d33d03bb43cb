// Lookups and the read-only views of a built RMI.
#include "index/rmi.h"

#include <algorithm>
#include <atomic>

#include "index/probe.h"
#include "index/rmi_model.h"

namespace kyrodb::index {

Rmi::~Rmi() = default;

ApproxPos Rmi::Predict(uint64_t key) const {
  const size_t n = keys_.size();
  if (key <= min_key_) return {0, 0, std::min<size_t>(n, key == min_key_ ? 1 : 0)};
  if (key > max_key_) return {n, n, n};
  return Window(key);
}

size_t Rmi::LowerBound(uint64_t key) const {
  // Also the whole story for an empty index, whose min is above its max.
  if (key <= min_key_) return 0;
  if (key > max_key_) return keys_.size();
  const Routed r = Route(key);
  // The router's estimate is usually within a few keys of the answer: start
  // the key array's cache miss now, in parallel with reading the leaf,
  // instead of after it. A wrong guess costs one wasted line fetch.
  __builtin_prefetch(keys_.data() + std::min(static_cast<size_t>(r.rank), keys_.size() - 1));
  const ApproxPos w = WindowOf(r);
  return LowerBoundInWindow(keys_.data(), keys_.size(), w.lo, w.hi, key);
}

size_t Rmi::RoughRank(uint64_t key) const {
  const size_t n = keys_.size();
  if (key <= min_key_ || n == 0) return 0;
  if (key > max_key_) return n - 1;
  return std::min(static_cast<size_t>(Route(key).rank), n - 1);
}

size_t Rmi::Find(uint64_t key) const {
  const size_t n = keys_.size();
  const size_t pos = LowerBound(key);
  return pos < n && keys_[pos] == key ? pos : n;
}

std::vector<uint32_t> Rmi::WindowSizes() const {
  std::vector<uint32_t> sizes;
  if (keys_.empty()) return sizes;
  sizes.reserve(leaves_.size() - 1);
  for (size_t j = 0; j + 1 < leaves_.size(); ++j) {
    const Leaf& leaf = leaves_[j];
    const uint32_t count = leaves_[j + 1].first - leaf.first;
    sizes.push_back(leaf.err_hi == kWholeLeaf ? std::max(count, 1u)
                                              : uint32_t{leaf.err_lo} + leaf.err_hi + 1);
  }
  return sizes;
}

void Rmi::FinishStats() {
  const size_t n = keys_.size();
  stats_.count = n;
  stats_.leaves = leaves_.size() - 1;
  stats_.router_bits = router_bits_;
  stats_.log_router = router_kind_ == kRouterLog;
  stats_.bytes = router_.size() * sizeof(uint32_t) + leaves_.size() * sizeof(Leaf);
  uint64_t max_error = 0;
  double window_keys = 0;  // sum over keys of the window their leaf searches
  for (size_t j = 0; j + 1 < leaves_.size(); ++j) {
    const Leaf& leaf = leaves_[j];
    const uint64_t count = leaves_[j + 1].first - leaf.first;
    const bool whole = leaf.err_hi == kWholeLeaf;
    max_error = std::max<uint64_t>(max_error, whole ? count : std::max(leaf.err_lo, leaf.err_hi));
    const uint64_t window = whole ? count : uint64_t{leaf.err_lo} + leaf.err_hi + 1;
    window_keys += static_cast<double>(window) * static_cast<double>(count);
  }
  stats_.max_error = max_error;
  stats_.mean_window = n == 0 ? 0 : window_keys / static_cast<double>(n);
}

void Rmi::Warm() const {
  // One read per cache line of the model, one per page of the keys (enough to
  // fault an mmapped snapshot in and fill the TLB's second level).
  uint64_t sink = 0;
  for (size_t i = 0; i < router_.size(); i += 64 / sizeof(uint32_t)) sink += router_[i];
  for (size_t i = 0; i < leaves_.size(); i += 64 / sizeof(Leaf)) sink += leaves_[i].first;
  for (size_t i = 0; i < keys_.size(); i += 4096 / sizeof(uint64_t)) sink += keys_[i];
  if (!keys_.empty()) sink += keys_.back();
  // Publishing the sum keeps the compiler from dropping the reads.
  static std::atomic<uint64_t> warm_sink{0};
  warm_sink.fetch_add(sink, std::memory_order_relaxed);
}

}  // namespace kyrodb::index
