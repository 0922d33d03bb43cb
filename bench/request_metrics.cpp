// What a request pays to record its metrics: prometheus-cpp 1.0's Counter
// (a CAS loop on one double) and Histogram (a mutex) shared by every I/O
// thread, against the per-thread shards of metrics/sharded.h, with one and
// two threads. Run:
//   build/release/bench/request_metrics --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "metrics/metrics.h"
#include "metrics/sharded.h"

namespace {

struct Shared {
  prometheus::Registry registry;
  prometheus::Counter& counter = prometheus::BuildCounter().Name("c_total").Help("h").Register(registry).Add({});
  prometheus::Histogram& histogram = prometheus::BuildHistogram()
                                         .Name("h_seconds")
                                         .Help("h")
                                         .Register(registry)
                                         .Add({}, kyrodb::metrics::LatencyBuckets());
  kyrodb::metrics::ShardedCells cells{1};
  kyrodb::metrics::ShardedHistograms histograms{{&histogram}, kyrodb::metrics::LatencyBuckets()};
};
Shared g_shared;

void BM_PrometheusCpp(benchmark::State& state) {
  for (auto _ : state) {
    g_shared.counter.Increment();
    g_shared.histogram.Observe(0.0004);
  }
}
BENCHMARK(BM_PrometheusCpp)->Threads(1)->Threads(2)->UseRealTime();

void BM_Sharded(benchmark::State& state) {
  for (auto _ : state) {
    g_shared.cells.Add(0);
    g_shared.histograms.Observe(0, 0.0004);
  }
}
BENCHMARK(BM_Sharded)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
