// The SIMD probe alone: every level against std::lower_bound, for windows at
// every offset, near both ends of the array and over unaligned bases.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "index/probe.h"
#include "key_sets.h"

namespace kyrodb::index {
namespace {

TEST(Probe, EveryLevelMatchesLowerBound) {
  std::mt19937_64 rng(11);
  const SimdLevel best = DetectSimdLevel();
  for (SimdLevel level : {SimdLevel::kScalar, SimdLevel::kSse2, SimdLevel::kSse42, SimdLevel::kAvx2,
                          SimdLevel::kAvx512}) {
    if (!SetSimdLevel(level)) continue;
    SCOPED_TRACE(SimdLevelName(level));
    for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{8}, size_t{9}, size_t{31},
                     size_t{100}, size_t{1000}}) {
      // A spare element in front lets the array start at an odd word, so
      // batch alignment is exercised both ways.
      std::vector<uint64_t> storage(n + 1);
      for (auto& k : storage) k = rng() % (4 * n + 10) + (rng() % 3 == 0 ? (uint64_t{1} << 63) : 0);
      std::sort(storage.begin(), storage.end());
      storage.erase(std::unique(storage.begin(), storage.end()), storage.end());
      for (size_t skew : {size_t{0}, size_t{1}}) {
        if (storage.size() <= skew) continue;
        const uint64_t* keys = storage.data() + skew;
        const size_t m = storage.size() - skew;
        for (int q = 0; q < 300; ++q) {
          uint64_t key = rng() % 3 == 0 ? keys[rng() % m] + (rng() % 3) - 1 : rng();
          if (q == 0) key = 0;
          if (q == 1) key = testing::kMaxU64;
          const size_t want = static_cast<size_t>(std::lower_bound(keys, keys + m, key) - keys);
          // Any window [lo, hi] around the answer is a valid input.
          const size_t lo = want - std::min<size_t>(want, rng() % 150);
          const size_t hi = want + std::min<size_t>(m - want, rng() % 150);
          ASSERT_EQ(LowerBoundInWindow(keys, m, lo, hi, key), want)
              << "n=" << m << " lo=" << lo << " hi=" << hi << " key=" << key;
        }
      }
    }
  }
  SetSimdLevel(best);
}

TEST(Probe, UnsupportedLevelIsRefused) {
  const SimdLevel before = ActiveSimdLevel();
  if (!__builtin_cpu_supports("avx512f")) {
    EXPECT_FALSE(SetSimdLevel(SimdLevel::kAvx512));
  }
  EXPECT_EQ(ActiveSimdLevel(), before);
  EXPECT_TRUE(SetSimdLevel(SimdLevel::kScalar));
  EXPECT_STREQ(SimdLevelName(), "scalar");
  EXPECT_TRUE(SetSimdLevel(before));
}

}  // namespace
}  // namespace kyrodb::index
