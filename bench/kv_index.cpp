// kv_index: the learned index against the classic ordered and hashed indexes
// over the same sorted u64 keys (issue 3, docs/INDEX.md).
//
// Per distribution:
//   DependentRead   keys[random index], the next index depending on the value
//                   read: one DRAM miss per lookup, the physical floor.
//   Rmi             kyrodb::index::Rmi::Find over the key array.
//   LowerBound      std::lower_bound over the key array.
//   BtreeMap        absl::btree_map<key, position>.
//   StdMap          std::map<key, position>.
//   FlatHashMap     absl::flat_hash_map<key, position> (point lookups only).
// each in a dependent loop (/dep: the next query depends on the previous
// answer, so the time is latency) and an independent loop (/indep: the CPU
// overlaps lookups, so the time is throughput). Every lookup is a hit.
// Counters: bytes_per_key (whole structure including keys, measured through
// a counting allocator for the maps), build_ms, and for the RMI its leaves and
// errors. RmiBuild times Build alone (keys/s).
//
// Environment: KYRO_BENCH_N keys (default 1M), KYRO_BENCH_DISTS (comma list,
// default uniform,lognormal,normal,clusters), KYRO_BENCH_ROUTER_BITS and
// KYRO_BENCH_KEYS_PER_LEAF (RMI options), KYRO_BENCH_SIMD (force a probe
// level: avx512, avx2, sse4.2, sse2, scalar).
#include <benchmark/benchmark.h>

#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "index/probe.h"
#include "index/rmi.h"

namespace {

using kyrodb::index::Rmi;
using kyrodb::index::RmiOptions;

size_t EnvSize(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  const long long parsed = std::atoll(v);
  return parsed > 0 ? static_cast<size_t>(parsed) : fallback;
}

std::string EnvString(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : v;
}

// ---------------------------------------------------------------- keys

uint64_t ToKey(double v) {
  if (!(v > 0)) return 0;
  if (v >= 18446744073709549568.0) return ~uint64_t{0} - 1;
  return static_cast<uint64_t>(v);
}

// Exactly n sorted, distinct keys of the named distribution (fixed seed).
std::vector<uint64_t> MakeKeys(const std::string& dist, size_t n) {
  std::mt19937_64 rng(0x6b79726f + n);
  std::lognormal_distribution<double> lognormal(0.0, 2.0);
  std::normal_distribution<double> normal(9223372036854775808.0, 1125899906842624.0);
  std::vector<uint64_t> centres(1 + n / 100000);
  for (auto& c : centres) c = rng() >> 1;
  auto draw = [&]() -> uint64_t {
    if (dist == "uniform") return rng();
    if (dist == "lognormal") return ToKey(lognormal(rng) * 1e12);
    if (dist == "normal") return ToKey(normal(rng));
    // clusters: dense groups (~100k keys within 2^28) at random centres.
    return centres[rng() % centres.size()] + rng() % (uint64_t{1} << 28);
  };
  std::vector<uint64_t> keys;
  keys.reserve(n + n / 8);
  while (keys.size() < n) {
    while (keys.size() < n + n / 16 + 16) keys.push_back(draw());
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  // Drop the surplus evenly so the distribution's shape is kept.
  std::vector<uint64_t> out;
  out.reserve(n);
  const double step = static_cast<double>(keys.size()) / static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) out.push_back(keys[static_cast<size_t>(static_cast<double>(i) * step)]);
  return out;
}

// ---------------------------------------------------------------- memory

// Counts what the maps allocate, for bytes_per_key.
inline size_t g_allocated = 0;

template <class T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <class U>
  CountingAllocator(const CountingAllocator<U>&) {}  // NOLINT: allocator rebind
  T* allocate(size_t count) {
    g_allocated += count * sizeof(T);
    return std::allocator<T>().allocate(count);
  }
  void deallocate(T* p, size_t count) {
    g_allocated -= count * sizeof(T);
    std::allocator<T>().deallocate(p, count);
  }
  template <class U>
  bool operator==(const CountingAllocator<U>&) const { return true; }
};

