// Every error status of SPEC §2 against the real binary: the status, the JSON
// error body, the headers that go with it (Allow, WWW-Authenticate,
// Retry-After), and that the server keeps serving afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server_fixture.h"

namespace kyrodb::test {
namespace {

// Keys that must be rejected wherever a key appears (SPEC §1): never wrapped,
// truncated or rounded.
const std::vector<std::string> kBadPathKeys = {"-1", "1.5", "1e3", "abc", "18446744073709551616",
                                               "99999999999999999999999", "0x10", "1a", "%20"};

class ErrorsTest : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { StartServer(); }
  static void TearDownTestSuite() { StopServer(); }

  void ExpectServerAlive() {
    auto fresh = server().NewClient();
    const auto r = fresh->Get("/health");
    EXPECT_EQ(r.status, 200) << "server stopped answering: " << r.Describe();
  }
};

TEST_F(ErrorsTest, BadKeysInPathAre400) {
  for (const auto& key : kBadPathKeys) {
    EXPECT_TRUE(IsJsonError(client().Get("/v1/get_fast/" + key), 400)) << "get_fast key " << key;
    EXPECT_TRUE(IsJsonError(client().Get("/v1/lookup?key=" + key), 400)) << "lookup key " << key;
    EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/" + key), 400)) << "GET kv key " << key;
    EXPECT_TRUE(IsJsonError(client().Put("/v1/kv/" + key, "v"), 400)) << "PUT kv key " << key;
    EXPECT_TRUE(IsJsonError(client().Delete("/v1/kv/" + key), 400)) << "DELETE kv key " << key;
  }
  // A rejected key never turns into a write to a wrapped key.
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/0"), 404));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/lookup"), 400)) << "lookup without key";
  EXPECT_TRUE(IsJsonError(client().Get("/v1/lookup?key="), 400)) << "lookup with an empty key";
}

TEST_F(ErrorsTest, BadKeysInJsonAre400) {
  const std::vector<std::string> bad_keys = {"-1", "1.5", "1e3", "\"abc\"", "18446744073709551616",
                                             "\"18446744073709551616\"", "\"-1\"", "\"1.5\"", "\"\"",
                                             "true", "null", "[1]", "{}"};
  for (const auto& key : bad_keys) {
    const std::string body = R"({"key": )" + key + R"(, "value": "x"})";
    EXPECT_TRUE(IsJsonError(client().Post("/v1/put", body, {{"Content-Type", "application/json"}}), 400))
        << "body " << body;
  }
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/0"), 404)) << "a bad key wrapped to 0";
}

TEST_F(ErrorsTest, BadBodiesAre400) {
  const std::vector<std::string> bodies = {
      "",                                   // empty
      "{",                                  // truncated
      R"({"key": 1, "val)",                 // truncated mid-string
      "not json",                           // not JSON
      "[1, 2]",                             // not an object
      R"({"value": "x"})",                  // no key
      R"({"key": 5})",                      // no value
      R"({"key": 5, "value": 12})",         // value not a string
      R"({"key": 5, "value": null})",       // value null
      "{\"key\": 5, \"value\": \"\xff\xfe\"}",  // invalid UTF-8
  };
  for (const auto& body : bodies) {
    EXPECT_TRUE(IsJsonError(client().Post("/v1/put", body, {{"Content-Type", "application/json"}}), 400))
        << "body '" << body << "'";
  }
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/5"), 404)) << "a rejected body was written";
}

TEST_F(ErrorsTest, DeeplyNestedJsonIsRejectedWithoutCrashing) {
  // A recursive-descent parser without a depth limit overflows its stack here.
  for (const size_t depth : {1000u, 100000u}) {
    const std::string body =
        R"({"key": 7, "value": "x", "extra": )" + std::string(depth, '[') + std::string(depth, ']') + "}";
    const auto r = client().Post("/v1/put", body, {{"Content-Type", "application/json"}});
    EXPECT_TRUE(r.status == 400 || r.status == 413) << "depth " << depth << ": " << r.Describe();
    if (r.status != 0) {
      EXPECT_TRUE(IsJsonError(r, r.status));
    }
    const std::string keys_body = R"({"keys": )" + std::string(depth, '[') + std::string(depth, ']') + "}";
    const auto g = client().Post("/v1/batch/get", keys_body, {{"Content-Type", "application/json"}});
    EXPECT_TRUE(g.status == 400 || g.status == 413 || g.status == 404) << "batch/get depth " << depth << ": "
                                                                      << g.Describe();
    ExpectServerAlive();
    if (!client().connected()) client_ = server().NewClient();
  }
}

