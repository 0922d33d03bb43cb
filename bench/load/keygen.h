// Key generators for the load generator: a small fast PRNG, and uniform or
// Zipf-distributed keys over [0, n).
//
// Zipf uses rejection-inversion sampling (W. Hörmann, G. Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions", 1996):
// O(1) set-up and O(1) expected time per sample for any n and any exponent
// (theta) > 0, so 10M or 2^64-1 keys cost nothing to prepare, unlike the
// zeta-sum of YCSB's generator. Rank 1 is the hottest. By default ranks are
// scrambled over the key space (a multiplicative permutation mod n) so the hot
// keys do not all sit in one leaf of the index; --zipf-scramble 0 keeps rank r
// at key r-1.
#pragma once

#include <cmath>
#include <cstdint>
#include <numeric>

namespace kyrodb::bench {

__extension__ typedef unsigned __int128 U128;

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : s_) s = SplitMix(seed);
  }
  uint64_t Next() {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias is < n / 2^64).
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>((static_cast<U128>(Next()) * n) >> 64); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t s_[4];
};

class ZipfSampler {
 public:
  // n >= 1 elements, exponent theta > 0.
  ZipfSampler(uint64_t n, double theta) : n_(n), s_(theta) {
    h_x1_ = HIntegral(1.5) - 1.0;
    h_n_ = HIntegral(static_cast<double>(n_) + 0.5);
    s_cut_ = 2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0));
  }

  // A rank in [1, n].
  uint64_t Sample(Rng& rng) const {
    // Bounded: the acceptance probability is high (> 0.9 for theta near 1),
    // so 64 rounds fail with probability far below 1e-60; then rank 1.
    for (int round = 0; round < 64; ++round) {
      double u = h_n_ + rng.NextDouble() * (h_x1_ - h_n_);
      double x = HIntegralInverse(u);
      double kd = std::floor(x + 0.5);
      uint64_t k = kd < 1.0 ? 1 : (kd >= static_cast<double>(n_) ? n_ : static_cast<uint64_t>(kd));
      double kk = static_cast<double>(k);
      if (kk - x <= s_cut_ || u >= HIntegral(kk + 0.5) - H(kk)) return k;
    }
    return 1;
  }

 private:
  double H(double x) const { return std::exp(-s_ * std::log(x)); }
  double HIntegral(double x) const {
    double lx = std::log(x);
    return Helper2((1.0 - s_) * lx) * lx;
  }
  double HIntegralInverse(double x) const {
    double t = x * (1.0 - s_);
    if (t < -1.0) t = -1.0;
    return std::exp(Helper1(t) * x);
  }
  // log1p(x)/x and expm1(x)/x, stable near 0 (theta == 1).
  static double Helper1(double x) {
    return std::fabs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
  }
  static double Helper2(double x) {
    return std::fabs(x) > 1e-8 ? std::expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
  }

  uint64_t n_;
  double s_;
  double h_x1_;
  double h_n_;
  double s_cut_;
};

// Keys in [0, n): uniform, or Zipf ranks mapped through a permutation.
class KeyGen {
 public:
  KeyGen(uint64_t n, bool zipf, double theta, bool scramble)
      : n_(n == 0 ? 1 : n), zipf_(zipf), sampler_(n_, theta) {
    if (scramble) {
      // A multiplier coprime with n makes r -> r * m mod n a permutation.
      mult_ = 0x9E3779B97F4A7C15ull % n_;
      while (n_ > 1 && (mult_ == 0 || std::gcd(mult_, n_) != 1)) mult_ = (mult_ + 1) % n_;
      if (n_ == 1) mult_ = 1;
    }
  }
  uint64_t Next(Rng& rng) const {
    if (!zipf_) return rng.Below(n_);
    uint64_t rank0 = sampler_.Sample(rng) - 1;
    if (mult_ == 0) return rank0;
    return static_cast<uint64_t>((static_cast<U128>(rank0) * mult_) % n_);
  }
  uint64_t n() const { return n_; }

 private:
  uint64_t n_;
  bool zipf_;
  ZipfSampler sampler_;
  uint64_t mult_ = 0;
};

}  // namespace kyrodb::bench
