// The HTTP layer's metric families (SPEC §6), registered on the shared
// registry. Hot paths never look a family up by labels (prometheus::Family::Add
// takes a mutex) nor take a lock: every request adds to its thread's shard of
// the route x method x status counters and the per-route latency histograms
// (metrics/sharded.h), which a scrape (metrics::Collect) moves into the
// children. Children exist per route, class and reason from the start; a
// route x method x status child on the first scrape after its first request.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>

#include "http/router.h"
#include "metrics/sharded.h"

namespace kyrodb::http {

enum class RateClassLabel : uint8_t { kData, kAdmin };

// Why a request was refused before a handler ran (label "reason").
enum class RejectReason : uint8_t {
  kInvalidKey,
  kInvalidJson,
  kBadRequest,
  kBodyTooLarge,
  kHeaderTooLarge,
  kValueTooLarge,
  kBatchTooLarge,
  kUnsupportedMediaType,
  kMalformedHttp,
  kTooManyConnections,
  kTimeout,
};
inline constexpr size_t kRejectReasonCount = static_cast<size_t>(RejectReason::kTimeout) + 1;

class HttpMetrics {
 public:
  // Registers the scrape hook that flushes the shards.
  explicit HttpMetrics(prometheus::Registry& registry);
  ~HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  void ObserveRequest(RouteId route, Method method, unsigned status, double seconds);
  void RateLimited(RateClassLabel rate_class);
  void AuthFailure() { auth_failures_.Increment(); }
  void Rejected(RejectReason reason);
  prometheus::Gauge& connections_active() { return connections_active_; }
  prometheus::Gauge& subscribers_active() { return subscribers_active_; }
  void SubscriberDropped() { subscribers_dropped_.Increment(); }

 private:
  // Statuses the API produces; any other lands in a slot looked up each time.
  static constexpr std::array<unsigned, 17> kStatuses = {200, 204, 304, 400, 401, 403, 404, 405, 408,
                                                         410, 413, 415, 429, 431, 500, 503, 0};
  static size_t StatusSlot(unsigned status);
  static constexpr size_t kRequestCells = kRouteCount * kMethodCount * (kStatuses.size() - 1);
  // The scrape hook: shard counts into the children.
  void Flush();

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& rate_limited_family_;
  prometheus::Family<prometheus::Counter>& rejected_family_;
  prometheus::Counter& auth_failures_;
  prometheus::Gauge& connections_active_;
  prometheus::Gauge& subscribers_active_;
  prometheus::Counter& subscribers_dropped_;

  metrics::ShardedCells requests_by_cell_{kRequestCells};  // (route, method, status slot) -> count
  metrics::ShardedHistograms durations_by_route_;
  std::array<prometheus::Counter*, 2> rate_limited_{};
  std::array<prometheus::Counter*, kRejectReasonCount> rejected_{};
};

}  // namespace kyrodb::http
