#include "http/api.h"

#include <array>
#include <cctype>
#include <exception>
#include <string>

#include "http/auth.h"
#include "http/errors.h"
#include "http/handlers.h"
#include "http/key_parse.h"
#include "http/url.h"
#include "log/log.h"

namespace kyrodb::http {
namespace {

// In RouteId order.
constexpr std::array<Handler, kRouteCount - 1> kHandlers = {
    HandlePut,      HandleGetFast,   HandleLookup, HandleKv,       HandleBatchPut, HandleBatchGet,
    HandleScan,     HandleSubscribe, HandleReplay, HandleOffset,   HandleSnapshot, HandleRmiBuild,
    HandleCompact,  HandleWarmup,    HandleStats,  HandleHealth,   HandleReady,    HandleMetrics,
    HandleBuildInfo,
};

// Content types a JSON route accepts. Beyond application/json (and
// application/*+json) we take what common tools send by default for a JSON
// string: `curl -d` sends application/x-www-form-urlencoded (the reference
// README's auth example does exactly that), and browsers' fetch() with a
// string body sends text/plain. Rejecting those would break the documented
// examples for no gain: the body is parsed as strict JSON either way. Types
// that clearly carry something else (multipart/form-data from curl -F,
// application/octet-stream, XML, ...) are a 415.
bool AcceptsAsJson(std::string_view content_type) {
  std::string type;
  for (char c : content_type.substr(0, content_type.find(';'))) {
    if (c != ' ' && c != '\t') type.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (type.empty() || type == "application/json" || type == "application/x-www-form-urlencoded" ||
      type == "text/plain") {
    return true;
  }
  constexpr std::string_view kSuffix = "+json";
  return type.rfind("application/", 0) == 0 && type.size() > kSuffix.size() &&
         type.compare(type.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

Response AuthError(AuthResult result) {
  if (result == AuthResult::kForbidden) {
    return MakeError(bhttp::status::forbidden, "forbidden", "admin routes need KYRODB_ADMIN_TOKEN");
  }
  Response res = MakeError(bhttp::status::unauthorized, "unauthorized",
                           result == AuthResult::kMissing ? "missing Authorization: Bearer token"
                                                          : "invalid Bearer token");
  res.set(bhttp::field::www_authenticate, result == AuthResult::kMissing
                                              ? "Bearer realm=\"kyrodb\""
                                              : "Bearer realm=\"kyrodb\", error=\"invalid_token\"");
  return res;
}

std::optional<Response> Dispatch(ServerState& state, Request& req, const ClientInfo& client, RequestMeta* meta,
                                 ReplyFactory& replies, ValueRef* pinned_body) {
  Target target = SplitTarget(Sv(req.target()));
  RouteMatch match = MatchRoute(req.method(), target.path);
  meta->route = match.route;
  if (match.outcome == RouteMatch::Outcome::kNotFound) {
    return MakeError(bhttp::status::not_found, "not_found",
                     "no route " + std::string(req.method_string()) + " " + QuoteForMessage(target.path));
  }
  const RouteInfo& info = GetRouteInfo(match.route);
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    Response res = MakeError(bhttp::status::method_not_allowed, "method_not_allowed",
                             std::string(req.method_string()) + " is not allowed on " + std::string(info.pattern) +
                                 "; allowed: " + match.allow);
    res.set(bhttp::field::allow, match.allow);
    return res;
  }

  if (info.route_class != RouteClass::kOpen) {
    // Rate limit before auth, so guessing tokens is rate limited too.
    bool admin = info.route_class == RouteClass::kAdmin;
    RateLimiter& limiter = admin ? state.admin_limiter : state.data_limiter;
    RateLimiter::Decision decision = limiter.Acquire(client.key);
    if (!decision.allowed) {
      state.metrics.RateLimited(admin ? RateClassLabel::kAdmin : RateClassLabel::kData);
      const RateLimitOptions& rate = admin ? state.options.admin_rate : state.options.data_rate;
      return MakeRetryError(bhttp::status::too_many_requests, "rate_limited",
                            std::string("over the ") + (admin ? "admin" : "data") + " rate limit of " +
                                std::to_string(rate.rps) + " requests/s (KYRODB_RL_" + (admin ? "ADMIN" : "DATA") +
                                "_RPS) for this client",
                            decision.retry_after_seconds);
    }
    AuthResult auth = Authorize(info.route_class, Sv(req[bhttp::field::authorization]), state.options.auth_token,
                                state.options.admin_token);
    if (auth != AuthResult::kAllowed) {
      state.metrics.AuthFailure();
      // Never the header: it may hold a real token sent to the wrong route.
      log::Info("http_auth_failed", {{"remote", client.address},
                                     {"route", info.pattern},
                                     {"reason", auth == AuthResult::kMissing     ? "missing"
                                                : auth == AuthResult::kInvalid ? "invalid"
                                                                                : "forbidden"}});
      return AuthError(auth);
    }
  }

  QueryParams query;
  std::string error;
  if (!query.Parse(target.query, &error)) {
    state.metrics.Rejected(RejectReason::kBadRequest);
    return MakeError(bhttp::status::bad_request, "bad_request", error);
  }

  kyrodb::Store* store = state.store.load(std::memory_order_acquire);
  if (info.route_class != RouteClass::kOpen && store == nullptr) {
    return MakeRetryError(bhttp::status::service_unavailable, "unavailable",
                          "the store is starting (recovery in progress)", 1);
  }
  if (info.json_body && !AcceptsAsJson(Sv(req[bhttp::field::content_type]))) {
    state.metrics.Rejected(RejectReason::kUnsupportedMediaType);
    return MakeError(bhttp::status::unsupported_media_type, "unsupported_media_type",
                     "Content-Type " + QuoteForMessage(Sv(req[bhttp::field::content_type])) + " is not accepted on " +
                         std::string(info.pattern) + "; send application/json");
  }

  HandlerArgs args{state, store, req, match.param, query, replies, pinned_body};
  return kHandlers[static_cast<size_t>(match.route)](args);
}

}  // namespace

RequestKind ClassifyRequest(const Request& req) {
  RequestKind kind;
  RouteMatch match = MatchRoute(req.method(), SplitTarget(Sv(req.target())).path);
  if (match.outcome != RouteMatch::Outcome::kFound) return kind;
  switch (match.route) {
    case RouteId::kPut:
    case RouteId::kBatchPut:
      kind.write = true;
      break;
    case RouteId::kKv:
      kind.write = req.method() == bhttp::verb::put || req.method() == bhttp::verb::delete_;
      break;
    case RouteId::kSubscribe:
      kind.stream = req.method() == bhttp::verb::get;
      break;
    default:
      break;
  }
  return kind;
}

void RunReader(ServerState& state, std::function<void()> task) {
  if (state.run_reader) return state.run_reader(std::move(task));
  if (state.run_blocking) return state.run_blocking(std::move(task));
  task();
}

ServerState::ServerState(HttpOptions opts, prometheus::Registry& reg, RateLimiter::Clock clock)
    : options(std::move(opts)),
      registry(reg),
      metrics(reg),
      data_limiter(options.data_rate, options.rate_limit_max_clients, clock),
      admin_limiter(options.admin_rate, options.rate_limit_max_clients, clock) {}

std::optional<Response> HandleRequest(ServerState& state, Request& req, const ClientInfo& client, RequestMeta* meta,
                                      const Reply& reply, const StreamReply& stream_reply) {
  struct Fixed final : ReplyFactory {
    Fixed(const Reply& r, const StreamReply& s) : reply(r), stream_reply(s) {}
    Reply MakeReply() override { return reply; }
    StreamReply MakeStreamReply() override { return stream_reply; }
    const Reply& reply;
    const StreamReply& stream_reply;
  } replies(reply, stream_reply);
  return HandleRequest(state, req, client, meta, replies);
}

std::optional<Response> HandleRequest(ServerState& state, Request& req, const ClientInfo& client, RequestMeta* meta,
                                      ReplyFactory& replies, ValueRef* pinned_body) {
  meta->method = MethodOf(req.method());
  try {
    return Dispatch(state, req, client, meta, replies, pinned_body);
  } catch (const std::exception& e) {
    log::Error("http_handler_failed", {{"route", GetRouteInfo(meta->route).pattern}, {"what", e.what()}});
    return MakeError(bhttp::status::internal_server_error, "internal", "internal error");
  }
}

}  // namespace kyrodb::http
