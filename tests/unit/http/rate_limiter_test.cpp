// Token buckets with an injected clock: burst, refill, Retry-After, per-client
// isolation, and the bounded table.
#include "http/rate_limiter.h"

#include <gtest/gtest.h>

#include <memory>

namespace kyrodb::http {
namespace {

using namespace std::chrono_literals;

class FakeClock {
 public:
  RateLimiter::Clock AsClock() {
    return [t = now_] { return *t; };
  }
  void Advance(std::chrono::nanoseconds d) { *now_ += d; }

 private:
  std::shared_ptr<std::chrono::steady_clock::time_point> now_ =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::time_point{} + 1000h);
};

ClientKey V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  uint8_t ip[4] = {a, b, c, d};
  return MakeClientKey(ip, 4);
}

TEST(RateLimiter, DisabledAllowsEverythingAndTracksNothing) {
  RateLimiter rl(RateLimitOptions{0, 0}, 100);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(rl.Acquire(V4(10, 0, 0, 1)).allowed);
  EXPECT_EQ(rl.TrackedClients(), 0u);
  EXPECT_FALSE(rl.enabled());
}

TEST(RateLimiter, BurstThenRefill) {
  FakeClock clock;
  RateLimiter rl(RateLimitOptions{2, 5}, 100, clock.AsClock());
  auto ip = V4(10, 0, 0, 1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.Acquire(ip).allowed) << i;
  auto refused = rl.Acquire(ip);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1u) << "half a second to the next token rounds up to 1";
  clock.Advance(499ms);
  EXPECT_FALSE(rl.Acquire(ip).allowed);
  clock.Advance(2ms);
  EXPECT_TRUE(rl.Acquire(ip).allowed) << "one token after 0.5 s at 2 rps";
  EXPECT_FALSE(rl.Acquire(ip).allowed);
  clock.Advance(1h);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.Acquire(ip).allowed) << "refills only up to the burst";
  EXPECT_FALSE(rl.Acquire(ip).allowed);
}

TEST(RateLimiter, RetryAfterForSlowRates) {
  FakeClock clock;
  RateLimiter rl(RateLimitOptions{0.1, 1}, 100, clock.AsClock());
  auto ip = V4(10, 0, 0, 1);
  EXPECT_TRUE(rl.Acquire(ip).allowed);
  auto d = rl.Acquire(ip);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_seconds, 10u);
  clock.Advance(4s);
  EXPECT_EQ(rl.Acquire(ip).retry_after_seconds, 6u);
}

TEST(RateLimiter, ClientsAreIndependent) {
  FakeClock clock;
  RateLimiter rl(RateLimitOptions{1, 1}, 100, clock.AsClock());
  EXPECT_TRUE(rl.Acquire(V4(10, 0, 0, 1)).allowed);
  EXPECT_FALSE(rl.Acquire(V4(10, 0, 0, 1)).allowed);
  EXPECT_TRUE(rl.Acquire(V4(10, 0, 0, 2)).allowed);
}

TEST(RateLimiter, Ipv6SharesABucketPer64AndMappedV4IsV4) {
  FakeClock clock;
  RateLimiter rl(RateLimitOptions{1, 1}, 100, clock.AsClock());
  uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0xff, 0xff, 1, 2, 3, 4, 5, 6};
  uint8_t c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_TRUE(rl.Acquire(MakeClientKey(a, 16)).allowed);
  EXPECT_FALSE(rl.Acquire(MakeClientKey(b, 16)).allowed) << "same /64";
  EXPECT_TRUE(rl.Acquire(MakeClientKey(c, 16)).allowed) << "another /64";

  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  EXPECT_EQ(MakeClientKey(mapped, 16), V4(192, 0, 2, 7));
  uint8_t v4_prefix_like[16] = {192, 0, 2, 7};
  EXPECT_FALSE(MakeClientKey(v4_prefix_like, 16) == V4(192, 0, 2, 7));
}

TEST(RateLimiter, TableIsBoundedUnderManyClients) {
  FakeClock clock;
  RateLimiter rl(RateLimitOptions{1, 1}, 1600, clock.AsClock());
  for (int i = 0; i < 100000; ++i) {
    rl.Acquire(V4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)));
  }
  EXPECT_LE(rl.TrackedClients(), 1600u);
  EXPECT_GT(rl.TrackedClients(), 0u);
}

TEST(RateLimiter, IdleBucketsExpire) {
  FakeClock clock;
  RateLimiter rl(RateLimitOptions{10, 20}, 1600, clock.AsClock());
  for (int i = 0; i < 500; ++i) rl.Acquire(V4(10, 1, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)));
  EXPECT_EQ(rl.TrackedClients(), 500u);
  clock.Advance(2s + 1ms);  // burst / rps: every bucket has refilled
  // New clients sweep idle ones out of the shards they land in.
  for (int i = 0; i < 64; ++i) rl.Acquire(V4(10, 2, 0, static_cast<uint8_t>(i)));
  EXPECT_LT(rl.TrackedClients(), 200u);
  // An expired client starts again with a full bucket.
  auto ip = V4(10, 1, 0, 1);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(rl.Acquire(ip).allowed) << i;
  EXPECT_FALSE(rl.Acquire(ip).allowed);
}

}  // namespace
}  // namespace kyrodb::http
