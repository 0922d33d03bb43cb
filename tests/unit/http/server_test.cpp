// The server over loopback with a fake store: pipelining order, limits with
// their statuses, timeouts against slow clients, the connection cap, HEAD,
// 100-continue and graceful drain. Raw sockets, so every byte is ours.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "fake_store.h"
#include "http/api.h"

namespace kyrodb::http {
namespace {

using namespace std::chrono_literals;
using testing::FakeStore;
using Clock = std::chrono::steady_clock;

struct RawResponse {
  unsigned status = 0;
  std::string body;
  bool keep_alive = true;
  std::string Header(const char* name) const { return headers.count(name) ? headers.at(name) : ""; }
  std::map<std::string, std::string> headers;
};

// A blocking client on a raw socket with deadlines on every read.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  bool Send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads what arrives within `timeout`; "" on EOF/timeout. eof_ is set on EOF.
  std::string ReadSome(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      return {};
    }
    return std::string(buf, static_cast<size_t>(n));
  }

  std::optional<RawResponse> Read(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = Clock::now() + timeout;
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.body_limit(64u << 20);
    if (head_) parser.skip(true);
    for (;;) {
      if (!pending_.empty()) {
        boost::beast::error_code ec;
        size_t used = parser.put(boost::asio::buffer(pending_), ec);
        pending_.erase(0, used);
        if (ec && ec != boost::beast::http::error::need_more) return std::nullopt;
        if (parser.is_done()) break;
        if (used > 0 && !pending_.empty()) continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      std::string more = ReadSome(left);
      if (more.empty()) {
        if (eof_) return std::nullopt;
        continue;
      }
      pending_ += more;
    }
    RawResponse r;
    auto& msg = parser.get();
    r.status = msg.result_int();
    r.body = msg.body();
    r.keep_alive = msg.keep_alive();
    for (const auto& f : msg) r.headers[std::string(f.name_string())] = std::string(f.value());
    return r;
  }

  // True if the server closes the connection within `timeout`.
  bool ClosedWithin(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      ReadSome(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (eof_) return true;
    }
    return false;
  }

  // Everything else the server sends until it closes (or `timeout`).
  std::string RestUntilClosed(std::chrono::milliseconds timeout) {
    std::string rest = std::move(pending_);
    pending_.clear();
    auto deadline = Clock::now() + timeout;
    while (!eof_ && Clock::now() < deadline) {
      rest += ReadSome(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    }
    return rest;
  }

  void ExpectHead(bool head) { head_ = head; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  bool head_ = false;
  std::string pending_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}
std::string Put(const std::string& target, const std::string& body) {
  return "PUT " + target + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         body;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(HttpOptions opts = {}) {
    opts.port = 0;
    opts.threads = 2;
    opts.access_log = false;
    server_ = std::make_unique<Server>(opts, registry_);
    ASSERT_TRUE(server_->Listen().ok());
    server_->Start();
    server_->SetStore(&store_);
    server_->SetReady();
  }
  void TearDown() override {
    if (server_) {
      server_->Drain();
      server_->Stop();
    }
  }
  uint16_t port() const { return server_->port(); }

  FakeStore store_;
  prometheus::Registry registry_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepAliveAndHead) {
  Start();
  RawClient c(port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.Send(Get("/health")));
    auto r = c.Read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200u);
    EXPECT_TRUE(r->keep_alive);
    EXPECT_EQ(r->body, R"({"status":"ok"})");
  }
  ASSERT_TRUE(c.Send("HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n"));
  c.ExpectHead(true);
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->Header("Content-Length"), "15");
  EXPECT_TRUE(r->body.empty());
}

// Every thread the server starts has a name for top -H, ps -L and perf.
TEST_F(ServerTest, NamesItsThreads) {
  Start();
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  for (const char* want : {"kyro-io-0", "kyro-blocking-0", "kyro-blocking-1", "kyro-reader-0", "kyro-reader-1"}) {
    EXPECT_EQ(names.count(want), 1u) << want;
  }
}

TEST_F(ServerTest, PipelinedAnswersKeepRequestOrderAndSeeEarlierWrites) {
  store_.write_delay = 30ms;  // writes complete after the reads behind them would
  Start();
  RawClient c(port());
  ASSERT_TRUE(c.Send(Put("/v1/kv/1", "one") + Get("/v1/kv/1") + Put("/v1/kv/2", "two") + Put("/v1/kv/3", "three") +
                     Get("/v1/kv/3") + Get("/v1/kv/9") + Get("/health")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"offset":1})");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "one") << "a pipelined read sees the write before it";
  r = c.Read();
  EXPECT_EQ(r->body, R"({"offset":2})");
  r = c.Read();
  EXPECT_EQ(r->body, R"({"offset":3})");
  r = c.Read();
  EXPECT_EQ(r->body, "three");
  r = c.Read();
  EXPECT_EQ(r->status, 404u);
  r = c.Read();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, R"({"status":"ok"})");
}

TEST_F(ServerTest, PipelinedWritesOverlap) {
  store_.write_delay = 100ms;
  Start();
  RawClient c(port());
  std::string batch;
  for (int i = 0; i < 8; ++i) batch += Put("/v1/kv/" + std::to_string(i), "v");
  auto t0 = Clock::now();
  ASSERT_TRUE(c.Send(batch));
  // All eight reach the store before the first one completes.
  while (store_.writes_submitted() < 8 && Clock::now() - t0 < 2s) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(store_.writes_submitted(), 8);
  for (int i = 0; i < 8; ++i) {
    auto r = c.Read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "{\"offset\":" + std::to_string(i + 1) + "}");
  }
}