using Pair = std::pair<const uint64_t, uint64_t>;
using Btree = absl::btree_map<uint64_t, uint64_t, std::less<uint64_t>, CountingAllocator<Pair>>;
using StdMap = std::map<uint64_t, uint64_t, std::less<uint64_t>, CountingAllocator<Pair>>;
using FlatHash = absl::flat_hash_map<uint64_t, uint64_t, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                                     CountingAllocator<Pair>>;

// ---------------------------------------------------------------- fixture

// One distribution's keys and queries, and at most one competitor structure
// at a time (std::map at 50M keys is several GB).
struct Dataset {
  std::string dist;
  std::vector<uint64_t> keys;
  std::vector<uint64_t> queries;    // random hits; size = 2^k + 1
  std::vector<uint32_t> positions;  // random positions, same length
  size_t mask = 0;                  // 2^k - 1

  std::unique_ptr<Rmi> rmi;
  std::unique_ptr<Btree> btree;
  std::unique_ptr<StdMap> std_map;
  std::unique_ptr<FlatHash> flat_hash;
  double build_ms = 0;       // of the structure built last
  size_t structure_bytes = 0;
};

Dataset& Data(const std::string& dist) {
  static Dataset data;
  if (data.dist == dist) return data;
  data = Dataset();
  data.dist = dist;
  const size_t n = EnvSize("KYRO_BENCH_N", 1'000'000);
  data.keys = MakeKeys(dist, n);
  size_t q = 1;
  while (q < std::min<size_t>(n, 1 << 22)) q <<= 1;
  data.mask = q - 1;
  std::mt19937_64 rng(99);
  for (size_t i = 0; i <= q; ++i) {
    const auto pos = static_cast<uint32_t>(rng() % (n - 1));  // pos + 1 stays in range
    data.positions.push_back(pos);
    data.queries.push_back(data.keys[rng() % n]);
  }
  return data;
}

