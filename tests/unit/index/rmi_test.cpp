// The RMI over every distribution the engine may meet, and the edge cases:
// answers compared with std::lower_bound for hits and misses.
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "check_index.h"
#include "index/probe.h"
#include "index/rmi.h"
#include "key_sets.h"

namespace kyrodb::index {
namespace {

using testing::Dist;
using testing::DistName;
using testing::ExpectExact;
using testing::kMaxU64;
using testing::MakeKeys;

std::unique_ptr<Rmi> MustBuild(const std::vector<uint64_t>& keys, const RmiOptions& opts = {}) {
  auto rmi = Rmi::Build(keys, opts);
  EXPECT_NE(rmi, nullptr);
  return rmi;
}

class DistTest : public ::testing::TestWithParam<Dist> {};

TEST_P(DistTest, ExactForDefaultOptions) {
  const auto keys = MakeKeys(GetParam(), 50000, 42);
  auto rmi = MustBuild(keys);
  ASSERT_NE(rmi, nullptr);
  ExpectExact(*rmi, keys, 7);
  EXPECT_EQ(rmi->stats().count, keys.size());
  EXPECT_GE(rmi->stats().leaves, 1u);
}

TEST_P(DistTest, ExactAcrossRouterWidthsAndLeafSizes) {
  const auto keys = MakeKeys(GetParam(), 8000, 43);
  for (uint32_t bits : {0u, 1u, 4u, 10u, 16u, 24u}) {
    for (uint32_t per_leaf : {1u, 3u, 16u, 1000u}) {
      SCOPED_TRACE("router_bits=" + std::to_string(bits) + " keys_per_leaf=" + std::to_string(per_leaf));
      auto rmi = MustBuild(keys, {.router_bits = bits, .keys_per_leaf = per_leaf});
      ASSERT_NE(rmi, nullptr);
      ExpectExact(*rmi, keys, bits * 31 + per_leaf, 200);
      if (HasFailure()) return;
    }
  }
}

TEST_P(DistTest, ExactWithOneLeafAndWithMoreLeavesThanKeys) {
  const auto keys = MakeKeys(GetParam(), 3000, 44);
  for (uint32_t leaves : {1u, 2u, static_cast<uint32_t>(keys.size() * 4 + 3)}) {
    SCOPED_TRACE("leaves=" + std::to_string(leaves));
    auto rmi = MustBuild(keys, {.leaves = leaves});
    ASSERT_NE(rmi, nullptr);
    EXPECT_EQ(rmi->stats().leaves, leaves);
    ExpectExact(*rmi, keys, leaves, 200);
  }
}

TEST_P(DistTest, ExactWithEverySimdLevel) {
  const auto keys = MakeKeys(GetParam(), 20000, 45);
  auto rmi = MustBuild(keys, {.keys_per_leaf = 4096});  // wide windows: the probe narrows first
  ASSERT_NE(rmi, nullptr);
  const SimdLevel best = DetectSimdLevel();
  for (SimdLevel level : {SimdLevel::kScalar, SimdLevel::kSse2, SimdLevel::kSse42, SimdLevel::kAvx2,
                          SimdLevel::kAvx512}) {
    if (!SetSimdLevel(level)) continue;
    SCOPED_TRACE(SimdLevelName(level));
    ExpectExact(*rmi, keys, 3, 200);
  }
  ASSERT_TRUE(SetSimdLevel(best));
}

INSTANTIATE_TEST_SUITE_P(AllDistributions, DistTest, ::testing::ValuesIn(testing::kAllDists),
                         [](const auto& param_info) { return std::string(DistName(param_info.param)); });

TEST(RmiEdge, ZeroOneTwoThreeKeys) {
  const std::vector<std::vector<uint64_t>> sets = {
      {}, {0}, {kMaxU64}, {42}, {0, kMaxU64}, {5, 6}, {0, 1, kMaxU64}, {1, 2, 3},
      {0, uint64_t{1} << 63, kMaxU64}, {kMaxU64 - 2, kMaxU64 - 1, kMaxU64}};
  for (const auto& keys : sets) {
    for (uint32_t leaves : {0u, 1u, 7u}) {
      SCOPED_TRACE("n=" + std::to_string(keys.size()) + " leaves=" + std::to_string(leaves));
      auto rmi = MustBuild(keys, {.leaves = leaves});
      ASSERT_NE(rmi, nullptr);
      ExpectExact(*rmi, keys, 1, 500);
    }
  }
}

TEST(RmiEdge, EmptyIndexAnswersAbsent) {
  const std::vector<uint64_t> keys;
  auto rmi = MustBuild(keys);
  ASSERT_NE(rmi, nullptr);
  for (uint64_t q : {uint64_t{0}, uint64_t{1}, kMaxU64}) {
    EXPECT_EQ(rmi->Find(q), 0u);
    EXPECT_EQ(rmi->LowerBound(q), 0u);
  }
  EXPECT_TRUE(rmi->WindowSizes().empty());
  rmi->Warm();
}

TEST(RmiEdge, RoughRankIsAlwaysAPositionOfTheIndex) {
  const std::vector<uint64_t> empty;
  auto none = MustBuild(empty);
  ASSERT_NE(none, nullptr);
  for (uint64_t q : {uint64_t{0}, uint64_t{5}, kMaxU64}) EXPECT_EQ(none->RoughRank(q), 0u);
  for (Dist d : {Dist::kUniform, Dist::kLognormal, Dist::kSequential}) {
    const std::vector<uint64_t> keys = MakeKeys(d, 20000, 3);
    auto rmi = MustBuild(keys);
    ASSERT_NE(rmi, nullptr);
    EXPECT_EQ(rmi->RoughRank(0), 0u);
    EXPECT_EQ(rmi->RoughRank(keys.front()), 0u);
    EXPECT_EQ(rmi->RoughRank(kMaxU64), keys.size() - 1);
    for (size_t i = 0; i < keys.size(); i += 7) {
      EXPECT_LT(rmi->RoughRank(keys[i]), keys.size());
      EXPECT_LT(rmi->RoughRank(keys[i] + 1), keys.size());
    }
  }
  // Dense keys: the router's guess is the position itself, give or take one.
  std::vector<uint64_t> dense(4096);
  std::iota(dense.begin(), dense.end(), uint64_t{0});
  auto rmi = MustBuild(dense);
  ASSERT_NE(rmi, nullptr);
  for (size_t i = 0; i < dense.size(); ++i) {
    const size_t r = rmi->RoughRank(dense[i]);
    EXPECT_LE(r > i ? r - i : i - r, 1u) << i;
  }
}

TEST(RmiEdge, DenseRunAndHugeGapInOneBucket) {
  // A dense run next to a single far key: one router bucket holds almost all
  // keys, the leaf models must still separate them.
  std::vector<uint64_t> keys(10000);
  std::iota(keys.begin(), keys.end(), uint64_t{1000});
  keys.push_back(kMaxU64);
  auto rmi = MustBuild(keys);
  ASSERT_NE(rmi, nullptr);
  ExpectExact(*rmi, keys, 9);
}

TEST(RmiEdge, TwoClustersFarApart) {
  std::vector<uint64_t> keys;
  for (uint64_t i = 0; i < 5000; ++i) keys.push_back(i * 3);
  for (uint64_t i = 0; i < 5000; ++i) keys.push_back((uint64_t{1} << 62) + i * 7);
  auto rmi = MustBuild(keys, {.router_bits = 4});
  ASSERT_NE(rmi, nullptr);
  ExpectExact(*rmi, keys, 10);
}

TEST(RmiBuild, RejectsUnsortedAndDuplicateKeys) {
  EXPECT_EQ(Rmi::Build(std::vector<uint64_t>{3, 2, 5}), nullptr);
  EXPECT_EQ(Rmi::Build(std::vector<uint64_t>{1, 2, 2, 3}), nullptr);
  EXPECT_EQ(Rmi::Build(std::vector<uint64_t>{kMaxU64, 0}), nullptr);
  EXPECT_NE(Rmi::Build(std::vector<uint64_t>{1, 2, 3}), nullptr);
}

TEST(RmiStats, ReportsLeavesErrorsAndWindows) {
  const auto keys = MakeKeys(Dist::kLognormal, 100000, 46);
  auto rmi = MustBuild(keys);
  ASSERT_NE(rmi, nullptr);
  const RmiStats& s = rmi->stats();
  EXPECT_EQ(s.count, keys.size());
  EXPECT_EQ(s.leaves, (keys.size() + 255) / 256);
  EXPECT_GT(s.bytes, 0u);
  EXPECT_GE(s.build_ms, 0.0);
  EXPECT_GE(static_cast<double>(s.max_error), s.mean_error);
  const auto windows = rmi->WindowSizes();
  EXPECT_EQ(windows.size(), s.leaves);
  uint64_t widest = 0;
  for (uint32_t w : windows) widest = std::max<uint64_t>(widest, w);
  EXPECT_LE(widest, 2 * s.max_error + 1);
  // The router follows the CDF: windows stay a few cache lines even on a
  // heavy-tailed distribution (a linear root gives thousands here).
  EXPECT_LT(s.mean_window, 64.0) << "mean window " << s.mean_window;
  rmi->Warm();
}

TEST(RmiStats, RouterKindFollowsTheDistribution) {
  // Heavy tails crowd a linear router's first buckets; the build measures
  // that and switches to the log router. Even spreads keep the linear one.
  EXPECT_TRUE(MustBuild(MakeKeys(Dist::kLognormal, 100000, 48))->stats().log_router);
  EXPECT_FALSE(MustBuild(MakeKeys(Dist::kUniform, 100000, 48))->stats().log_router);
  EXPECT_FALSE(MustBuild(MakeKeys(Dist::kSequential, 100000, 48))->stats().log_router);
}

TEST(RmiStats, UniformWindowsAreSmall) {
  const auto keys = MakeKeys(Dist::kUniform, 100000, 47);
  auto rmi = MustBuild(keys);
  ASSERT_NE(rmi, nullptr);
  EXPECT_LT(rmi->stats().mean_window, 32.0);
  EXPECT_LT(rmi->stats().mean_error, 8.0);
}

TEST(RmiSimd, LevelNameIsReported) {
  const std::string name = SimdLevelName();
  EXPECT_TRUE(name == "avx512" || name == "avx2" || name == "sse4.2" || name == "sse2" || name == "scalar")
      << name;
  EXPECT_EQ(name, SimdLevelName(DetectSimdLevel()));
}

}  // namespace
}  // namespace kyrodb::index
