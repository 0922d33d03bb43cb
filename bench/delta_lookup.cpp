// What a GET pays in the delta (the MemTable of writes since the last
// checkpoint) before it reaches the base: every GET asks the delta first, so
// a key that is not in it (most keys, between checkpoints) still costs a
// search of it. Deltas of random keys from 1 entry up to the default
// checkpoint threshold (KYRODB_REBUILD_DELTA_ENTRIES = 1048576), 64-byte
// values; each lookup's key waits for the previous answer. Run:
//   build/perf/bench/delta_lookup --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/key_index.h"
#include "engine/memtable.h"

namespace {

using kyrodb::MemTable;

constexpr size_t kQueries = size_t{1} << 20;  // a power of two: the loop masks

struct Delta {
  std::unique_ptr<MemTable> table = std::make_unique<MemTable>();
  std::vector<uint64_t> present;  // queries for keys in the delta
  std::vector<uint64_t> absent;   // queries for keys not in it
};

const Delta& DeltaOf(size_t n) {
  static std::vector<std::pair<size_t, std::unique_ptr<Delta>>> deltas;
  for (auto& [size, d] : deltas) {
    if (size == n) return *d;
  }
  auto d = std::make_unique<Delta>();
  std::mt19937_64 rng(n);
  std::vector<uint64_t> keys(n);
  for (auto& k : keys) k = rng() | 1;  // odd keys in the delta, even ones not
  const std::string value(64, 'v');
  std::vector<MemTable::Write> batch;
  for (size_t i = 0; i < n; ++i) {
    batch.push_back({keys[i], i + 1, false, value});
    if (batch.size() == 256 || i + 1 == n) {
      d->table->ApplyBatch(batch);
      batch.clear();
    }
  }
  d->present.resize(kQueries + 1);
  d->absent.resize(kQueries + 1);
  for (size_t i = 0; i <= kQueries; ++i) {
    d->present[i] = keys[rng() % n];
    d->absent[i] = rng() & ~uint64_t{1};
  }
  deltas.emplace_back(n, std::move(d));
  return *deltas.back().second;
}

void Lookups(benchmark::State& state, bool present) {
  const Delta& d = DeltaOf(static_cast<size_t>(state.range(0)));
  const std::vector<uint64_t>& queries = present ? d.present : d.absent;
  uint64_t prev = 0;
  size_t i = 0;
  for (auto _ : state) {
    // (prev & 1) makes this lookup's key wait for the last answer.
    const MemTable::Version* v = d.table->Get(queries[(i++ & (kQueries - 1)) + (prev & 1)], ~uint64_t{0});
    prev = v != nullptr ? v->offset : 0;
  }
  benchmark::DoNotOptimize(prev);
}

void BM_DeltaMiss(benchmark::State& state) { Lookups(state, false); }
void BM_DeltaHit(benchmark::State& state) { Lookups(state, true); }
BENCHMARK(BM_DeltaMiss)->Arg(1)->Arg(1 << 10)->Arg(1 << 17)->Arg(1 << 20);
BENCHMARK(BM_DeltaHit)->Arg(1)->Arg(1 << 10)->Arg(1 << 17)->Arg(1 << 20);

// What the delta's key index costs its writer: state.range(0) inserts into a
// new index (items scattered over memory, as skip-list nodes are), and the
// slowest single insert, which is where a growth would stall the writer if
// the copy to the larger table were not spread over later inserts.
void BM_KeyIndexInsert(benchmark::State& state) {
  struct Item {
    uint64_t key;
    char pad[120];  // about a node and its value, so items do not share lines
  };
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<Item> items(n);
  std::vector<size_t> order(n);
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (auto& it : items) it.key = rng();
  double slowest_ns = 0;
  for (auto _ : state) {
    auto index = std::make_unique<kyrodb::KeyIndex<Item>>();
    for (size_t i = 0; i < n; ++i) {
      const auto start = std::chrono::steady_clock::now();
      index->Insert(&items[order[i]]);
      const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
      slowest_ns = std::max(slowest_ns, ns);
    }
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["slowest_insert_us"] = slowest_ns / 1000;
}
BENCHMARK(BM_KeyIndexInsert)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