template <class F>
double TimeMs(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

RmiOptions BenchRmiOptions() {
  RmiOptions opts;
  opts.router_bits = static_cast<uint32_t>(EnvSize("KYRO_BENCH_ROUTER_BITS", opts.router_bits));
  opts.keys_per_leaf = static_cast<uint32_t>(EnvSize("KYRO_BENCH_KEYS_PER_LEAF", opts.keys_per_leaf));
  return opts;
}

enum class Kind { kRmi, kLowerBound, kBtree, kStdMap, kFlatHash, kDependentRead };

// Builds the structure for `kind` once, dropping any other.
void Prepare(Dataset& d, Kind kind) {
  const size_t n = d.keys.size();
  if (kind != Kind::kRmi) d.rmi.reset();
  if (kind != Kind::kBtree) d.btree.reset();
  if (kind != Kind::kStdMap) d.std_map.reset();
  if (kind != Kind::kFlatHash) d.flat_hash.reset();
  switch (kind) {
    case Kind::kRmi:
      if (!d.rmi) {
        d.build_ms = TimeMs([&] { d.rmi = Rmi::Build(d.keys, BenchRmiOptions()); });
        d.rmi->Warm();
      }
      d.structure_bytes = n * sizeof(uint64_t) + d.rmi->stats().bytes;
      return;
    case Kind::kBtree:
      if (!d.btree) {
        g_allocated = 0;
        d.build_ms = TimeMs([&] {
          d.btree = std::make_unique<Btree>();
          for (size_t i = 0; i < n; ++i) d.btree->emplace_hint(d.btree->end(), d.keys[i], i);
        });
        d.structure_bytes = g_allocated + sizeof(Btree);
      }
      return;
    case Kind::kStdMap:
      if (!d.std_map) {
        g_allocated = 0;
        d.build_ms = TimeMs([&] {
          d.std_map = std::make_unique<StdMap>();
          for (size_t i = 0; i < n; ++i) d.std_map->emplace_hint(d.std_map->end(), d.keys[i], i);
        });
        d.structure_bytes = g_allocated + sizeof(StdMap);
      }
      return;
    case Kind::kFlatHash:
      if (!d.flat_hash) {
        g_allocated = 0;
        d.build_ms = TimeMs([&] {
          d.flat_hash = std::make_unique<FlatHash>();
          d.flat_hash->reserve(n);
          for (size_t i = 0; i < n; ++i) d.flat_hash->emplace(d.keys[i], i);
        });
        d.structure_bytes = g_allocated + sizeof(FlatHash);
      }
      return;
    case Kind::kLowerBound:
      d.build_ms = 0;
      d.structure_bytes = n * sizeof(uint64_t);
      return;
    case Kind::kDependentRead:
      d.build_ms = 0;
      d.structure_bytes = n * sizeof(uint64_t);
      return;
  }
}

void SetCounters(benchmark::State& state, const Dataset& d, Kind kind) {
  const auto n = static_cast<double>(d.keys.size());
  state.counters["keys"] = n;
  state.counters["bytes_per_key"] = static_cast<double>(d.structure_bytes) / n;
  state.counters["build_ms"] = d.build_ms;
  if (kind == Kind::kRmi) {
    const auto& s = d.rmi->stats();
    state.counters["leaves"] = static_cast<double>(s.leaves);
    state.counters["max_err"] = static_cast<double>(s.max_error);
    state.counters["mean_err"] = s.mean_error;
    state.counters["mean_window"] = s.mean_window;
    state.counters["index_bytes_per_key"] = static_cast<double>(s.bytes) / n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The lookup loops are templates over the lookup callable so that each one is
// inlined into its loop (a std::function call would add ~2 ns to each).
template <class Lookup>
void DependentLoop(benchmark::State& state, const Dataset& d, Lookup lookup) {
  const uint64_t* queries = d.queries.data();
  const size_t mask = d.mask;
  uint64_t prev = 0;
  size_t i = 0;
  for (auto _ : state) {
    // (prev & 1) makes the next query's address wait for this answer.
    prev = lookup(queries[(i & mask) + (prev & 1)]);
    ++i;
  }
  benchmark::DoNotOptimize(prev);
}

template <class Lookup>
void IndependentLoop(benchmark::State& state, const Dataset& d, Lookup lookup) {
  const uint64_t* queries = d.queries.data();
  const size_t mask = d.mask;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lookup(queries[i & mask]));
    ++i;
  }
}

template <class Lookup>
void RunLoop(benchmark::State& state, const Dataset& d, bool dependent, Lookup lookup) {
  if (dependent) {
    DependentLoop(state, d, lookup);
  } else {
    IndependentLoop(state, d, lookup);
  }
}

void BM_Lookup(benchmark::State& state, std::string dist, Kind kind, bool dependent) {
  Dataset& d = Data(dist);
  Prepare(d, kind);
  const size_t n = d.keys.size();
  switch (kind) {
    case Kind::kRmi: {
      const Rmi* r = d.rmi.get();
      RunLoop(state, d, dependent, [r](uint64_t k) { return static_cast<uint64_t>(r->Find(k)); });
      break;
    }
    case Kind::kLowerBound: {
      const uint64_t* keys = d.keys.data();
      RunLoop(state, d, dependent, [keys, n](uint64_t k) {
        return static_cast<uint64_t>(std::lower_bound(keys, keys + n, k) - keys);
      });
      break;
    }
    case Kind::kBtree: {
      const Btree* m = d.btree.get();
      RunLoop(state, d, dependent, [m](uint64_t k) { return m->find(k)->second; });
      break;
    }
    case Kind::kStdMap: {
      const StdMap* m = d.std_map.get();
      RunLoop(state, d, dependent, [m](uint64_t k) { return m->find(k)->second; });
      break;
    }
    case Kind::kFlatHash: {
      const FlatHash* m = d.flat_hash.get();
      RunLoop(state, d, dependent, [m](uint64_t k) { return m->find(k)->second; });
      break;
    }
    case Kind::kDependentRead: {
      // One random read of the key array per step; with `dependent` the next
      // index waits for the value just read.
      const uint64_t* keys = d.keys.data();
      const uint32_t* pos = d.positions.data();
      const size_t mask = d.mask;
      size_t i = 0;
      uint64_t prev = 0;
      if (dependent) {
        for (auto _ : state) {
          prev = keys[pos[i & mask] + (prev & 1)];
          ++i;
        }
        benchmark::DoNotOptimize(prev);
      } else {
        // Summing forces every load (an lvalue handed to DoNotOptimize may be
        // passed by address and never read) without chaining them.
        uint64_t sum = 0;
        for (auto _ : state) {
          sum += keys[pos[i & mask]];
          ++i;
        }
        benchmark::DoNotOptimize(sum);
      }
      break;
    }
  }
  SetCounters(state, d, kind);
}

void BM_RmiBuild(benchmark::State& state, std::string dist) {
  Dataset& d = Data(dist);
  Prepare(d, Kind::kDependentRead);  // frees the competitors
  const RmiOptions opts = BenchRmiOptions();
  std::unique_ptr<Rmi> rmi;
  for (auto _ : state) {
    rmi = Rmi::Build(d.keys, opts);
    benchmark::DoNotOptimize(rmi.get());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.keys.size()));
  state.counters["keys"] = static_cast<double>(d.keys.size());
  state.counters["leaves"] = static_cast<double>(rmi->stats().leaves);
  state.counters["max_err"] = static_cast<double>(rmi->stats().max_error);
  state.counters["mean_err"] = rmi->stats().mean_error;
}