TEST_F(ErrorsTest, MissingKeysAre404NotFound) {
  EXPECT_TRUE(IsJsonError(client().Get("/v1/get_fast/424242"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/lookup?key=424242"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/424242"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(client().Delete("/v1/kv/424242"), 404, "not_found"));
  const auto r = client().Get("/v1/get_fast/424242");
  EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find("424242"), std::string::npos)
      << "message should name the key: " << r.Describe();
}

TEST_F(ErrorsTest, UnknownRoutesAre404Json) {
  for (const char* target : {"/", "/nope", "/v1", "/v1/nope", "/v1/kv", "/v1/kv/1/extra", "/v2/put", "/healthz"}) {
    EXPECT_TRUE(IsJsonError(client().Get(target), 404)) << "GET " << target;
  }
}

TEST_F(ErrorsTest, WrongMethodsAre405WithAllow) {
  struct Case {
    const char* method;
    const char* target;
    const char* allowed;  // a method the Allow header must list
  };
  const Case cases[] = {
      {"GET", "/v1/put", "POST"},          {"DELETE", "/v1/put", "POST"},      {"POST", "/v1/get_fast/1", "GET"},
      {"POST", "/v1/lookup?key=1", "GET"}, {"PATCH", "/v1/kv/1", "PUT"},       {"POST", "/v1/kv/1", "DELETE"},
      {"POST", "/v1/offset", "GET"},       {"GET", "/v1/snapshot", "POST"},    {"POST", "/health", "GET"},
      {"DELETE", "/metrics", "GET"},       {"PUT", "/build_info", "GET"},      {"POST", "/ready", "GET"},
  };
  for (const auto& c : cases) {
    const auto r = client().Request(c.method, c.target, std::string_view{});
    EXPECT_TRUE(IsJsonError(r, 405)) << c.method << " " << c.target;
    EXPECT_NE(r.Header("Allow").find(c.allowed), std::string::npos)
        << c.method << " " << c.target << ": Allow should list " << c.allowed << ": " << r.Describe()
        << " Allow='" << r.Header("Allow") << "'";
  }
  const auto kv = client().Request("PATCH", "/v1/kv/1", std::string_view{});
  for (const char* m : {"GET", "PUT", "DELETE"}) {
    EXPECT_NE(kv.Header("Allow").find(m), std::string::npos) << "Allow of /v1/kv/{key}: " << kv.Header("Allow");
  }
}

TEST_F(ErrorsTest, HugeHeaderIs431) {
  auto c = server().NewClient();
  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(128 * 1024, 'a') +
                              "\r\n\r\n";
  std::string error;
  c->SendRaw(request, &error);  // the server may stop reading midway; the answer still counts
  const auto r = c->ReadResponse();
  EXPECT_TRUE(IsJsonError(r, 431)) << "write: " << error;
  if (r.status == 431) {
    EXPECT_NE(Lower(r.Json()["error"]["message"].get<std::string>()).find("header"), std::string::npos)
        << "the message should name the limit: " << r.Describe();
  }
  ExpectServerAlive();
}

TEST_F(ErrorsTest, MalformedRequestLineIs400OrClosed) {
  auto c = server().NewClient();
  ASSERT_TRUE(c->SendRaw("THIS IS NOT HTTP\r\n\r\n"));
  const auto r = c->ReadResponse();
  if (r.status != 0) {
    EXPECT_TRUE(IsJsonError(r, 400));
  }
  ExpectServerAlive();
}

TEST_F(ErrorsTest, NonJsonContentTypesOnJsonRoutesAre415) {
  for (const char* type : {"application/xml", "multipart/form-data; boundary=x", "application/octet-stream"}) {
    EXPECT_TRUE(IsJsonError(client().Post("/v1/put", R"({"key": 8, "value": "x"})", {{"Content-Type", type}}), 415))
        << "POST /v1/put with " << type;
    const auto b = client().Post("/v1/batch/put", R"({"items": [{"key": 8, "value": "x"}]})", {{"Content-Type", type}});
    EXPECT_TRUE(IsJsonError(b, 415)) << "POST /v1/batch/put with " << type;
  }
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/8"), 404)) << "a 415 body was written";
  // The raw route takes any bytes under any type.
  EXPECT_TRUE(IsWriteAck(client().Put("/v1/kv/9", "<x/>", {{"Content-Type", "application/xml"}})));
}

// ---------------------------------------------------------------- limits

class BodyLimitTest : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    StartServer({{"KYRODB_MAX_BODY_BYTES", "4096"}, {"KYRODB_MAX_VALUE_BYTES", "1000"}});
  }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(BodyLimitTest, BodyOverTheLimitIs413) {
  EXPECT_TRUE(IsWriteAck(client().Put("/v1/kv/1", std::string(1000, 'v')))) << "a value at the limit";
  auto r = client().Put("/v1/kv/2", std::string(5000, 'v'));
  EXPECT_TRUE(IsJsonError(r, 413));
  if (r.status == 413) {
    EXPECT_NE(Lower(r.Json()["error"]["message"].get<std::string>()).find("body"), std::string::npos)
        << "the message should name the limit: " << r.Describe();
  }
  if (!client().connected()) client_ = server().NewClient();
  r = client().Post("/v1/put", R"({"key": 3, "value": ")" + std::string(5000, 'v') + "\"}",
                    {{"Content-Type", "application/json"}});
  EXPECT_TRUE(IsJsonError(r, 413));
  if (!client().connected()) client_ = server().NewClient();
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/2"), 404));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/3"), 404));
}

