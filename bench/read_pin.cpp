// What a reader pays to pin the current generation: std::atomic<shared_ptr>
// (libstdc++'s spin lock plus the object's shared reference count) against
// ReadMostlyPtr (a per-thread slot and holder), with one and with two reader
// threads. Each iteration pins, reads one field through the pin and drops
// it, as StoreImpl::Get does with a generation. Run:
//   build/release/bench/read_pin --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

#include "util/read_mostly_ptr.h"

namespace {

struct Object {
  uint64_t value = 42;
};

std::atomic<std::shared_ptr<const Object>> g_atomic{std::make_shared<const Object>()};
kyrodb::ReadMostlyPtr<Object> g_read_mostly{std::make_shared<const Object>()};

void BM_AtomicSharedPtr(benchmark::State& state) {
  for (auto _ : state) {
    std::shared_ptr<const Object> pin = g_atomic.load(std::memory_order_acquire);
    benchmark::DoNotOptimize(pin->value);
  }
}
BENCHMARK(BM_AtomicSharedPtr)->Threads(1)->Threads(2)->UseRealTime();

void BM_ReadMostlyPtr(benchmark::State& state) {
  for (auto _ : state) {
    std::shared_ptr<const void> pin;
    const Object* object = g_read_mostly.Pin(&pin);
    benchmark::DoNotOptimize(object->value);
  }
}
BENCHMARK(BM_ReadMostlyPtr)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
