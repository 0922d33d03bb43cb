#include "http/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kyrodb::http {

ClientKey MakeClientKey(const uint8_t* address, size_t size) {
  ClientKey key;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (size == 16 && std::memcmp(address, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    address += 12;
    size = 4;
  }
  if (size == 4) {
    key.bytes[0] = 4;  // a tag so an IPv4 key never equals an IPv6 /64
    std::memcpy(key.bytes.data() + 1, address, 4);
  } else if (size == 16) {
    key.bytes[0] = 6;
    std::memcpy(key.bytes.data() + 1, address, 8);  // the /64 prefix
  }
  return key;
}

size_t RateLimiter::KeyHash::operator()(const ClientKey& k) const {
  // FNV-1a: the key is at most 9 meaningful bytes.
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : k.bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

RateLimiter::RateLimiter(RateLimitOptions rate, size_t max_clients, Clock clock)
    : rate_(rate),
      max_per_shard_(std::max<size_t>(1, max_clients / kShards)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })),
      shards_(std::make_unique<std::array<Shard, kShards>>()) {
  rate_.burst = std::max(rate_.burst, 1.0);
  idle_after_ = rate_.enabled() ? std::chrono::nanoseconds(static_cast<int64_t>(
                                      std::ceil(rate_.burst / rate_.rps * 1e9)))
                                : std::chrono::nanoseconds(0);
}

void RateLimiter::DropIdle(Shard& shard, std::chrono::steady_clock::time_point now) {
  while (!shard.lru.empty() && now - shard.lru.back().last >= idle_after_) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
  }
}

RateLimiter::Decision RateLimiter::Acquire(const ClientKey& client) {
  if (!rate_.enabled()) return {};
  auto now = clock_();
  Shard& shard = (*shards_)[KeyHash{}(client) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);

  auto it = shard.index.find(client);
  if (it == shard.index.end()) {
    DropIdle(shard, now);
    if (shard.lru.size() >= max_per_shard_) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
    }
    shard.lru.push_front(Bucket{client, rate_.burst, now});
    it = shard.index.emplace(client, shard.lru.begin()).first;
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  }

  Bucket& b = *it->second;
  if (now > b.last) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(rate_.burst, b.tokens + elapsed * rate_.rps);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  double wait = (1.0 - b.tokens) / rate_.rps;
  Decision d;
  d.allowed = false;
  d.retry_after_seconds = static_cast<unsigned>(std::clamp(std::ceil(wait), 1.0, 86400.0));
  return d;
}

size_t RateLimiter::TrackedClients() const {
  size_t n = 0;
  for (const Shard& s : *shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

}  // namespace kyrodb::http
