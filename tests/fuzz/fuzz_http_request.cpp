// fuzz_http_request: one request through the whole front end without a
// socket, as a session handles it: Beast's request parser with the session's
// header and body limits, then HandleRequest (route, auth, limits, media
// type, handler) against an in-memory store, then the response head the
// session would write (AppendResponseHead).
//
// Input: flags u8 | the raw bytes a client sent.
//   flags bit 0: bearer tokens configured ("data-token", "admin-token")
//         bit 1: no store yet (recovery still running)
//         bit 2: the store is read-only
//         bit 3: the next write fails with an I/O error
//         bit 4: tight limits (header 512 B, body 256 B, value 32 B, 4 batch
//                items, scan limit 8, response 256 B), to reach the refusals
//         bit 5: the answer is the last on its connection (Connection: close)
// Each input gets a fresh store (keys 0-7 preloaded) and ServerState, so a
// finding replays alone.
//
// Invariants:
//  - parsing stops at the limits (no header or body above them is accepted);
//  - a parsed request is answered: at once, or through its Reply within 5 s;
//  - no handler throws (HandleRequest would turn that into a 500 "internal");
//    a 5xx comes only from an injected fault, the missing store, or the
//    change stream, which this harness cannot serve (no StreamReply);
//  - an error answer (4xx, 5xx) is application/json holding exactly
//    {"error": {"code": string, "message": non-empty string}}, except the
//    probes' 503 (/health, /ready: {"status": …});
//  - no field name or value of the answer holds CR, LF or NUL (client bytes
//    echoed into a header would otherwise split the response), and the head
//    plus body parse back with Beast's response parser into the same status
//    and body.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "fake_store.h"
#include "fuzz_http_util.h"
#include "fuzz_util.h"
#include "http/api.h"
#include "http/response_head.h"
#include "http/router.h"
#include "log/log.h"

namespace {

namespace http = kyrodb::http;
namespace bhttp = http::bhttp;
namespace asio = boost::asio;
using json = nlohmann::json;

// Feeds all of `bytes` to the parser the way the session's reads would.
// True when a whole request was parsed within the limits.
bool Parse(std::string_view bytes, const http::HttpOptions& o, http::Request* out) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
  parser.body_limit(o.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!parser.is_done()) {
    // Out of bytes, or the parser cannot go on with those left: the client
    // stopped mid-request (the session would wait for more, then time out).
    if (bytes.empty()) return false;
    size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec || used == 0) return false;
  }
  if (parser.is_header_done()) {
    // Beast counts the header's bytes against header_limit as it goes; the
    // body limit is ours to check here.
    FUZZ_CHECK(parser.get().body().size() <= o.max_body_bytes, "body of %zu bytes over the limit %zu",
               parser.get().body().size(), o.max_body_bytes);
  }
  *out = parser.release();
  return true;
}

bool HasBreak(std::string_view s) {
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos ||
         s.find('\0') != std::string_view::npos;
}

void CheckError(const http::Response& res, unsigned status) {
  std::string_view type = http::Sv(res[bhttp::field::content_type]);
  FUZZ_CHECK(type.empty() || type == "application/json", "error %u with Content-Type %.*s", status,
             static_cast<int>(type.size()), type.data());
  json doc = json::parse(res.body(), nullptr, false);
  FUZZ_CHECK(doc.is_object() && doc.size() == 1 && doc.contains("error"), "error %u body is not {\"error\":…}: %s",
             status, res.body().c_str());
  const json& e = doc["error"];
  FUZZ_CHECK(e.is_object() && e.contains("code") && e["code"].is_string() && e.contains("message") &&
                 e["message"].is_string() && !e["message"].get<std::string>().empty(),
             "error %u without code and message: %s", status, res.body().c_str());
}

void CheckHead(const http::Response& res, unsigned version, bool keep_alive, bool head_request) {
  for (const auto& field : res) {
    const std::string_view name = http::Sv(field.name_string());
    FUZZ_CHECK(!HasBreak(name) && !HasBreak(http::Sv(field.value())), "field %.*s carries CR, LF or NUL",
               static_cast<int>(name.size()), name.data());
  }
  std::string wire;
  http::AppendResponseHead(res, version, keep_alive, res.body().size(), &wire);
  const unsigned status = res.result_int();
  const bool has_body = !(status < 200 || status == 204 || status == 304);
  if (has_body && !head_request) wire += res.body();

  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head_request);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(asio::buffer(wire), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  FUZZ_CHECK(!ec && parser.is_done(), "the answer does not parse back: %s\n%s", ec.message().c_str(), wire.c_str());
  FUZZ_CHECK(used == wire.size(), "the answer parses back in %zu of %zu bytes:\n%s", used, wire.size(),
             wire.c_str());
  FUZZ_CHECK(parser.get().result_int() == status, "status %u parses back as %u", status,
             parser.get().result_int());
  if (has_body && !head_request) {
    FUZZ_CHECK(parser.get().body() == res.body(), "the body does not parse back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  kyrodb::log::Init("off");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const http::HttpOptions options = http::fuzz::Options((flags & 0x01) != 0, (flags & 0x10) != 0);
  http::Request req;
  if (!Parse(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), options, &req)) return 0;
  const bool head_request = req.method() == bhttp::verb::head;
  const unsigned version = req.version() == 10 ? 10 : 11;

  http::testing::FakeStore store;
  store.writable = (flags & 0x04) == 0;
  if (flags & 0x08) store.next_write_status = kyrodb::Status::IOError("injected");
  // Something to read: keys 0-7 (0 with an empty value, 7 with one past the
  // tight limits' response bound).
  for (uint64_t k = 0; k < 8; ++k) store.Preload(k, k == 7 ? std::string(300, 'v') : std::string(k, 'a' + k));
  prometheus::Registry registry;
  http::ServerState state(options, registry);
  state.run_blocking = [](std::function<void()> task) { task(); };
  if ((flags & 0x02) == 0) state.store.store(&store);
  state.ready.store((flags & 0x02) == 0);

  auto promise = std::make_shared<std::promise<http::Response>>();
  http::Reply reply = [promise](http::Response r) { promise->set_value(std::move(r)); };
  http::ClientInfo client;
  client.address = "127.0.0.1";
  http::RequestMeta meta;
  std::optional<http::Response> now = http::HandleRequest(state, req, client, &meta, reply);
  http::Response res;
  if (now) {
    res = std::move(*now);
  } else {
    std::future<http::Response> later = promise->get_future();
    FUZZ_CHECK(later.wait_for(std::chrono::seconds(5)) == std::future_status::ready, "no answer for %s",
               std::string(http::GetRouteInfo(meta.route).pattern).c_str());
    res = later.get();
  }

  const unsigned status = res.result_int();
  FUZZ_CHECK(status >= 200 && status <= 599, "status %u", status);
  // The probes answer 503 with their own {"status": …} body, which is what
  // load balancers and orchestrators read.
  const bool probe = meta.route == http::RouteId::kHealth || meta.route == http::RouteId::kReady;
  if (status >= 400 && !(probe && status == 503)) CheckError(res, status);
  if (status >= 500) {
    const bool injected = (flags & 0x0e) != 0 || probe;
    const bool stream = meta.route == http::RouteId::kSubscribe;
    FUZZ_CHECK(injected || stream, "%u on %s without a fault: %s", status,
               std::string(http::GetRouteInfo(meta.route).pattern).c_str(), res.body().c_str());
  }
  CheckHead(res, version, (flags & 0x20) == 0, head_request);
  return 0;
}
