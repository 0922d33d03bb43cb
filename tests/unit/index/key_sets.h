// Key distributions shared by the index tests: every one sorted and strictly
// increasing, deterministic for a given seed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace kyrodb::index::testing {

inline constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

inline void SortUnique(std::vector<uint64_t>* keys) {
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
}

// Maps a real number onto u64 without undefined behaviour at the edges.
inline uint64_t ToKey(double v) {
  if (!(v > 0)) return 0;
  if (v >= 18446744073709549568.0) return kMaxU64 - 1;
  return static_cast<uint64_t>(v);
}

enum class Dist {
  kUniform,        // uniform over all of 2^64
  kLognormal,      // lognormal(0, 2) * 1e12: heavy right tail
  kNormal,         // normal around 2^63, sd 2^50
  kSequential,     // start, start + 1, ...
  kSeqHugeGaps,    // sequential runs separated by gaps up to 2^60
  kClusters,       // dense clusters at random centres
  kExpGaps,        // exponentially distributed gaps
  kExtremes,       // includes 0 and 2^64 - 1, few keys in between
};

inline const char* DistName(Dist d) {
  switch (d) {
    case Dist::kUniform: return "uniform";
    case Dist::kLognormal: return "lognormal";
    case Dist::kNormal: return "normal";
    case Dist::kSequential: return "sequential";
    case Dist::kSeqHugeGaps: return "seq_huge_gaps";
    case Dist::kClusters: return "clusters";
    case Dist::kExpGaps: return "exp_gaps";
    case Dist::kExtremes: return "extremes";
  }
  return "?";
}

inline constexpr Dist kAllDists[] = {Dist::kUniform,    Dist::kLognormal,   Dist::kNormal,
                                     Dist::kSequential, Dist::kSeqHugeGaps, Dist::kClusters,
                                     Dist::kExpGaps,    Dist::kExtremes};

// About n keys (duplicates drawn by chance are dropped).
inline std::vector<uint64_t> MakeKeys(Dist dist, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> keys;
  keys.reserve(n + 2);
  switch (dist) {
    case Dist::kUniform:
      for (size_t i = 0; i < n; ++i) keys.push_back(rng());
      break;
    case Dist::kLognormal: {
      std::lognormal_distribution<double> d(0.0, 2.0);
      for (size_t i = 0; i < n; ++i) keys.push_back(ToKey(d(rng) * 1e12));
      break;
    }
    case Dist::kNormal: {
      std::normal_distribution<double> d(9223372036854775808.0, 1125899906842624.0);
      for (size_t i = 0; i < n; ++i) keys.push_back(ToKey(d(rng)));
      break;
    }
    case Dist::kSequential: {
      const uint64_t start = rng() >> 1;
      for (size_t i = 0; i < n; ++i) keys.push_back(start + i);
      break;
    }
    case Dist::kSeqHugeGaps: {
      uint64_t k = rng() >> 8;
      for (size_t i = 0; i < n; ++i) {
        keys.push_back(k);
        const uint64_t step = (rng() % 1000 == 0) ? (uint64_t{1} << (40 + rng() % 20)) : 1;
        if (kMaxU64 - k <= step) break;
        k += step;
      }
      break;
    }
    case Dist::kClusters: {
      const size_t clusters = 1 + n / 5000;
      std::vector<uint64_t> centres(clusters);
      for (auto& c : centres) c = rng();
      for (size_t i = 0; i < n; ++i) {
        const uint64_t c = centres[rng() % clusters];
        const uint64_t off = rng() % (uint64_t{1} << 22);
        keys.push_back(c > kMaxU64 - off ? c - off : c + off);
      }
      break;
    }
    case Dist::kExpGaps: {
      std::exponential_distribution<double> d(1.0);
      uint64_t k = rng() >> 20;
      for (size_t i = 0; i < n; ++i) {
        keys.push_back(k);
        k += 1 + static_cast<uint64_t>(d(rng) * 1e6);
      }
      break;
    }
    case Dist::kExtremes:
      keys.push_back(0);
      keys.push_back(kMaxU64);
      for (size_t i = 2; i < n; ++i) keys.push_back(i % 2 ? rng() : rng() % 1024);
      break;
  }
  SortUnique(&keys);
  return keys;
}

// KYRO_INDEX_ROUNDS (default `fallback`): how many randomised rounds to run.
inline int Rounds(int fallback) {
  const char* v = std::getenv("KYRO_INDEX_ROUNDS");
  if (v == nullptr || *v == '\0') return fallback;
  const long r = std::strtol(v, nullptr, 10);
  return r > 0 ? static_cast<int>(r) : fallback;
}

}  // namespace kyrodb::index::testing
