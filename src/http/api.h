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
  // Runs Store::ReadLog (replay, a subscriber's history) off the I/O threads,
  // on a pool of its own so a long checkpoint never delays a reader. Unset
  // (tests): run_blocking is used.
  std::function<void(std::function<void()>)> run_reader;
  // Open change streams, against HttpOptions::max_subscribers.
  std::atomic<size_t> subscribers{0};
  // Provided by the index layer through main (see simd_level.h); nullptr in
  // tests.
  const char* (*simd_level_name)() = nullptr;
};

// Runs `task` through state.run_reader, else run_blocking, else inline.
void RunReader(ServerState& state, std::function<void()> task);

struct ClientInfo {
  ClientKey key;
  std::string address;  // for logs
};

// Filled in by HandleRequest for the session's metrics and log line.
struct RequestMeta {
  RouteId route = RouteId::kUnmatched;
  Method method = Method::kOther;
};

// What the session must know about a request before dispatching it (one
// route match for both):
// - write: a route that writes through the store asynchronously (put, batch
//   put, PUT/DELETE /v1/kv/{key}). The session lets pipelined writes overlap
//   (they group-commit together) but makes anything else wait for the writes
//   before it, so a pipelined read sees the connection's earlier writes.
// - stream: GET /v1/subscribe. Its answer may be a stream that keeps the
//   connection, so the session reads no request after it (a pipelined
//   request behind a subscribe is never served).
struct RequestKind {
  bool write = false;
  bool stream = false;
};
RequestKind ClassifyRequest(const Request& req);
inline bool IsWriteRequest(const Request& req) { return ClassifyRequest(req).write; }
inline bool IsStreamRequest(const Request& req) { return ClassifyRequest(req).stream; }

// Where a handler that answers later gets its callback. Asked only when a
// handler does answer later: most requests (reads) answer at once, and a
// Reply costs an allocation.
class ReplyFactory {
 public:
  virtual Reply MakeReply() = 0;
  // May return an empty function (no socket to stream to: unit tests).
  virtual StreamReply MakeStreamReply() = 0;

 protected:
  ~ReplyFactory() = default;
};

// Returns the response now, or nullopt when the handler has taken a Reply
// (or, for a stream, a StreamReply) from `replies` and will call it later,
// from any thread. Without a StreamReply a subscribe is refused with a 500.
// With `pinned_body`, a response made of a stored value's bytes (GET
// /v1/get_fast/{key}, GET /v1/kv/{key}) comes back with an empty body and the
// value in *pinned_body, pinned: the caller sends those bytes and then drops
// the pin. Never throws.
std::optional<Response> HandleRequest(ServerState& state, Request& req, const ClientInfo& client, RequestMeta* meta,
                                      ReplyFactory& replies, ValueRef* pinned_body = nullptr);
// The same with fixed callbacks (tests).
std::optional<Response> HandleRequest(ServerState& state, Request& req, const ClientInfo& client, RequestMeta* meta,
                                      const Reply& reply, const StreamReply& stream_reply = StreamReply());

}  // namespace kyrodb::http
