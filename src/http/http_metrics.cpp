#include "http/http_metrics.h"

#include <string>

#include "metrics/metrics.h"

namespace kyrodb::http {
namespace {

constexpr const char* kRejectLabels[kRejectReasonCount] = {
    "invalid_key",     "invalid_json",    "bad_request",   "body_too_large",         "header_too_large",
    "value_too_large", "batch_too_large", "unsupported_media_type", "malformed_http", "too_many_connections",
    "timeout",
};

}  // namespace

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("kyrodb_http_requests_total")
                    .Help("HTTP requests answered, by route pattern, method and status")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("kyrodb_http_request_duration_seconds")
                     .Help("Time from a request fully read to its response written, by route pattern")
                     .Register(registry)),
      rate_limited_family_(prometheus::BuildCounter()
                               .Name("kyrodb_http_rate_limited_total")
                               .Help("Requests refused with 429 by the per-client token buckets, by class")
                               .Register(registry)),
      rejected_family_(prometheus::BuildCounter()
                           .Name("kyrodb_http_rejected_inputs_total")
                           .Help("Requests refused for their input or a limit, by reason")
                           .Register(registry)),
      auth_failures_(prometheus::BuildCounter()
                         .Name("kyrodb_http_auth_failures_total")
                         .Help("Requests refused with 401 or 403")
                         .Register(registry)
                         .Add({})),
      connections_active_(prometheus::BuildGauge()
                              .Name("kyrodb_http_connections_active")
                              .Help("Open client connections")
                              .Register(registry)
                              .Add({})),
      subscribers_active_(prometheus::BuildGauge()
                              .Name("kyrodb_http_subscribers_active")
                              .Help("Open GET /v1/subscribe change streams")
                              .Register(registry)
                              .Add({})),
      subscribers_dropped_(prometheus::BuildCounter()
                               .Name("kyrodb_http_subscribers_dropped_total")
                               .Help("Change streams cut off because the subscriber fell too far behind")
                               .Register(registry)
                               .Add({})),
      durations_by_route_(
          [this] {
            std::vector<prometheus::Histogram*> children;
            for (size_t r = 0; r < kRouteCount; ++r) {
              std::string route(GetRouteInfo(static_cast<RouteId>(r)).pattern);
              children.push_back(&durations_.Add({{"route", route}}, metrics::LatencyBuckets()));
            }
            return children;
          }(),
          metrics::LatencyBuckets()) {
  rate_limited_[0] = &rate_limited_family_.Add({{"class", "data"}});
  rate_limited_[1] = &rate_limited_family_.Add({{"class", "admin"}});
  for (size_t i = 0; i < kRejectReasonCount; ++i) rejected_[i] = &rejected_family_.Add({{"reason", kRejectLabels[i]}});
  metrics::AddScrapeHook(registry, this, [this] { Flush(); });
}

HttpMetrics::~HttpMetrics() { metrics::RemoveScrapeHooks(this); }

size_t HttpMetrics::StatusSlot(unsigned status) {
  for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

namespace {

prometheus::Labels RequestLabels(RouteId route, Method method, unsigned status) {
  return {{"route", std::string(GetRouteInfo(route).pattern)},
          {"method", std::string(MethodLabel(method))},
          {"status", std::to_string(status)}};
}

}  // namespace

void HttpMetrics::ObserveRequest(RouteId route, Method method, unsigned status, double seconds) {
  const size_t r = static_cast<size_t>(route);
  const size_t slot = StatusSlot(status);
  if (slot == kStatuses.size() - 1) {
    requests_.Add(RequestLabels(route, method, status)).Increment();  // rare status: the slow path is fine
  } else {
    requests_by_cell_.Add((r * kMethodCount + static_cast<size_t>(method)) * (kStatuses.size() - 1) + slot);
  }
  durations_by_route_.Observe(r, seconds);
}

void HttpMetrics::Flush() {
  for (size_t cell = 0; cell < kRequestCells; ++cell) {
    const uint64_t n = requests_by_cell_.Drain(cell);
    if (n == 0) continue;
    const size_t slot = cell % (kStatuses.size() - 1);
    const size_t rm = cell / (kStatuses.size() - 1);
    requests_
        .Add(RequestLabels(static_cast<RouteId>(rm / kMethodCount), static_cast<Method>(rm % kMethodCount),
                           kStatuses[slot]))
        .Increment(static_cast<double>(n));
  }
  durations_by_route_.Flush();
}

void HttpMetrics::RateLimited(RateClassLabel rate_class) {
  rate_limited_[static_cast<size_t>(rate_class)]->Increment();
}

void HttpMetrics::Rejected(RejectReason reason) { rejected_[static_cast<size_t>(reason)]->Increment(); }

}  // namespace kyrodb::http
