// The route table (SPEC §2): exact paths, one optional {key} segment, and the
// methods each accepts. Matching is on the raw path; only the {key} segment is
// percent-decoded, by the handler. A path that exists with another method is
// a 405 with Allow; anything else is a 404.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "http/types.h"

namespace kyrodb::http {

enum class RouteId : uint8_t {
  // data
  kPut,
  kGetFast,
  kLookup,
  kKv,
  kBatchPut,
  kBatchGet,
  kScan,
  kSubscribe,
  kReplay,
  // admin
  kOffset,
  kSnapshot,
  kRmiBuild,
  kCompact,
  kWarmup,
  kStats,
  // open
  kHealth,
  kReady,
  kMetrics,
  kBuildInfo,
  kUnmatched,  // label for requests that matched no route
};
inline constexpr size_t kRouteCount = static_cast<size_t>(RouteId::kUnmatched) + 1;

// Rate-limit and auth class of a route.
enum class RouteClass : uint8_t { kData, kAdmin, kOpen };

// Methods we label metrics with; everything else is kOther.
enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kOther };
inline constexpr size_t kMethodCount = static_cast<size_t>(Method::kOther) + 1;

struct RouteInfo {
  RouteId id;
  std::string_view pattern;  // also the metrics/log label
  RouteClass route_class;
  uint8_t methods;           // bit per Method; HEAD is implied by GET
  bool json_body;            // body must be JSON (Content-Type checked)
};

struct RouteMatch {
  enum class Outcome : uint8_t { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  RouteId route = RouteId::kUnmatched;
  std::string_view param;  // raw {key} segment, may be empty
  std::string allow;       // for 405: "GET, HEAD, PUT, DELETE"
};

RouteMatch MatchRoute(bhttp::verb method, std::string_view path);
const RouteInfo& GetRouteInfo(RouteId id);
Method MethodOf(bhttp::verb verb);
std::string_view MethodLabel(Method method);

}  // namespace kyrodb::http
