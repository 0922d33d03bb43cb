// Counters that every request adds to, sharded by thread.
//
// prometheus-cpp 1.0's Histogram::Observe takes the histogram's mutex and
// Counter::Increment is a compare-and-swap loop on one double: on the
// request path every I/O thread would take the same lock and write the same
// cache lines for each request it answers. Here a request adds to its own
// thread's shard (a relaxed add on a line no other thread writes, while I/O
// threads are at most kShards), and a scrape moves the shards' sums into the
// prometheus-cpp children first: metrics::Collect runs the scrape hooks of a
// registry, then collects it.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace kyrodb::metrics {

// Shards per ShardedCells. Threads take shard numbers in the order they
// first record something, wrapping around: with up to 16 I/O threads each
// writes only its own.
inline constexpr size_t kShards = 16;
size_t ThisThreadShard();

// `n` uint64 cells per shard. Add is wait-free; Drain may run on any thread
// at the same time and loses nothing (each add lands in exactly one Drain).
class ShardedCells {
 public:
  explicit ShardedCells(size_t n);

  void Add(size_t cell, uint64_t v = 1) {
    cells_[ThisThreadShard() * stride_ + cell].fetch_add(v, std::memory_order_relaxed);
  }
  // The sum of `cell` over every shard since the last Drain; zeroes them.
  uint64_t Drain(size_t cell);
  size_t size() const { return n_; }

 private:
  size_t n_;
  size_t stride_;  // n_ rounded up to a cache line, plus one line between shards
  std::unique_ptr<std::atomic<uint64_t>[]> cells_;
};

// One prometheus-cpp counter child, fed through shards.
class ShardedCounter {
 public:
  explicit ShardedCounter(prometheus::Counter& target) : target_(target), cells_(1) {}
  void Increment() { cells_.Add(0); }
  // Moves what the shards counted into the child (a scrape hook).
  void Flush();

 private:
  prometheus::Counter& target_;
  ShardedCells cells_;
};

// Histograms with the same bucket boundaries, one per index (a route, say),
// fed through shards; the sum is kept in whole nanoseconds of the observed
// value (seconds), exact enough for latencies.
class ShardedHistograms {
 public:
  ShardedHistograms(std::vector<prometheus::Histogram*> targets, prometheus::Histogram::BucketBoundaries buckets);
  void Observe(size_t index, double seconds);
  // Moves what the shards recorded into the children (a scrape hook).
  void Flush();

 private:
  size_t Cells() const { return buckets_.size() + 2; }  // buckets, +Inf, sum

  std::vector<prometheus::Histogram*> targets_;
  prometheus::Histogram::BucketBoundaries buckets_;
  ShardedCells cells_;
};

// Scrape hooks: run by Collect(registry) before it collects, so counts held
// in shards reach the registry's children. `owner` identifies the hooks to
// remove; remove them before whatever they flush dies.
void AddScrapeHook(const prometheus::Registry& registry, const void* owner, std::function<void()> hook);
void RemoveScrapeHooks(const void* owner);
std::vector<prometheus::MetricFamily> Collect(const prometheus::Registry& registry);

}  // namespace kyrodb::metrics
