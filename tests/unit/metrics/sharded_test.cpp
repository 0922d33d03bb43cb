// Sharded request metrics: what threads add reaches the registry on the next
// metrics::Collect, exactly once, with the same buckets prometheus-cpp's own
// Histogram would pick. The racing test runs under TSan in CI.
#include "metrics/sharded.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <thread>
#include <vector>

#include "metrics/metrics.h"

namespace kyrodb::metrics {
namespace {

double CounterValue(const prometheus::Registry& registry, const std::string& name) {
  for (const auto& f : Collect(registry)) {
    if (f.name == name) return f.metric.at(0).counter.value;
  }
  ADD_FAILURE() << name << " not collected";
  return -1;
}

TEST(ShardedCounter, CountsFromEveryThreadReachTheChildOnceAtCollect) {
  prometheus::Registry registry;
  auto& child = prometheus::BuildCounter().Name("c_total").Help("h").Register(registry).Add({});
  ShardedCounter counter(child);
  int owner = 0;
  AddScrapeHook(registry, &owner, [&] { counter.Flush(); });

  std::vector<std::thread> threads;
  for (int t = 0; t < 20; ++t) {  // more threads than shards: some share one
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) counter.Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(child.Value(), 0) << "nothing reaches the child before a scrape";
  EXPECT_EQ(CounterValue(registry, "c_total"), 20000);
  EXPECT_EQ(CounterValue(registry, "c_total"), 20000) << "a second scrape must not count again";
  counter.Increment();
  EXPECT_EQ(CounterValue(registry, "c_total"), 20001);

  RemoveScrapeHooks(&owner);
  counter.Increment();
  EXPECT_EQ(CounterValue(registry, "c_total"), 20001) << "a removed hook no longer runs";
}

TEST(ShardedHistograms, MatchPrometheusCppsOwnHistogram) {
  const auto buckets = LatencyBuckets();
  prometheus::Registry registry;
  auto& family = prometheus::BuildHistogram().Name("h_seconds").Help("h").Register(registry);
  prometheus::Histogram& sharded_child = family.Add({{"kind", "sharded"}}, buckets);
  prometheus::Histogram& other_child = family.Add({{"kind", "other_index"}}, buckets);
  prometheus::Histogram reference(buckets);
  ShardedHistograms sharded({&sharded_child, &other_child}, buckets);
  int owner = 0;
  AddScrapeHook(registry, &owner, [&] { sharded.Flush(); });

  // On, between and past the bounds, and zero.
  std::vector<double> values = {0, 0.00001, 0.000011, 0.0005, 0.001, 0.0012, 0.3, 10, 11, 1e6};
  for (double b : buckets) values.push_back(b);
  for (double v : values) {
    sharded.Observe(0, v);
    reference.Observe(v);
  }
  sharded.Observe(1, 0.002);
  Collect(registry);
  const auto got = sharded_child.Collect().histogram;
  const auto want = reference.Collect().histogram;
  EXPECT_EQ(got.sample_count, want.sample_count);
  EXPECT_NEAR(got.sample_sum, want.sample_sum, 1e-6);
  ASSERT_EQ(got.bucket.size(), want.bucket.size());
  for (size_t i = 0; i < got.bucket.size(); ++i) {
    EXPECT_EQ(got.bucket[i].cumulative_count, want.bucket[i].cumulative_count) << "bucket " << i;
  }
  EXPECT_EQ(other_child.Collect().histogram.sample_count, 1u) << "each index feeds its own child";
  RemoveScrapeHooks(&owner);
}

// Scrapes race the writers; every observation is counted once in the end.
TEST(ShardedHistograms, ScrapesRacingObserversLoseNothing) {
  prometheus::Registry registry;
  auto& child = prometheus::BuildHistogram().Name("r_seconds").Help("h").Register(registry).Add({}, LatencyBuckets());
  ShardedHistograms sharded({&child}, LatencyBuckets());
  int owner = 0;
  AddScrapeHook(registry, &owner, [&] { sharded.Flush(); });
  std::atomic<bool> stop{false};
  std::thread scraper([&] {
    while (!stop.load()) Collect(registry);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) sharded.Observe(0, 0.0001 * (i % 7));
    });
  }
  for (auto& w : writers) w.join();
  stop.store(true);
  scraper.join();
  Collect(registry);
  EXPECT_EQ(child.Collect().histogram.sample_count, 60000u);
  RemoveScrapeHooks(&owner);
}

}  // namespace
}  // namespace kyrodb::metrics
