// HttpClient: a small synchronous HTTP/1.1 client over Boost.Beast for tests.
//
// One TCP connection, kept alive across requests; every network step has a
// deadline (Beast's sync calls have none, so each step runs as an async
// operation on a private io_context for at most timeout()). Besides the
// request/response helpers it can send raw bytes and read responses one at a
// time, for malformed-input and pipelining tests. Not thread-safe: one client
// per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kyrodb::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;     // 0: no response arrived; `error` says why
  std::string error;  // transport error (connect, write, read, timeout)
  std::string body;
  Headers headers;
  bool keep_alive = false;

  bool ok() const { return status >= 200 && status < 300; }
  // Case-insensitive; "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // The body parsed as JSON, or a discarded value when it is not JSON.
  nlohmann::json Json() const;
  // "status 404, content-type ..., body: ..." (body cut to 400 bytes) for messages.
  std::string Describe() const;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its response on the open connection, opening
  // one first if needed. Never retries: a write that failed may still have
  // reached the server, and the crash test must know that. After a transport
  // error or a response without keep-alive the connection is closed.
  HttpResponse Request(std::string_view method, std::string_view target,
                       std::string_view body = {}, const Headers& headers = {});
  HttpResponse Get(std::string_view target, const Headers& headers = {});
  HttpResponse Delete(std::string_view target, const Headers& headers = {});
  HttpResponse Post(std::string_view target, std::string_view body,
                    const Headers& headers = {});
  HttpResponse Put(std::string_view target, std::string_view body,
                   const Headers& headers = {});
  // POST with Content-Type: application/json.
  HttpResponse PostJson(std::string_view target, const nlohmann::json& body,
                        const Headers& headers = {});

  // Headers added to every request made through Request() (e.g. Authorization).
  void SetDefaultHeaders(Headers headers) { default_headers_ = std::move(headers); }

  // Raw access. Connect() opens a new connection (closing any open one).
  bool Connect(std::string* error = nullptr);
  // Writes `bytes` as they are. False (with `error`) on failure or timeout.
  bool SendRaw(std::string_view bytes, std::string* error = nullptr);
  // Reads the next response from the connection; bytes already received for
  // later responses stay buffered (pipelining). `head` skips the body.
  HttpResponse ReadResponse(bool head = false);
  // True when the server closes the connection (EOF or reset) within `wait`
  // without sending more bytes.
  bool WaitPeerClose(std::chrono::milliseconds wait);

  // Streaming responses (Server-Sent Events): OpenStream sends a GET and
  // reads only the response header (status and headers in the result, empty
  // body); ReadStream then appends the body bytes (chunked encoding decoded)
  // that arrive within `wait` to `*out`. ReadStream returns false once the
  // stream has ended or failed. A wait that passes without data keeps the
  // connection open.
  HttpResponse OpenStream(std::string_view target, const Headers& headers = {});
  bool ReadStream(std::string* out, std::chrono::milliseconds wait);

  void Close();
  bool connected() const;
  // How many TCP connections this client has opened (keep-alive checks).
  int connect_count() const { return connect_count_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  Headers default_headers_;
  int connect_count_ = 0;
};

}  // namespace kyrodb::test
