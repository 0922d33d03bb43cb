// The publishing pattern the engine uses: generations of (keys, Rmi) behind
// a ReadMostlyPtr (src/util/read_mostly_ptr.h). Readers hammer lookups while a
// writer rebuilds and swaps; every answer must be exact for the generation the
// reader loaded, and an old generation must stay alive while a reader holds
// it. Run under TSan in CI (label `concurrency`).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "index/rmi.h"
#include "key_sets.h"
#include "util/read_mostly_ptr.h"

namespace kyrodb::index {
namespace {

// An Rmi does not own its keys; the shared_ptr's deleter does, so the keys
// die exactly when the last reader lets go of the generation.
std::shared_ptr<const Rmi> MakeGeneration(uint64_t generation) {
  auto keys = std::make_shared<std::vector<uint64_t>>(testing::MakeKeys(
      generation % 2 ? testing::Dist::kLognormal : testing::Dist::kUniform, 20000 + generation % 7 * 1000,
      generation));
  std::unique_ptr<Rmi> rmi = Rmi::Build(*keys);
  if (rmi == nullptr) return nullptr;
  return std::shared_ptr<const Rmi>(rmi.release(), [keys](const Rmi* p) { delete p; });
}

TEST(RmiConcurrency, ReadersAlwaysSeeExactAnswersAcrossSwaps) {
  ReadMostlyPtr<Rmi> current(MakeGeneration(1));
  ASSERT_NE(current.Load(), nullptr);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0};
  std::atomic<uint64_t> wrong{0};

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    uint64_t local = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      std::shared_ptr<const void> pin;
      const Rmi* rmi = current.Pin(&pin);
      const auto keys = rmi->keys();
      for (int i = 0; i < 64; ++i) {
        const size_t at = rng() % keys.size();
        const uint64_t hit = keys[at];
        if (rmi->Find(hit) != at) wrong.fetch_add(1, std::memory_order_relaxed);
        const uint64_t miss = rng();
        const size_t want = static_cast<size_t>(std::lower_bound(keys.begin(), keys.end(), miss) - keys.begin());
        if (rmi->LowerBound(miss) != want) wrong.fetch_add(1, std::memory_order_relaxed);
        local += 2;
      }
    }
    lookups.fetch_add(local, std::memory_order_relaxed);
  };

  std::vector<std::thread> readers;
  for (uint64_t r = 0; r < 3; ++r) readers.emplace_back(reader, r + 100);

  // The writer: build off to the side, then publish.
  constexpr int kSwaps = 40;
  for (int g = 2; g < 2 + kSwaps; ++g) {
    std::shared_ptr<const Rmi> next = MakeGeneration(static_cast<uint64_t>(g));
    ASSERT_NE(next, nullptr);
    current.Publish(std::move(next));
  }
  // Let readers run on the final generation too.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(lookups.load(), 0u);
}

}  // namespace
}  // namespace kyrodb::index
