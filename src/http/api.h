// The request pipeline without sockets: route -> rate limit -> auth -> store
// readiness -> media type -> handler. The session feeds parsed requests in and
// writes whatever comes out; tests drive it directly with a fake Store.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "http/http_metrics.h"
#include "http/http_options.h"
#include "http/rate_limiter.h"
#include "http/router.h"
#include "http/types.h"
#include "kyrodb/store.h"

namespace kyrodb::http {

// What the handlers share. Built once by the Server; outlives every session.
struct ServerState {
  ServerState(HttpOptions opts, prometheus::Registry& reg, RateLimiter::Clock clock = {});

  const HttpOptions options;
  prometheus::Registry& registry;
  HttpMetrics metrics;
  RateLimiter data_limiter;
  RateLimiter admin_limiter;

  // Set once Store::Open has succeeded; /v1 routes answer 503 until then.
  std::atomic<kyrodb::Store*> store{nullptr};
  // Recovery, first index and warm-up are done: /ready answers 200.
  std::atomic<bool> ready{false};
  // SIGTERM received: /health and /ready answer 503, responses close.
  std::atomic<bool> draining{false};

  // Runs blocking work (Checkpoint, Warmup) off the I/O threads. The function
  // must run the task exactly once, eventually.
  std::function<void(std::function<void()>)> run_blocking;
  // Provided by the index layer through main (see simd_level.h); nullptr in
  // tests.
  const char* (*simd_level_name)() = nullptr;
};

struct ClientInfo {
  ClientKey key;
  std::string address;  // for logs
};

// Filled in by HandleRequest for the session's metrics and log line.
struct RequestMeta {
  RouteId route = RouteId::kUnmatched;
  Method method = Method::kOther;
};

// True for the routes that write through the store asynchronously (put,
// batch put, PUT/DELETE /v1/kv/{key}). The session lets pipelined writes
// overlap (they group-commit together) but makes anything else wait for the
// writes before it, so a pipelined read sees the connection's earlier writes.
bool IsWriteRequest(const Request& req);

// Returns the response now, or nullopt when the handler has taken `reply` and
// will call it later, from any thread. Never throws.
std::optional<Response> HandleRequest(ServerState& state, Request& req, const ClientInfo& client, RequestMeta* meta,
                                      const Reply& reply);

}  // namespace kyrodb::http
