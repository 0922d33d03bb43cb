// HTTP/1.1 behaviour of the server: keep-alive, pipelining in order,
// Connection: close, HTTP/1.0, and requests split across many writes.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.h"

namespace kyrodb::test {
namespace {

class ProtocolTest : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { StartServer({{"KYRODB_DISABLE_HTTP_LOG", "1"}}); }
  static void TearDownTestSuite() { StopServer(); }
};

std::string RawGet(const std::string& target) { return "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n"; }

std::string RawPut(const std::string& target, const std::string& body) {
  return "PUT " + target + " HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST_F(ProtocolTest, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 300; ++i) {
    const std::string key = std::to_string(10000 + (i / 3) % 10);  // each PUT is read back by the next GET
    HttpResponse r;
    switch (i % 3) {
      case 0: r = client().Put("/v1/kv/" + key, "value-" + std::to_string(i)); break;
      case 1: r = client().Get("/v1/kv/" + key); break;
      default: r = client().Get("/health"); break;
    }
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.Describe();
    ASSERT_TRUE(r.keep_alive) << "request " << i << " closed the connection";
  }
  EXPECT_EQ(client().connect_count(), 1) << "every request should reuse the first connection";
}

TEST_F(ProtocolTest, PipelinedRequestsAnswerInOrder) {
  ASSERT_EQ(client().Put("/v1/kv/601", "one").status, 200);
  ASSERT_EQ(client().Put("/v1/kv/602", "two").status, 200);
  ASSERT_EQ(client().Put("/v1/kv/603", "three").status, 200);

  auto c = server().NewClient();
  // Three requests in one write: the answers must come back in request order.
  ASSERT_TRUE(c->SendRaw(RawGet("/v1/kv/603") + RawGet("/v1/kv/601") + RawGet("/v1/kv/602")));
  for (const char* want : {"three", "one", "two"}) {
    const auto r = c->ReadResponse();
    ASSERT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.body, want);
  }
  // Mixed: a write, a read of it, a miss, a slow-ish admin call and a read.
  ASSERT_TRUE(c->SendRaw(RawPut("/v1/kv/604", "four") + RawGet("/v1/kv/604") + RawGet("/v1/kv/605") +
                         "POST /v1/snapshot HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" +
                         RawGet("/v1/get_fast/604")));
  auto r = c->ReadResponse();
  EXPECT_TRUE(IsWriteAck(r));
  r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "four");
  EXPECT_TRUE(IsJsonError(c->ReadResponse(), 404, "not_found"));
  r = c->ReadResponse();
  EXPECT_TRUE(IsJsonOk(r)) << "snapshot";
  r = c->ReadResponse();
  EXPECT_EQ(r.body, "four") << r.Describe();
  EXPECT_EQ(c->connect_count(), 1);
}

TEST_F(ProtocolTest, ManyPipelinedWritesKeepTheirOrder) {
  // 50 PUTs of the same key in one write: the last one must win, and the
  // offsets must come back increasing.
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += RawPut("/v1/kv/610", "v" + std::to_string(i));
  auto c = server().NewClient();
  ASSERT_TRUE(c->SendRaw(batch));
  uint64_t previous = 0;
  for (int i = 0; i < 50; ++i) {
    uint64_t offset = 0;
    ASSERT_TRUE(IsWriteAck(c->ReadResponse(), &offset)) << "response " << i;
    EXPECT_GT(offset, previous) << "response " << i;
    previous = offset;
  }
  EXPECT_EQ(client().Get("/v1/kv/610").body, "v49");
}

TEST_F(ProtocolTest, RequestSplitAcrossManyWritesIsAssembled) {
  const std::string request = RawPut("/v1/kv/620", "split-body");
  auto c = server().NewClient();
  for (char ch : request) {
    ASSERT_TRUE(c->SendRaw(std::string(1, ch)));
  }
  EXPECT_TRUE(IsWriteAck(c->ReadResponse()));
  EXPECT_EQ(client().Get("/v1/kv/620").body, "split-body");
}

TEST_F(ProtocolTest, ConnectionCloseIsHonoured) {
  auto c = server().NewClient();
  ASSERT_TRUE(c->SendRaw("GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  const auto r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_FALSE(r.keep_alive);
}

TEST_F(ProtocolTest, Http10GetsAnAnswerAndAClose) {
  auto c = server().NewClient();
  ASSERT_TRUE(c->SendRaw("GET /health HTTP/1.0\r\n\r\n"));
  const auto r = c->ReadResponse();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_FALSE(r.keep_alive);
}

TEST_F(ProtocolTest, ChunkedRequestBodyIsAccepted) {
  auto c = server().NewClient();
  ASSERT_TRUE(c->SendRaw(
      "PUT /v1/kv/630 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  EXPECT_TRUE(IsWriteAck(c->ReadResponse()));
  EXPECT_EQ(client().Get("/v1/kv/630").body, "hello world");
}

TEST_F(ProtocolTest, ConcurrentClientsAllGetTheirOwnAnswers) {
  // Eight connections writing and reading their own keys at once.
  constexpr int kClients = 8;
  constexpr int kOps = 60;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kClients);
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(server().host(), server().port());
      for (int i = 0; i < kOps && failures[t].empty(); ++i) {
        const std::string key = std::to_string(700000 + t * 1000 + i % 7);
        const std::string value = "c" + std::to_string(t) + "-" + std::to_string(i);
        auto r = c.Put("/v1/kv/" + key, value);
        if (r.status != 200) failures[t] = "put: " + r.Describe();
        r = c.Get("/v1/kv/" + key);
        if (r.status != 200 || r.body != value) failures[t] = "get " + key + ": " + r.Describe();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kClients; ++t) EXPECT_EQ(failures[t], "") << "client " << t;
}

}  // namespace
}  // namespace kyrodb::test
