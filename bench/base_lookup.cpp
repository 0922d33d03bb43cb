// What the engine's part of a GET costs: a key through the learned index to
// its position in the mapped snapshot, then the value's bytes and the write's
// offset, as StoreImpl::Get reads them. Dense keys 0..n-1 with 64-byte
// values, as `kyrodb-bench --load-n` stores them, in a real snapshot file
// opened the way the server opens it (mapped, 2 MiB pages where THP allows).
//
// Each lookup's key depends on the previous answer, so lookups do not
// overlap: the figure is the latency of one, as a server pays it between
// two requests' socket work. Run:
//   build/perf/bench/base_lookup --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/base_table.h"
#include "engine/snapshot.h"
#include "index/rmi.h"
#include "kyrodb/fs.h"

namespace {

using kyrodb::BaseTable;
using kyrodb::Snapshot;

constexpr size_t kValueBytes = 64;
constexpr size_t kQueries = size_t{1} << 20;  // a power of two: the loop masks

struct Table {
  std::string dir;
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<BaseTable> base;
  std::vector<uint64_t> queries;

  ~Table() {
    base.reset();
    snapshot.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

void Check(const kyrodb::Status& s) {
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

// One table per size, built on first use and kept for the process.
Table& TableOf(size_t n) {
  static std::vector<std::unique_ptr<Table>> tables;
  for (auto& t : tables) {
    if (t->snapshot->count() == n) return *t;
  }
  auto t = std::make_unique<Table>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "kyrodb-base-lookup-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  t->dir = tmpl;
  kyrodb::FileSystem* fs = kyrodb::PosixFileSystem();
  kyrodb::SnapshotWriter writer(fs, t->dir);
  Check(writer.Begin());
  std::string value(kValueBytes, 'v');
  for (uint64_t k = 0; k < n; ++k) {
    value[0] = static_cast<char>(k);
    Check(writer.Add(k, k + 1, value));
  }
  uint64_t bytes = 0;
  Check(writer.Finish(n, &bytes));
  Check(Snapshot::Open(fs, kyrodb::SnapshotWriter::FinalPath(t->dir), &t->snapshot));
  std::shared_ptr<const kyrodb::index::Rmi> rmi = kyrodb::index::Rmi::Build(t->snapshot->keys());
  t->base = std::make_unique<BaseTable>(t->snapshot, rmi, 1);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> key(0, n - 1);
  t->queries.resize(kQueries + 1);
  for (auto& q : t->queries) q = key(rng);
  tables.push_back(std::move(t));
  return *tables.back();
}

// The lookup loops: each key waits for the last lookup's answer ((prev & 1)
// picks the next query), so lookups do not overlap.
template <class Lookup>
void Loop(benchmark::State& state, const Table& t, Lookup lookup) {
  uint64_t prev = 0;
  size_t i = 0;
  for (auto _ : state) prev = lookup(t.queries[(i++ & (kQueries - 1)) + (prev & 1)]);
  benchmark::DoNotOptimize(prev);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The index alone: key -> position.
void BM_Find(benchmark::State& state) {
  const Table& t = TableOf(static_cast<size_t>(state.range(0)));
  Loop(state, t, [&](uint64_t k) { return static_cast<uint64_t>(t.base->Find(k)); });
}
BENCHMARK(BM_Find)->Arg(1'000'000)->Arg(10'000'000);

// What StoreImpl::Get reads from the base: position, value bytes, offset.
// kFindEntry: through FindEntry, which starts the position and offset misses
// at the router's guess (what Get does); else through Find, which leaves them
// until value_at/offset_at (what Get did before).
template <bool kFindEntry>
void GetEntry(benchmark::State& state) {
  const Table& t = TableOf(static_cast<size_t>(state.range(0)));
  const Snapshot& snap = *t.snapshot;
  Loop(state, t, [&](uint64_t k) {
    const size_t pos = kFindEntry ? t.base->FindEntry(k) : t.base->Find(k);
    const std::string_view v = snap.value_at(pos);
    return static_cast<unsigned char>(v[0]) + v.size() + snap.offset_at(pos);
  });
}
void BM_GetEntry(benchmark::State& state) { GetEntry<true>(state); }
void BM_GetEntryNoTouch(benchmark::State& state) { GetEntry<false>(state); }
BENCHMARK(BM_GetEntry)->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(BM_GetEntryNoTouch)->Arg(1'000'000)->Arg(10'000'000);

// Why TouchEntry loads instead of prefetching. The exact position is known
// before the search (dense keys: position == key); its value position is
// either prefetched or loaded, then the index searches the keys and
// value_at(pos) reads the position. Where prefetches into the mapping work,
// the two come out alike.
template <bool kLoad>
void Positions(benchmark::State& state) {
  const Table& t = TableOf(static_cast<size_t>(state.range(0)));
  const Snapshot& snap = *t.snapshot;
  Loop(state, t, [&](uint64_t k) {
    if constexpr (kLoad) {
      snap.TouchEntry(k);
    } else {
      snap.PrefetchEntry(k);
    }
    return static_cast<uint64_t>(snap.value_at(t.base->Find(k)).size());
  });
}
void BM_PositionsPrefetched(benchmark::State& state) { Positions<false>(state); }
void BM_PositionsTouched(benchmark::State& state) { Positions<true>(state); }
BENCHMARK(BM_PositionsPrefetched)->Arg(1'000'000);
BENCHMARK(BM_PositionsTouched)->Arg(1'000'000);

}  // namespace

BENCHMARK_MAIN();