TEST_F(ServerTest, HeaderLimitIs431) {
  HttpOptions opts;
  opts.max_header_bytes = 2048;
  Start(opts);
  RawClient c(port());
  c.Send("GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(8192, 'a') + "\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431u);
  EXPECT_NE(r->body.find("KYRODB_MAX_HEADER_BYTES"), std::string::npos);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.ClosedWithin(3s));
}

TEST_F(ServerTest, BodyLimitIs413FromTheHeaderAlone) {
  HttpOptions opts;
  opts.max_body_bytes = 1000;
  Start(opts);
  RawClient c(port());
  ASSERT_TRUE(c.Send("PUT /v1/kv/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
  EXPECT_NE(r->body.find("KYRODB_MAX_BODY_BYTES"), std::string::npos);
  // Chunked bodies are bounded too.
  RawClient d(port());
  ASSERT_TRUE(d.Send("PUT /v1/kv/1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" "1000\r\n" +
                     std::string(4096, 'x') + "\r\n0\r\n\r\n"));
  r = d.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(store_.writes_submitted(), 0);
}

TEST_F(ServerTest, MalformedRequestIs400) {
  Start();
  RawClient c(port());
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_TRUE(c.ClosedWithin(3s));
}

// A HEAD whose body cannot be parsed still gets an answer without a body
// (found by fuzz_http_session: the error answer used to carry its JSON).
TEST_F(ServerTest, HeadWithAMalformedBodyGets400WithoutABody) {
  Start();
  RawClient c(port());
  c.ExpectHead(true);
  ASSERT_TRUE(c.Send("HEAD /v1/kv/2 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nnot-a-size\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_EQ(c.RestUntilClosed(3s), "") << "bytes after the answer to a HEAD";
}

TEST_F(ServerTest, SlowlorisIsCutAtTheReadTimeoutWhileOthersAreServed) {
  HttpOptions opts;
  opts.read_timeout = 400ms;
  opts.idle_timeout = 5s;
  Start(opts);
  RawClient slow(port());
  const std::string request = Get("/health", "X-Pad: " + std::string(100, 'p') + "\r\n");
  auto t0 = Clock::now();
  bool cut = false;
  RawClient normal(port());
  for (size_t i = 0; i < request.size() && Clock::now() - t0 < 3s; ++i) {
    if (!slow.Send(request.substr(i, 1))) {
      cut = true;
      break;
    }
    if (slow.ClosedWithin(50ms)) {
      cut = true;
      break;
    }
    if (i % 4 == 0) {
      ASSERT_TRUE(normal.Send(Get("/health")));
      auto r = normal.Read(2s);
      ASSERT_TRUE(r) << "a normal client is served meanwhile";
      EXPECT_EQ(r->status, 200u);
    }
  }
  auto elapsed = Clock::now() - t0;
  EXPECT_TRUE(cut) << "a client trickling a request is cut";
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(ServerTest, IdleConnectionsAreClosed) {
  HttpOptions opts;
  opts.idle_timeout = 300ms;
  Start(opts);
  RawClient c(port());
  ASSERT_TRUE(c.Send(Get("/health")));
  ASSERT_TRUE(c.Read());
  auto t0 = Clock::now();
  EXPECT_TRUE(c.ClosedWithin(3s));
  EXPECT_GE(Clock::now() - t0, 250ms);
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  HttpOptions opts;
  opts.max_connections = 2;
  Start(opts);
  RawClient a(port());
  RawClient b(port());
  ASSERT_TRUE(a.Send(Get("/health")) && a.Read());
  ASSERT_TRUE(b.Send(Get("/health")) && b.Read());
  RawClient c(port());
  c.Send(Get("/health"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503u);
  EXPECT_EQ(r->Header("Retry-After"), "1");
  EXPECT_NE(r->body.find("KYRODB_MAX_CONNECTIONS=2"), std::string::npos);
  ASSERT_TRUE(a.Send(Get("/health")));
  EXPECT_TRUE(a.Read()) << "held connections keep working";
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimAnswer) {
  Start();
  RawClient c(port());
  ASSERT_TRUE(c.Send("PUT /v1/kv/5 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::string interim = c.ReadSome(2s);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << interim;
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

TEST_F(ServerTest, DrainFinishesInFlightWritesAndClosesIdleConnections) {
  store_.write_delay = 300ms;
  Start();
  RawClient idle(port());
  ASSERT_TRUE(idle.Send(Get("/health")) && idle.Read());
  RawClient busy(port());
  ASSERT_TRUE(busy.Send(Put("/v1/kv/1", "x")));
  std::this_thread::sleep_for(50ms);  // the write is with the store now
  auto t0 = Clock::now();
  std::thread drain([this] { server_->Drain(); });
  auto r = busy.Read(3s);
  ASSERT_TRUE(r) << "the in-flight write is answered";
  EXPECT_EQ(r->status, 200u);
  EXPECT_FALSE(r->keep_alive) << "the last answer says the connection closes";
  EXPECT_TRUE(idle.ClosedWithin(2s));
  drain.join();
  EXPECT_LT(Clock::now() - t0, 3s);
  RawClient late(port());
  EXPECT_FALSE(late.connected() && late.Send(Get("/health")) && late.Read(500ms)) << "no longer accepting";
}

}  // namespace
}  // namespace kyrodb::http
