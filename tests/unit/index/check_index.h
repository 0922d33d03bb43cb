// The oracle: an Rmi must answer exactly like std::lower_bound over its keys.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "index/rmi.h"
#include "key_sets.h"

namespace kyrodb::index::testing {

// Checks one query against the oracle; returns false (after recording a
// failure) on the first mismatch so callers can stop early.
inline bool CheckQuery(const Rmi& rmi, const std::vector<uint64_t>& keys, uint64_t q) {
  const size_t want = static_cast<size_t>(std::lower_bound(keys.begin(), keys.end(), q) - keys.begin());
  const bool present = want < keys.size() && keys[want] == q;
  const size_t lb = rmi.LowerBound(q);
  const size_t found = rmi.Find(q);
  const ApproxPos w = rmi.Predict(q);
  EXPECT_EQ(lb, want) << "LowerBound(" << q << ")";
  EXPECT_EQ(found, present ? want : keys.size()) << "Find(" << q << ")";
  EXPECT_TRUE(w.lo <= w.pos && w.pos <= w.hi && w.hi <= keys.size())
      << "Predict(" << q << ") = {" << w.pos << ", " << w.lo << ", " << w.hi << "}";
  EXPECT_TRUE(w.lo <= want && want <= w.hi) << "Predict(" << q << ") window misses lower bound " << want;
  if (present) {
    EXPECT_LT(want, w.hi) << "Predict(" << q << ") window excludes the key";
  }
  return lb == want && found == (present ? want : keys.size()) && w.lo <= want && want <= w.hi;
}

// Every key (hit), its neighbours (misses between keys), below the minimum,
// above the maximum, the extremes of u64, and `random_queries` uniform ones.
inline void ExpectExact(const Rmi& rmi, const std::vector<uint64_t>& keys, uint64_t seed,
                        size_t random_queries = 1000) {
  ASSERT_EQ(rmi.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint64_t k = keys[i];
    if (!CheckQuery(rmi, keys, k)) return;
    if (k > 0 && !CheckQuery(rmi, keys, k - 1)) return;
    if (k < kMaxU64 && !CheckQuery(rmi, keys, k + 1)) return;
    if (i + 1 < keys.size() && !CheckQuery(rmi, keys, k + (keys[i + 1] - k) / 2)) return;
  }
  for (uint64_t q : {uint64_t{0}, uint64_t{1}, kMaxU64, kMaxU64 - 1}) {
    if (!CheckQuery(rmi, keys, q)) return;
  }
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < random_queries; ++i) {
    uint64_t q = rng();
    if (!keys.empty() && i % 2 == 0) {
      // Near a key, where the interesting boundaries are.
      q = keys[rng() % keys.size()] + (rng() % 64) - 32;
    }
    if (!CheckQuery(rmi, keys, q)) return;
  }
}

}  // namespace kyrodb::index::testing
