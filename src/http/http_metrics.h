// The HTTP layer's metric families (SPEC §6), registered on the shared
// registry. Hot paths never look a family up by labels: children are created
// once (per route, per class, per reason) or on first use of a
// route x method x status combination and then reached through an array of
// atomic pointers, because prometheus::Family::Add takes a mutex.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>

#include "http/router.h"

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
  explicit HttpMetrics(prometheus::Registry& registry);
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

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Family<prometheus::Counter>& rate_limited_family_;
  prometheus::Family<prometheus::Counter>& rejected_family_;
  prometheus::Counter& auth_failures_;
  prometheus::Gauge& connections_active_;
  prometheus::Gauge& subscribers_active_;
  prometheus::Counter& subscribers_dropped_;

  std::array<std::atomic<prometheus::Counter*>, kRouteCount * kMethodCount * kStatuses.size()> request_children_{};
  std::array<prometheus::Histogram*, kRouteCount> duration_children_{};
  std::array<prometheus::Counter*, 2> rate_limited_{};
  std::array<prometheus::Counter*, kRejectReasonCount> rejected_{};
};

}  // namespace kyrodb::http