TEST_F(BodyLimitTest, DeclaredContentLengthOverTheLimitIs413BeforeTheBody) {
  // The server must answer from the headers alone; the body never comes.
  auto c = server().NewClient(std::chrono::seconds(5));
  ASSERT_TRUE(c->SendRaw("PUT /v1/kv/4 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
  EXPECT_TRUE(IsJsonError(c->ReadResponse(), 413));
}

TEST_F(BodyLimitTest, ValueOverMaxValueBytesIsRejected) {
  const auto r = client().Put("/v1/kv/5", std::string(1001, 'v'));
  EXPECT_TRUE(r.status == 413 || r.status == 400) << r.Describe();
  EXPECT_TRUE(IsJsonError(r, r.status));
  if (!client().connected()) client_ = server().NewClient();
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/5"), 404));
}

class AuthTest : public SharedServerTest {
 protected:
  static constexpr const char* kToken = "s3cret-t0ken-for-tests";
  static void SetUpTestSuite() { StartServer({{"KYRODB_AUTH_TOKEN", kToken}}); }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(AuthTest, V1RoutesNeedTheBearerToken) {
  const std::vector<std::pair<const char*, const char*>> routes = {
      {"POST", "/v1/put"},  {"GET", "/v1/get_fast/1"}, {"GET", "/v1/lookup?key=1"}, {"PUT", "/v1/kv/1"},
      {"GET", "/v1/kv/1"},  {"DELETE", "/v1/kv/1"},    {"GET", "/v1/offset"},       {"POST", "/v1/snapshot"},
  };
  for (const auto& [method, target] : routes) {
    const std::string body = std::string(method) == "POST" ? R"({"key":1,"value":"x"})" : "";
    auto r = client().Request(method, target, body);
    EXPECT_TRUE(IsJsonError(r, 401)) << method << " " << target << " without a token";
    EXPECT_NE(r.Header("WWW-Authenticate").find("Bearer"), std::string::npos) << r.Describe();
    r = client().Request(method, target, body, {{"Authorization", "Bearer wrong"}});
    EXPECT_TRUE(IsJsonError(r, 401)) << method << " " << target << " with a wrong token";
    r = client().Request(method, target, body, {{"Authorization", std::string("Bearer ") + kToken + "x"}});
    EXPECT_TRUE(IsJsonError(r, 401)) << method << " " << target << " with a longer token";
    r = client().Request(method, target, body, {{"Authorization", std::string("Basic ") + kToken}});
    EXPECT_TRUE(IsJsonError(r, 401)) << method << " " << target << " with another scheme";
  }
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/1", {{"Authorization", std::string("Bearer ") + kToken}}), 404))
      << "no rejected write may have landed";
}

TEST_F(AuthTest, TheRightTokenWorksAsInTheReadme) {
  const Headers auth = {{"Authorization", std::string("Bearer ") + kToken}};
  // README: curl -H "Authorization: Bearer ..." http://.../v1/put -d '{"key":1,"value":"secret"}'
  auto r = client().Post("/v1/put", R"({"key":1,"value":"secret"})",
                         {{"Authorization", std::string("Bearer ") + kToken},
                          {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_TRUE(IsWriteAck(r));
  r = client().Get("/v1/get_fast/1", auth);
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "secret");
}

TEST_F(AuthTest, OpenRoutesNeedNoToken) {
  for (const char* target : {"/health", "/ready", "/metrics", "/build_info"}) {
    EXPECT_EQ(client().Get(target).status, 200) << target;
  }
}

TEST_F(AuthTest, TokenNeverAppearsInTheLog) {
  client().Get("/v1/kv/1", {{"Authorization", std::string("Bearer ") + kToken}});
  client().Get("/v1/kv/1", {{"Authorization", "Bearer not-the-token"}});
  EXPECT_EQ(server().CurrentRunLog().find(kToken), std::string::npos) << "the auth token was logged";
}

class AdminTokenTest : public SharedServerTest {
 protected:
  static constexpr const char* kData = "data-token-1";
  static constexpr const char* kAdmin = "admin-token-2";
  static void SetUpTestSuite() { StartServer({{"KYRODB_AUTH_TOKEN", kData}, {"KYRODB_ADMIN_TOKEN", kAdmin}}); }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(AdminTokenTest, AdminRoutesNeedTheAdminToken) {
  const Headers data = {{"Authorization", std::string("Bearer ") + kData}};
  const Headers admin = {{"Authorization", std::string("Bearer ") + kAdmin}};
  EXPECT_TRUE(IsWriteAck(client().Put("/v1/kv/1", "v", data))) << "the data token opens data routes";
  const auto r = client().Post("/v1/snapshot", "", data);
  EXPECT_TRUE(r.status == 403 || r.status == 401) << "the data token must not open admin routes: " << r.Describe();
  EXPECT_TRUE(IsJsonError(r, r.status));
  EXPECT_TRUE(IsJsonError(client().Post("/v1/snapshot", ""), 401)) << "no token at all";
  EXPECT_TRUE(IsJsonOk(client().Post("/v1/snapshot", "", admin))) << "the admin token opens admin routes";
  const auto log = server().CurrentRunLog();
  EXPECT_EQ(log.find(kData), std::string::npos) << "the data token was logged";
  EXPECT_EQ(log.find(kAdmin), std::string::npos) << "the admin token was logged";
}

class RateLimitTest : public SharedServerTest {
 protected:
  static void SetUpTestSuite() {
    StartServer({{"KYRODB_RL_DATA_RPS", "1"},
                 {"KYRODB_RL_DATA_BURST", "3"},
                 {"KYRODB_RL_ADMIN_RPS", "1"},
                 {"KYRODB_RL_ADMIN_BURST", "1"}});
  }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(RateLimitTest, DataRoutesOverTheBurstAre429WithRetryAfter) {
  int limited = 0;
  int served = 0;
  HttpResponse last_limited;
  for (int i = 0; i < 10; ++i) {
    const auto r = client().Get("/v1/get_fast/1");
    if (r.status == 429) {
      ++limited;
      last_limited = r;
    } else {
      EXPECT_EQ(r.status, 404) << r.Describe();
      ++served;
    }
  }
  EXPECT_GE(served, 3) << "the burst must be served";
  EXPECT_LE(served, 5) << "10 requests in well under a second at 1 rps, burst 3";
  ASSERT_GT(limited, 0);
  EXPECT_TRUE(IsJsonError(last_limited, 429));
  const std::string retry = last_limited.Header("Retry-After");
  ASSERT_FALSE(retry.empty()) << last_limited.Describe();
  EXPECT_TRUE(std::all_of(retry.begin(), retry.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      << "Retry-After must be seconds: " << retry;
  // Open routes are not rate limited.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(client().Get("/health").status, 200);
}

TEST_F(RateLimitTest, AdminClassHasItsOwnBucket) {
  // The data bucket is spent by the test above (or soon will be); admin is separate.
  for (int i = 0; i < 5; ++i) client().Get("/v1/get_fast/1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // one admin token back
  auto r = client().Post("/v1/snapshot", "");
  EXPECT_TRUE(IsJsonOk(r)) << "first admin call within its burst";
  r = client().Post("/v1/snapshot", "");
  EXPECT_TRUE(IsJsonError(r, 429)) << "second admin call over its burst of 1";
  EXPECT_FALSE(r.Header("Retry-After").empty()) << r.Describe();
}

class ConnectionLimitTest : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { StartServer({{"KYRODB_MAX_CONNECTIONS", "2"}}); }
  static void TearDownTestSuite() { StopServer(); }
};

TEST_F(ConnectionLimitTest, ConnectionsOverTheLimitGet503WithRetryAfter) {
  client_.reset();  // the fixture's client is not needed; hold exactly two
  // The readiness probe's connection may still count for a moment: retry briefly.
  auto open_one = [&]() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto c = server().NewClient(std::chrono::seconds(2));
      if (c->Get("/health").status == 200 && c->connected()) return c;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::unique_ptr<HttpClient>();
  };
  auto a = open_one();
  auto b = open_one();
  ASSERT_TRUE(a && b) << "two connections within the limit";

  auto c = server().NewClient(std::chrono::seconds(5));
  const auto r = c->Get("/health");
  EXPECT_TRUE(IsJsonError(r, 503)) << "third connection with KYRODB_MAX_CONNECTIONS=2";
  EXPECT_FALSE(r.Header("Retry-After").empty()) << r.Describe();
  if (r.status == 503) {
    EXPECT_NE(Lower(r.Json()["error"]["message"].get<std::string>()).find("connection"), std::string::npos)
        << "the message should name the limit: " << r.Describe();
  }
  // The held connections keep working, and a freed slot is usable again.
  EXPECT_EQ(a->Get("/health").status, 200);
  b.reset();
  auto d = open_one();
  EXPECT_TRUE(d) << "a slot freed by a closed connection is reused";
}

}  // namespace
}  // namespace kyrodb::test
