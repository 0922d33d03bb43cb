// The message types every part of the HTTP layer shares. Kept apart from the
// Asio/session code so handlers and tests compile without sockets.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>
#include <string_view>

namespace kyrodb::http {

namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// Beast 1.74 hands out boost::string_view; the rest of the code uses std.
inline std::string_view Sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

// Completes an asynchronous request. May be called from any thread (the WAL
// thread, the blocking pool); the session posts the response back to its own
// strand. Called exactly once.
using Reply = std::function<void(Response)>;

class StreamSource;  // stream_source.h

// Completes a request whose answer is a stream (GET /v1/subscribe): `header`
// is the response header (its body is ignored) and `source` produces the body
// over time. Called instead of Reply, exactly once, from any thread.
using StreamReply = std::function<void(Response header, std::shared_ptr<StreamSource> source)>;

}  // namespace kyrodb::http
