#include "http/router.h"

#include <array>

namespace kyrodb::http {
namespace {

constexpr uint8_t Bit(Method m) { return static_cast<uint8_t>(1u << static_cast<unsigned>(m)); }
constexpr uint8_t kGet = Bit(Method::kGet);
constexpr uint8_t kPost = Bit(Method::kPost);
constexpr uint8_t kPut = Bit(Method::kPut);
constexpr uint8_t kDelete = Bit(Method::kDelete);

// In RouteId order. A pattern ending in "{key}" matches its prefix plus one
// segment without '/'.
constexpr std::array<RouteInfo, kRouteCount> kRoutes = {{
    {RouteId::kPut, "/v1/put", RouteClass::kData, kPost, true},
    {RouteId::kGetFast, "/v1/get_fast/{key}", RouteClass::kData, kGet, false},
    {RouteId::kLookup, "/v1/lookup", RouteClass::kData, kGet, false},
    {RouteId::kKv, "/v1/kv/{key}", RouteClass::kData, kGet | kPut | kDelete, false},
    {RouteId::kBatchPut, "/v1/batch/put", RouteClass::kData, kPost, true},
    {RouteId::kBatchGet, "/v1/batch/get", RouteClass::kData, kPost, true},
    {RouteId::kScan, "/v1/scan", RouteClass::kData, kGet, false},
    {RouteId::kSubscribe, "/v1/subscribe", RouteClass::kData, kGet, false},
    {RouteId::kReplay, "/v1/replay", RouteClass::kData, kGet, false},
    {RouteId::kOffset, "/v1/offset", RouteClass::kAdmin, kGet, false},
    {RouteId::kSnapshot, "/v1/snapshot", RouteClass::kAdmin, kPost, false},
    {RouteId::kRmiBuild, "/v1/rmi/build", RouteClass::kAdmin, kPost, false},
    {RouteId::kCompact, "/v1/compact", RouteClass::kAdmin, kPost, false},
    {RouteId::kWarmup, "/v1/warmup", RouteClass::kAdmin, kPost, false},
    {RouteId::kStats, "/v1/stats", RouteClass::kAdmin, kGet, false},
    {RouteId::kHealth, "/health", RouteClass::kOpen, kGet, false},
    {RouteId::kReady, "/ready", RouteClass::kOpen, kGet, false},
    {RouteId::kMetrics, "/metrics", RouteClass::kOpen, kGet, false},
    {RouteId::kBuildInfo, "/build_info", RouteClass::kOpen, kGet, false},
    {RouteId::kUnmatched, "unmatched", RouteClass::kOpen, 0, false},
}};

constexpr std::string_view kParam = "{key}";

// "GET, HEAD, PUT, DELETE"
std::string AllowHeader(uint8_t methods) {
  std::string allow;
  auto add = [&](std::string_view m) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  };
  if (methods & kGet) {
    add("GET");
    add("HEAD");
  }
  if (methods & kPost) add("POST");
  if (methods & kPut) add("PUT");
  if (methods & kDelete) add("DELETE");
  return allow;
}

bool Allows(const RouteInfo& r, Method m) {
  if (m == Method::kHead) m = Method::kGet;
  return m != Method::kOther && (r.methods & Bit(m)) != 0;
}

}  // namespace

Method MethodOf(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::delete_:
      return Method::kDelete;
    default:
      return Method::kOther;
  }
}

std::string_view MethodLabel(Method method) {
  static constexpr std::string_view kLabels[kMethodCount] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OTHER"};
  return kLabels[static_cast<size_t>(method)];
}

const RouteInfo& GetRouteInfo(RouteId id) { return kRoutes[static_cast<size_t>(id)]; }

RouteMatch MatchRoute(bhttp::verb verb, std::string_view path) {
  RouteMatch match;
  for (const RouteInfo& r : kRoutes) {
    if (r.id == RouteId::kUnmatched) break;
    std::string_view param;
    std::string_view pattern = r.pattern;
    if (pattern.size() > kParam.size() && pattern.substr(pattern.size() - kParam.size()) == kParam) {
      std::string_view prefix = pattern.substr(0, pattern.size() - kParam.size());
      if (path.substr(0, prefix.size()) != prefix) continue;
      param = path.substr(prefix.size());
      if (param.find('/') != std::string_view::npos) continue;
    } else if (path != pattern) {
      continue;
    }
    match.route = r.id;
    match.param = param;
    if (Allows(r, MethodOf(verb))) {
      match.outcome = RouteMatch::Outcome::kFound;
    } else {
      match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
      match.allow = AllowHeader(r.methods);
    }
    return match;
  }
  return match;
}

}  // namespace kyrodb::http
