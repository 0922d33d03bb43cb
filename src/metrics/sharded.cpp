#include "metrics/sharded.h"

#include <algorithm>
#include <cmath>
#include <mutex>

namespace kyrodb::metrics {

size_t ThisThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

ShardedCells::ShardedCells(size_t n)
    : n_(n), stride_((n + 7) / 8 * 8 + 8), cells_(std::make_unique<std::atomic<uint64_t>[]>(stride_ * kShards)) {}

uint64_t ShardedCells::Drain(size_t cell) {
  uint64_t sum = 0;
  for (size_t s = 0; s < kShards; ++s) {
    std::atomic<uint64_t>& c = cells_[s * stride_ + cell];
    if (c.load(std::memory_order_relaxed) != 0) sum += c.exchange(0, std::memory_order_relaxed);
  }
  return sum;
}

void ShardedCounter::Flush() {
  if (uint64_t n = cells_.Drain(0)) target_.Increment(static_cast<double>(n));
}

ShardedHistograms::ShardedHistograms(std::vector<prometheus::Histogram*> targets,
                                     prometheus::Histogram::BucketBoundaries buckets)
    : targets_(std::move(targets)), buckets_(std::move(buckets)), cells_(targets_.size() * Cells()) {}

void ShardedHistograms::Observe(size_t index, double seconds) {
  // The first bucket whose upper bound is >= the value, as prometheus-cpp's
  // Observe picks it; past the last bound: +Inf.
  const size_t bucket = static_cast<size_t>(
      std::find_if(buckets_.begin(), buckets_.end(), [seconds](double bound) { return seconds <= bound; }) -
      buckets_.begin());
  const size_t base = index * Cells();
  cells_.Add(base + bucket);
  const double ns = seconds * 1e9;
  cells_.Add(base + buckets_.size() + 1, ns > 0 ? static_cast<uint64_t>(std::llround(ns)) : 0);
}

void ShardedHistograms::Flush() {
  std::vector<double> increments(buckets_.size() + 1);
  for (size_t i = 0; i < targets_.size(); ++i) {
    const size_t base = i * Cells();
    bool any = false;
    for (size_t b = 0; b <= buckets_.size(); ++b) {
      increments[b] = static_cast<double>(cells_.Drain(base + b));
      any = any || increments[b] != 0;
    }
    const double sum = static_cast<double>(cells_.Drain(base + buckets_.size() + 1)) / 1e9;
    if (any) targets_[i]->ObserveMultiple(increments, sum);
  }
}

namespace {

struct Hook {
  const prometheus::Registry* registry;
  const void* owner;
  std::function<void()> run;
};

std::mutex& HooksMutex() {
  static std::mutex mu;
  return mu;
}
std::vector<Hook>& Hooks() {
  static std::vector<Hook> hooks;
  return hooks;
}

}  // namespace

void AddScrapeHook(const prometheus::Registry& registry, const void* owner, std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(HooksMutex());
  Hooks().push_back({&registry, owner, std::move(hook)});
}

void RemoveScrapeHooks(const void* owner) {
  std::lock_guard<std::mutex> lock(HooksMutex());
  std::erase_if(Hooks(), [owner](const Hook& h) { return h.owner == owner; });
}

std::vector<prometheus::MetricFamily> Collect(const prometheus::Registry& registry) {
  {
    // Held while the hooks run, so an owner removing its hooks waits for a
    // flush in progress instead of dying under it.
    std::lock_guard<std::mutex> lock(HooksMutex());
    for (const Hook& h : Hooks()) {
      if (h.registry == &registry) h.run();
    }
  }
  return registry.Collect();
}

}  // namespace kyrodb::metrics
