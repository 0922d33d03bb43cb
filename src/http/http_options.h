// HttpOptions: how the HTTP front end behaves. Filled from flags and KYRODB_*
// variables by src/config/; every field has a production default so tests can
// build one directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace kyrodb::http {

// One token bucket per client IP and class. rps == 0 means unlimited.
struct RateLimitOptions {
  double rps = 0;
  double burst = 0;  // bucket capacity; config derives it from rps when unset
  bool enabled() const { return rps > 0; }
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 3030;  // 0 asks the OS for a free port (logged at start)
  unsigned threads = 1;  // I/O threads running the io_context

  // Request limits. A header over the limit is a 431, a body a 413.
  size_t max_header_bytes = 16u << 10;
  size_t max_body_bytes = (2u << 20) + (64u << 10);
  // Mirrors kyrodb::Options::max_value_bytes so an oversized value is a 413
  // naming the limit before the store sees it.
  size_t max_value_bytes = 1u << 20;
  size_t max_batch_items = 1000;
  size_t max_scan_limit = 1000;
  size_t default_scan_limit = 100;
  // Bound on the values one response carries: a scan page is cut there (with
  // a `next` cursor), a batch get above it is refused. Without it, 1000 keys
  // of 1 MiB values would be a 1 GiB response.
  size_t max_response_bytes = 64u << 20;

  // GET /v1/replay: writes per response (limit=), also cut at
  // max_response_bytes; X-KyroDB-Next says where to resume.
  size_t default_replay_limit = 1000;
  size_t max_replay_limit = 10000;

  // GET /v1/subscribe. Each stream holds a connection and a store
  // subscription; beyond this many, new ones get a 503.
  size_t max_subscribers = 64;
  // Live writes a subscriber may have pending (not yet taken by its socket)
  // before it is cut off with a final error event. The writer never waits.
  size_t subscriber_buffer_bytes = 8u << 20;
  // A comment line on a stream with nothing else to send, so proxies and
  // clients with idle timeouts keep it open.
  std::chrono::milliseconds stream_heartbeat{15000};

  // Connections over the limit get a 503 and are closed.
  size_t max_connections = 1024;
  // A request (header, then body) must arrive within read_timeout of its
  // first byte; a keep-alive connection may wait idle_timeout for the next
  // one. Each bounds how long a slow client can hold a connection.
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  // A response must be taken by the client within this time.
  std::chrono::milliseconds write_timeout{30000};
  // On SIGTERM, in-flight requests get this long to finish.
  std::chrono::milliseconds shutdown_timeout{10000};
  // Requests read ahead of their responses on one connection (pipelining).
  size_t max_pipelined = 16;

  // Bearer tokens; empty means auth is off for that class of routes.
  std::string auth_token;
  std::string admin_token;

  RateLimitOptions data_rate;
  RateLimitOptions admin_rate;
  // Bound on the number of client IPs tracked per rate class.
  size_t rate_limit_max_clients = 65536;

  // One "http_request" log line per request.
  bool access_log = true;
};

}  // namespace kyrodb::http
