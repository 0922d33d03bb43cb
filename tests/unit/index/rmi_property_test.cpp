// Randomised property test: random distributions, sizes and options, fixed
// seed; KYRO_INDEX_ROUNDS=N runs N rounds instead of the default.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "check_index.h"
#include "index/probe.h"
#include "index/rmi.h"
#include "key_sets.h"

namespace kyrodb::index {
namespace {

TEST(RmiProperty, MatchesLowerBoundOnRandomInputs) {
  const int rounds = testing::Rounds(60);
  std::mt19937_64 rng(0x6b79726f);
  const SimdLevel best = DetectSimdLevel();
  for (int round = 0; round < rounds; ++round) {
    const auto dist = testing::kAllDists[rng() % std::size(testing::kAllDists)];
    // Mostly small sets (edge cases are dense there), sometimes larger.
    size_t n = rng() % 8 == 0 ? rng() % 60000 : rng() % 2000;
    if (rng() % 10 == 0) n = rng() % 4;
    const auto keys = testing::MakeKeys(dist, n, rng());
    RmiOptions opts;
    opts.router_bits = static_cast<uint32_t>(rng() % 25);
    opts.keys_per_leaf = 1 + static_cast<uint32_t>(rng() % 300);
    if (rng() % 5 == 0) opts.leaves = 1 + static_cast<uint32_t>(rng() % (2 * keys.size() + 5));
    SetSimdLevel(static_cast<SimdLevel>(rng() % 5));  // unsupported levels are refused

    SCOPED_TRACE("round " + std::to_string(round) + ": " + testing::DistName(dist) + " n=" +
                 std::to_string(keys.size()) + " bits=" + std::to_string(opts.router_bits) +
                 " per_leaf=" + std::to_string(opts.keys_per_leaf) + " leaves=" + std::to_string(opts.leaves) +
                 " simd=" + SimdLevelName());
    auto rmi = Rmi::Build(keys, opts);
    ASSERT_NE(rmi, nullptr);
    testing::ExpectExact(*rmi, keys, rng(), 300);
    if (HasFailure()) break;
  }
  SetSimdLevel(best);
}

}  // namespace
}  // namespace kyrodb::index