void RegisterAll() {
  const std::string simd = EnvString("KYRO_BENCH_SIMD", "");
  for (auto level : {kyrodb::index::SimdLevel::kAvx512, kyrodb::index::SimdLevel::kAvx2,
                     kyrodb::index::SimdLevel::kSse42, kyrodb::index::SimdLevel::kSse2,
                     kyrodb::index::SimdLevel::kScalar}) {
    if (simd == kyrodb::index::SimdLevelName(level)) kyrodb::index::SetSimdLevel(level);
  }
  benchmark::AddCustomContext("kyrodb_simd", kyrodb::index::SimdLevelName());
  benchmark::AddCustomContext("kyrodb_n", std::to_string(EnvSize("KYRO_BENCH_N", 1'000'000)));

  std::string dists = EnvString("KYRO_BENCH_DISTS", "uniform,lognormal,normal,clusters");
  std::vector<std::string> names;
  for (size_t start = 0; start <= dists.size();) {
    const size_t comma = std::min(dists.find(',', start), dists.size());
    if (comma > start) names.push_back(dists.substr(start, comma - start));
    start = comma + 1;
  }
  const std::pair<const char*, Kind> kinds[] = {
      {"DependentRead", Kind::kDependentRead}, {"Rmi", Kind::kRmi},       {"LowerBound", Kind::kLowerBound},
      {"BtreeMap", Kind::kBtree},              {"StdMap", Kind::kStdMap}, {"FlatHashMap", Kind::kFlatHash}};
  // Grouped by distribution, then structure, so each is built once.
  for (const std::string& dist : names) {
    benchmark::RegisterBenchmark(("RmiBuild/" + dist).c_str(), BM_RmiBuild, dist)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
    for (const auto& [name, kind] : kinds) {
      for (bool dependent : {true, false}) {
        const std::string full = std::string(name) + "/" + dist + (dependent ? "/dep" : "/indep");
        benchmark::RegisterBenchmark(full.c_str(), BM_Lookup, dist, kind, dependent)->MinTime(1.0);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
