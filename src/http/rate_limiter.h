// Per-client token buckets (SPEC §2): one RateLimiter per rate class.
//
// Each client key starts with a full bucket of `burst` tokens that refills at
// `rps` per second; a request takes one token or is refused with the time
// until the next token (Retry-After).
//
// Memory is bounded: the table holds at most `max_clients` buckets, kept in
// least-recently-used order. A bucket idle long enough to have refilled
// completely is indistinguishable from a new one, so it is dropped; when the
// table is full of active clients the least recently used is dropped (that
// client gets a fresh bucket: lenient, never unbounded).
//
// IPv6 clients are keyed by their /64, which one host can fill with
// addresses at will. Thread-safe; sharded so I/O threads rarely contend.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "http/http_options.h"

namespace kyrodb::http {

// A client address reduced to what the limiter keys on.
struct ClientKey {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const ClientKey&) const = default;
};

// From an IPv4 (4 bytes) or IPv6 (16 bytes, network order) address.
// IPv4-mapped IPv6 addresses count as their IPv4 address.
ClientKey MakeClientKey(const uint8_t* address, size_t size);

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Decision {
    bool allowed = true;
    unsigned retry_after_seconds = 0;  // when refused: whole seconds, >= 1
  };

  // rate.rps == 0: every request is allowed and nothing is tracked.
  RateLimiter(RateLimitOptions rate, size_t max_clients, Clock clock = {});

  Decision Acquire(const ClientKey& client);

  bool enabled() const { return rate_.enabled(); }
  // Buckets currently tracked (for tests and a gauge).
  size_t TrackedClients() const;

 private:
  static constexpr size_t kShards = 16;

  struct KeyHash {
    size_t operator()(const ClientKey& k) const;
  };
  struct Bucket {
    ClientKey key;
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Bucket> lru;  // front: most recently used
    std::unordered_map<ClientKey, std::list<Bucket>::iterator, KeyHash> index;
  };

  void DropIdle(Shard& shard, std::chrono::steady_clock::time_point now);

  RateLimitOptions rate_;
  size_t max_per_shard_;
  std::chrono::nanoseconds idle_after_;  // time to refill an empty bucket
  Clock clock_;
  std::unique_ptr<std::array<Shard, kShards>> shards_;
};

}  // namespace kyrodb::http
