#include "support/http_client.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace kyrodb::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// Boost 1.74's Beast takes boost::string_view, not std::string_view.
beast::string_view Bsv(std::string_view s) { return {s.data(), s.size()}; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Responses up to this size are read whole (values are ≤ 1 MiB by default;
// scans and metrics can be larger).
constexpr uint64_t kMaxResponseBody = 256ull << 20;

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return "";
}

bool HttpResponse::HasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& kv) { return IEquals(kv.first, name); });
}

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string HttpResponse::Describe() const {
  if (status == 0) return "no response: " + error;
  std::string out = "status " + std::to_string(status) + ", content-type '" + Header("Content-Type") + "', body (" +
                    std::to_string(body.size()) + " bytes): ";
  out += body.size() > 400 ? body.substr(0, 400) + "..." : body;
  return out;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> stream;  // OpenStream's response

  // Runs one async operation to completion or until `timeout`; on timeout
  // the socket is closed (which aborts the operation) and timed_out returned.
  // With `keep_open`, a timeout cancels the operation instead of closing the
  // socket (for stream reads that simply found nothing yet).
  template <class Start>
  error_code Run(std::chrono::milliseconds timeout, Start start, bool keep_open = false) {
    bool done = false;
    error_code result;
    ioc.restart();
    start([&](error_code ec, std::size_t /*bytes*/) {
      result = ec;
      done = true;
    });
    ioc.run_for(timeout);
    if (!done) {
      error_code ignored;
      if (keep_open) {
        socket.cancel(ignored);
      } else {
        socket.close(ignored);
      }
      ioc.restart();
      ioc.run();  // lets the aborted handler run; bounded: the socket is closed
      return asio::error::timed_out;
    }
    return result;
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { Close(); }

bool HttpClient::connected() const { return impl_->socket.is_open(); }

void HttpClient::Close() {
  error_code ignored;
  impl_->stream.reset();
  if (impl_->socket.is_open()) {
    impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
    impl_->socket.close(ignored);
  }
  impl_->buffer.clear();
}

bool HttpClient::Connect(std::string* error) {
  Close();
  error_code ec;
  const auto address = asio::ip::make_address(host_, ec);
  if (ec) {
    if (error != nullptr) *error = "bad host '" + host_ + "': " + ec.message();
    return false;
  }
  const tcp::endpoint endpoint(address, port_);
  ec = impl_->Run(timeout_, [&](auto handler) {
    impl_->socket.async_connect(endpoint, [handler](error_code e) mutable { handler(e, 0); });
  });
  if (ec) {
    if (error != nullptr) *error = "connect to " + host_ + ":" + std::to_string(port_) + ": " + ec.message();
    Close();
    return false;
  }
  ++connect_count_;
  impl_->socket.set_option(tcp::no_delay(true), ec);  // small requests should not wait for Nagle
  return true;
}

bool HttpClient::SendRaw(std::string_view bytes, std::string* error) {
  if (!connected() && !Connect(error)) return false;
  error_code ec = impl_->Run(timeout_, [&](auto handler) {
    asio::async_write(impl_->socket, asio::buffer(bytes.data(), bytes.size()), handler);
  });
  if (ec) {
    if (error != nullptr) *error = "write: " + ec.message();
    return false;
  }
  return true;
}

HttpResponse HttpClient::ReadResponse(bool head) {
  HttpResponse out;
  if (!connected()) {
    out.error = "not connected";
    return out;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  parser.header_limit(1u << 20);
  if (head) parser.skip(true);
  error_code ec = impl_->Run(timeout_, [&](auto handler) {
    http::async_read(impl_->socket, impl_->buffer, parser, handler);
  });
  if (ec) {
    out.error = "read: " + ec.message();
    Close();
    return out;
  }
  auto& msg = parser.get();
  out.status = static_cast<int>(msg.result_int());
  out.keep_alive = msg.keep_alive();
  for (const auto& field : msg) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(msg.body());
  if (!out.keep_alive) Close();
  return out;
}

bool HttpClient::WaitPeerClose(std::chrono::milliseconds wait) {
  if (!connected()) return true;
  char byte = 0;
  error_code ec = impl_->Run(wait, [&](auto handler) {
    impl_->socket.async_read_some(asio::buffer(&byte, 1), handler);
  });
  if (ec == asio::error::timed_out) return false;  // still open (and now closed by us)
  const bool closed = ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
  Close();
  return closed;
}

HttpResponse HttpClient::Request(std::string_view method, std::string_view target, std::string_view body,
                                 const Headers& headers) {
  http::request<http::string_body> req;
  const http::verb verb = http::string_to_verb(Bsv(method));
  if (verb == http::verb::unknown) {
    req.method_string(Bsv(method));
  } else {
    req.method(verb);
  }
  req.target(Bsv(target));
  req.version(11);
  req.set(http::field::host, host_ + ":" + std::to_string(port_));
  for (const auto& [k, v] : default_headers_) req.set(k, v);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::string(body);
  // Content-Length for any body and for POST/PUT with an empty one.
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put) {
    req.content_length(body.size());
  }

  HttpResponse out;
  std::string error;
  if (!connected() && !Connect(&error)) {
    out.error = error;
    return out;
  }
  http::request_serializer<http::string_body> sr{req};
  error_code ec = impl_->Run(timeout_, [&](auto handler) { http::async_write(impl_->socket, sr, handler); });
  if (ec) {
    out.error = "write: " + ec.message();
    Close();
    return out;
  }
  return ReadResponse(verb == http::verb::head);
}

HttpResponse HttpClient::OpenStream(std::string_view target, const Headers& headers) {
  HttpResponse out;
  std::string request = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) +
                        "\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : default_headers_) request += k + ": " + v + "\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  if (!SendRaw(request, &out.error)) return out;
  impl_->stream.emplace();
  impl_->stream->body_limit(kMaxResponseBody);
  error_code ec = impl_->Run(timeout_, [&](auto handler) {
    http::async_read_header(impl_->socket, impl_->buffer, *impl_->stream, handler);
  });
  if (ec) {
    out.error = "read header: " + ec.message();
    Close();
    return out;
  }
  const auto& msg = impl_->stream->get();
  out.status = static_cast<int>(msg.result_int());
  out.keep_alive = msg.keep_alive();
  for (const auto& field : msg) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

bool HttpClient::ReadStream(std::string* out, std::chrono::milliseconds wait) {
  if (!impl_->stream || !connected()) return false;
  auto& parser = *impl_->stream;
  auto take = [&] {
    out->append(parser.get().body());
    parser.get().body().clear();  // the parser appends at the string's end
  };
  take();
  if (parser.is_done()) return false;
  error_code ec = impl_->Run(
      wait, [&](auto handler) { http::async_read_some(impl_->socket, impl_->buffer, parser, handler); },
      /*keep_open=*/true);
  take();
  if (ec == asio::error::timed_out) return true;  // nothing new yet
  if (ec) {
    Close();
    return false;
  }
  return !parser.is_done();
}

HttpResponse HttpClient::Get(std::string_view target, const Headers& headers) {
  return Request("GET", target, {}, headers);
}
HttpResponse HttpClient::Delete(std::string_view target, const Headers& headers) {
  return Request("DELETE", target, {}, headers);
}
HttpResponse HttpClient::Post(std::string_view target, std::string_view body, const Headers& headers) {
  return Request("POST", target, body, headers);
}
HttpResponse HttpClient::Put(std::string_view target, std::string_view body, const Headers& headers) {
  return Request("PUT", target, body, headers);
}
HttpResponse HttpClient::PostJson(std::string_view target, const nlohmann::json& body, const Headers& headers) {
  Headers all = headers;
  all.emplace_back("Content-Type", "application/json");
  return Request("POST", target, body.dump(), all);
}

}  // namespace kyrodb::test
