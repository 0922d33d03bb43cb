// KeyFilter: never a false negative, at its size and past it; few false
// positives at its size; sized as documented.
#include "engine/key_filter.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace kyrodb {
namespace {

std::vector<uint64_t> Keys(int kind, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    switch (kind) {
      case 0: keys[i] = i; break;                       // dense
      case 1: keys[i] = uint64_t{i} << 32; break;        // strided: equal low bits
      default: keys[i] = rng(); break;                   // random
    }
  }
  return keys;
}

TEST(KeyFilter, AnEmptyFilterHoldsNothing) {
  KeyFilter filter(1000);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) EXPECT_FALSE(filter.MayContain(rng()));
  EXPECT_FALSE(filter.MayContain(0));
}

TEST(KeyFilter, NeverAFalseNegativeAtOrPastItsSize) {
  for (size_t expected : {size_t{1}, size_t{1000}, size_t{1} << 16}) {
    for (int kind = 0; kind < 3; ++kind) {
      KeyFilter filter(expected);
      const std::vector<uint64_t> keys = Keys(kind, 3 * expected + 100, expected + kind);
      for (uint64_t k : keys) filter.Add(k);
      size_t missing = 0;
      for (uint64_t k : keys) missing += filter.MayContain(k) ? 0 : 1;
      EXPECT_EQ(missing, 0u) << "expected " << expected << " kind " << kind;
    }
  }
}

TEST(KeyFilter, FewFalsePositivesAtItsSize) {
  constexpr size_t kExpected = size_t{1} << 16;
  for (int kind = 0; kind < 3; ++kind) {
    KeyFilter filter(kExpected);
    for (uint64_t k : Keys(kind, kExpected, 7)) filter.Add(k);
    // Queries the filter never saw: odd keys above everything added, and random ones.
    std::mt19937_64 rng(99);
    size_t positives = 0;
    constexpr size_t kQueries = 200000;
    for (size_t i = 0; i < kQueries; ++i) {
      const uint64_t q = kind == 2 ? rng() : (uint64_t{1} << 63) + 2 * i + 1;
      positives += filter.MayContain(q) ? 1 : 0;
    }
    // 16 bits a key in split blocks: about 0.2-0.5 %.
    EXPECT_LT(static_cast<double>(positives) / kQueries, 0.01) << "kind " << kind;
  }
}

TEST(KeyFilter, SizedAtTwoBytesAKeyInAPowerOfTwo) {
  EXPECT_EQ(KeyFilter(1).bytes(), 4096u);  // the floor: one page
  EXPECT_EQ(KeyFilter(1000).bytes(), 4096u);
  EXPECT_EQ(KeyFilter(size_t{1} << 16).bytes(), size_t{1} << 17);
  EXPECT_EQ(KeyFilter((size_t{1} << 16) + 1).bytes(), size_t{1} << 18);
  EXPECT_EQ(KeyFilter(size_t{1} << 20).bytes(), size_t{2} << 20);
  EXPECT_EQ(KeyFilter(size_t{1} << 40).bytes(), 2 * KeyFilter::kMaxExpectedKeys);  // capped
}

}  // namespace
}  // namespace kyrodb
