// The request pipeline without sockets: every route against a fake store,
// the error shape, auth, rate limits, readiness, media types and the status
// mapping of store errors.
#include "http/api.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include <future>
#include <memory>
#include <string>

#include "fake_store.h"
#include "http/errors.h"
#include "metrics/sharded.h"

namespace kyrodb::http {
namespace {

using nlohmann::json;
using testing::FakeStore;

struct Answer {
  unsigned status = 0;
  Response res;
  json Json() const { return json::parse(res.body(), nullptr, false); }
  std::string Header(bhttp::field f) const { return std::string(Sv(res[f])); }
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(HttpOptions{}); }

  void Make(HttpOptions opts, RateLimiter::Clock clock = {}) {
    registry_ = std::make_unique<prometheus::Registry>();
    state_ = std::make_unique<ServerState>(std::move(opts), *registry_, std::move(clock));
    state_->run_blocking = [](std::function<void()> task) { task(); };
    state_->store.store(&store_);
    state_->ready.store(true);
  }

  Answer Call(bhttp::verb verb, const std::string& target, std::string body = "",
              std::initializer_list<std::pair<bhttp::field, std::string>> headers = {}) {
    Request req{verb, target, 11};
    for (const auto& [f, v] : headers) req.set(f, v);
    req.body() = std::move(body);
    req.prepare_payload();
    auto promise = std::make_shared<std::promise<Response>>();
    Reply reply = [promise](Response r) { promise->set_value(std::move(r)); };
    RequestMeta meta;
    std::optional<Response> now = HandleRequest(*state_, req, client_, &meta, reply);
    Answer a;
    if (now) {
      a.res = std::move(*now);
    } else {
      auto f = promise->get_future();
      EXPECT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "no reply for " << target;
      a.res = f.get();
    }
    a.status = a.res.result_int();
    last_meta_ = meta;
    return a;
  }
  Answer Get(const std::string& target) { return Call(bhttp::verb::get, target); }
  Answer Post(const std::string& target, std::string body) { return Call(bhttp::verb::post, target, std::move(body)); }

  static void ExpectError(const Answer& a, unsigned status, const std::string& code = "") {
    EXPECT_EQ(a.status, status) << a.res.body();
    EXPECT_EQ(a.Header(bhttp::field::content_type), "application/json");
    json j = a.Json();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << a.res.body();
    ASSERT_TRUE(j["error"]["code"].is_string() && j["error"]["message"].is_string()) << a.res.body();
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(j.size(), 1u) << "only the error member: " << a.res.body();
    if (!code.empty()) {
      EXPECT_EQ(j["error"]["code"], code) << a.res.body();
    }
  }

  FakeStore store_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ServerState> state_;
  ClientInfo client_{MakeClientKey(reinterpret_cast<const uint8_t*>("\x7f\0\0\x01"), 4), "127.0.0.1"};
  RequestMeta last_meta_;
};

TEST_F(ApiTest, PutThenReadEveryWay) {
  Answer put = Post("/v1/put", R"({"key": 123, "value": "hello"})");
  ASSERT_EQ(put.status, 200) << put.res.body();
  EXPECT_EQ(put.Json(), json({{"offset", 1}}));
  EXPECT_EQ(last_meta_.route, RouteId::kPut);
  EXPECT_EQ(last_meta_.method, Method::kPost);

  Answer fast = Get("/v1/get_fast/123");
  EXPECT_EQ(fast.status, 200);
  EXPECT_EQ(fast.res.body(), "hello");
  EXPECT_EQ(fast.Header(bhttp::field::content_type), "application/octet-stream");

  Answer lookup = Get("/v1/lookup?key=123");
  EXPECT_EQ(lookup.Json(), json({{"key", 123}, {"value", "hello"}, {"offset", 1}}));

  Answer kv = Get("/v1/kv/123");
  EXPECT_EQ(kv.res.body(), "hello");
  EXPECT_EQ(kv.Header(bhttp::field::etag), "\"1\"");
  EXPECT_EQ(std::string(Sv(kv.res["X-KyroDB-Offset"])), "1");

  Answer not_modified = Call(bhttp::verb::get, "/v1/kv/123", "", {{bhttp::field::if_none_match, "\"1\""}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.res.body().empty());
  EXPECT_EQ(Call(bhttp::verb::get, "/v1/kv/123", "", {{bhttp::field::if_none_match, "\"12\""}}).status, 200);
}

TEST_F(ApiTest, RawPutAndDelete) {
  std::string binary("\0\xff\r\n\x80", 5);
  Answer put = Call(bhttp::verb::put, "/v1/kv/18446744073709551615", binary,
                    {{bhttp::field::content_type, "image/png"}});
  ASSERT_EQ(put.status, 200) << put.res.body();
  EXPECT_EQ(Get("/v1/kv/18446744073709551615").res.body(), binary);
  // Not UTF-8: JSON shows replacement characters instead of failing.
  Answer lookup = Get("/v1/lookup?key=18446744073709551615");
  EXPECT_EQ(lookup.status, 200);
  EXPECT_TRUE(lookup.Json().is_object()) << lookup.res.body();
  EXPECT_EQ(lookup.Json()["key"].get<uint64_t>(), 18446744073709551615ull);

  Answer del = Call(bhttp::verb::delete_, "/v1/kv/18446744073709551615");
  EXPECT_EQ(del.status, 200);
  EXPECT_EQ(del.Json(), json({{"offset", 2}}));
  ExpectError(Call(bhttp::verb::delete_, "/v1/kv/18446744073709551615"), 404, "not_found");
  Answer missing = Get("/v1/get_fast/18446744073709551615");
  ExpectError(missing, 404, "not_found");
  EXPECT_NE(missing.Json()["error"]["message"].get<std::string>().find("18446744073709551615"), std::string::npos);
}

TEST_F(ApiTest, BadKeysAre400EverywhereAndNothingIsWritten) {
  for (const char* key : {"-1", "1.5", "1e3", "abc", "18446744073709551616", "%20", "%2B1", "", "%zz", "1%00"}) {
    std::string k(key);
    ExpectError(Get("/v1/get_fast/" + k), 400, "invalid_key");
    ExpectError(Get("/v1/lookup?key=" + k), 400);
    ExpectError(Get("/v1/kv/" + k), 400);
    ExpectError(Call(bhttp::verb::put, "/v1/kv/" + k, "v"), 400);
    ExpectError(Call(bhttp::verb::delete_, "/v1/kv/" + k), 400);
  }
  ExpectError(Get("/v1/lookup"), 400, "bad_request");
  EXPECT_EQ(store_.writes_submitted(), 0);
}

TEST_F(ApiTest, BadBodiesAre400) {
  for (const char* body : {"", "{", "[1]", R"({"value": "x"})", R"({"key": 5})", R"({"key": 5, "value": 12})",
                           R"({"key": -5, "value": "x"})", "{\"key\": 5, \"value\": \"\xff\"}"}) {
    ExpectError(Post("/v1/put", body), 400);
  }
  std::string deep = R"({"key": 7, "value": "x", "extra": )" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  ExpectError(Post("/v1/put", deep), 400, "invalid_json");
  EXPECT_EQ(store_.writes_submitted(), 0);
}

TEST_F(ApiTest, ValueSizeLimit) {
  HttpOptions opts;
  opts.max_value_bytes = 8;
  Make(opts);
  EXPECT_EQ(Post("/v1/put", R"({"key": 1, "value": "12345678"})").status, 200);
  ExpectError(Post("/v1/put", R"({"key": 1, "value": "123456789"})"), 413, "value_too_large");
  EXPECT_EQ(Call(bhttp::verb::put, "/v1/kv/1", "12345678").status, 200);
  Answer big = Call(bhttp::verb::put, "/v1/kv/1", "123456789");
  ExpectError(big, 413, "value_too_large");
  EXPECT_NE(big.Json()["error"]["message"].get<std::string>().find("KYRODB_MAX_VALUE_BYTES"), std::string::npos);
}

TEST_F(ApiTest, RoutingErrors) {
  ExpectError(Get("/nope"), 404, "not_found");
  EXPECT_EQ(last_meta_.route, RouteId::kUnmatched);
  Answer a = Call(bhttp::verb::patch, "/v1/kv/1");
  ExpectError(a, 405, "method_not_allowed");
  EXPECT_EQ(a.Header(bhttp::field::allow), "GET, HEAD, PUT, DELETE");
  ExpectError(Get("/v1/put"), 405);
  ExpectError(Get("/v1/scan?start=1&start=2"), 400, "bad_request");
}

TEST_F(ApiTest, MediaTypes) {
  const std::string body = R"({"key": 1, "value": "x"})";
  for (const char* ok : {"application/json", "application/json; charset=utf-8", "Application/JSON",
                         "application/x-www-form-urlencoded", "text/plain;charset=UTF-8",
                         "application/merge-patch+json"}) {
    EXPECT_EQ(Call(bhttp::verb::post, "/v1/put", body, {{bhttp::field::content_type, ok}}).status, 200) << ok;
  }
  EXPECT_EQ(Post("/v1/put", body).status, 200) << "no Content-Type";
  for (const char* bad : {"multipart/form-data; boundary=x", "application/octet-stream", "application/xml",
                          "text/html"}) {
    ExpectError(Call(bhttp::verb::post, "/v1/put", body, {{bhttp::field::content_type, bad}}), 415,
                "unsupported_media_type");
  }
}

TEST_F(ApiTest, BatchPutIsAllOrNothing) {
  Answer ok = Post("/v1/batch/put", R"({"items": [{"key": 1, "value": "a"}, {"key": "2", "value": "b"}]})");
  ASSERT_EQ(ok.status, 200) << ok.res.body();
  EXPECT_EQ(ok.Json(), json({{"first_offset", 1}, {"count", 2}}));
  ExpectError(Post("/v1/batch/put", R"({"items": [{"key": 3, "value": "a"}, {"key": -1, "value": "b"}]})"), 400,
              "invalid_key");
  EXPECT_EQ(store_.writes_submitted(), 1) << "the bad batch never reached the store";
  ExpectError(Get("/v1/kv/3"), 404);

  HttpOptions opts;
  opts.max_batch_items = 2;
  Make(opts);
  ExpectError(Post("/v1/batch/put", R"({"items": [{"key":1,"value":"a"},{"key":2,"value":"a"},{"key":3,"value":"a"}]})"),
              413, "batch_too_large");
  ExpectError(Post("/v1/batch/get", R"({"keys": [1, 2, 3]})"), 413, "batch_too_large");
}

TEST_F(ApiTest, BatchGetKeepsOrderWithNulls) {
  Post("/v1/batch/put", R"({"items": [{"key": 1, "value": "a"}, {"key": 18446744073709551615, "value": "m"}]})");
  Answer a = Post("/v1/batch/get", R"({"keys": [18446744073709551615, 2, 1, "1"]})");
  ASSERT_EQ(a.status, 200) << a.res.body();
  EXPECT_EQ(a.Json(), json::parse(R"({"values": ["m", null, "a", "a"]})"));
  EXPECT_EQ(Post("/v1/batch/get", R"({"keys": []})").Json(), json::parse(R"({"values": []})"));
}

TEST_F(ApiTest, ScanPagesInOrder) {
  for (int k : {5, 1, 3, 9, 7}) Call(bhttp::verb::put, "/v1/kv/" + std::to_string(k), "v" + std::to_string(k));
  Answer all = Get("/v1/scan?start=0&end=100");
  ASSERT_EQ(all.status, 200) << all.res.body();
  json j = all.Json();
  ASSERT_EQ(j["items"].size(), 5u);
  EXPECT_EQ(j["items"][0], json({{"key", 1}, {"value", "v1"}, {"offset", 2}}));
  EXPECT_TRUE(j["next"].is_null());

  Answer page = Get("/v1/scan?start=2&end=9&limit=2");
  j = page.Json();
  ASSERT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["items"][0]["key"], 3);
  EXPECT_EQ(j["items"][1]["key"], 5);
  EXPECT_EQ(j["next"], 6);
  j = Get("/v1/scan?start=6&end=9&limit=2").Json();
  ASSERT_EQ(j["items"].size(), 1u) << "end is exclusive";
  EXPECT_EQ(j["items"][0]["key"], 7);
  EXPECT_TRUE(j["next"].is_null());

  ExpectError(Get("/v1/scan?start=9&end=2"), 400);
  ExpectError(Get("/v1/scan?limit=0"), 400);
  ExpectError(Get("/v1/scan?limit=-1"), 400);
  ExpectError(Get("/v1/scan?start=1.5"), 400, "invalid_key");
}

TEST_F(ApiTest, ScanLimitIsCappedAndOpenEndReachesMaxKey) {
  HttpOptions opts;
  opts.max_scan_limit = 3;
  Make(opts);
  for (int k = 0; k < 5; ++k) Call(bhttp::verb::put, "/v1/kv/" + std::to_string(k), "v");
  json j = Get("/v1/scan?limit=1000").Json();
  EXPECT_EQ(j["items"].size(), 3u);
  EXPECT_EQ(j["next"], 3);

  Call(bhttp::verb::put, "/v1/kv/18446744073709551615", "max");
  j = Get("/v1/scan?start=4").Json();
  ASSERT_EQ(j["items"].size(), 2u) << j.dump();
  EXPECT_EQ(j["items"][1]["key"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_TRUE(j["next"].is_null());
  j = Get("/v1/scan?start=4&limit=1").Json();
  EXPECT_EQ(j["next"], 5) << "the max key is still ahead";
}

TEST_F(ApiTest, AdminRoutes) {
  store_.checkpoint_info.offset = 42;
  store_.checkpoint_info.snapshot_bytes = 1000;
  store_.checkpoint_info.count = 7;
  store_.checkpoint_info.leaves = 2;
  store_.checkpoint_info.max_error = 3;
  store_.checkpoint_info.build_ms = 1.5;
  store_.checkpoint_info.wal_segments_removed = 4;
  json snap = Post("/v1/snapshot", "").Json();
  EXPECT_EQ(snap["status"], "ok");
  EXPECT_EQ(snap["offset"], 42);
  EXPECT_EQ(snap["bytes"], 1000);
  json rmi = Post("/v1/rmi/build", "").Json();
  EXPECT_EQ(rmi["ok"], true);
  EXPECT_EQ(rmi["count"], 7);
  EXPECT_EQ(rmi["leaves"], 2);
  EXPECT_EQ(rmi["max_error"], 3);
  EXPECT_EQ(rmi["build_ms"], 1.5);
  json compact = Post("/v1/compact", "").Json();
  EXPECT_EQ(compact["status"], "ok");
  EXPECT_EQ(compact["wal_segments_removed"], 4);
  EXPECT_EQ(store_.checkpoints, 3);
  EXPECT_EQ(Post("/v1/warmup", "").Json(), json({{"status", "ok"}}));
  Post("/v1/put", R"({"key": 1, "value": "x"})");
  EXPECT_EQ(Get("/v1/offset").Json(), json({{"offset", 1}}));
  json stats = Get("/v1/stats").Json();
  EXPECT_EQ(stats["last_offset"], 1);
  EXPECT_TRUE(stats["snapshot_age_seconds"].is_null());
  EXPECT_EQ(stats["read_only"], false);
}

TEST_F(ApiTest, OpenRoutes) {
  EXPECT_EQ(Get("/health").Json(), json({{"status", "ok"}}));
  EXPECT_EQ(Get("/ready").status, 200);
  Answer m = Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header(bhttp::field::content_type), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.res.body().find("kyrodb_http_connections_active"), std::string::npos);
  json info = Get("/build_info").Json();
  for (const char* f : {"version", "commit", "build_type", "compiler", "simd"}) EXPECT_TRUE(info[f].is_string()) << f;
  EXPECT_TRUE(info["features"].is_array());
  EXPECT_EQ(info["simd"], "unknown") << "no index layer in this test";
  state_->simd_level_name = [] { return "avx2"; };
  EXPECT_EQ(Get("/build_info").Json()["simd"], "avx2");
}

TEST_F(ApiTest, StartingAndStopping) {
  state_->store.store(nullptr);
  state_->ready.store(false);
  Answer a = Get("/v1/get_fast/1");
  ExpectError(a, 503, "unavailable");
  EXPECT_EQ(a.Header(bhttp::field::retry_after), "1");
  ExpectError(Post("/v1/snapshot", ""), 503);
  Answer h = Get("/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.Json()["status"], "starting");
  EXPECT_FALSE(h.Header(bhttp::field::retry_after).empty());
  EXPECT_EQ(Get("/ready").status, 503);
  EXPECT_EQ(Get("/metrics").status, 200) << "metrics are served during recovery";

  state_->store.store(&store_);
  EXPECT_EQ(Get("/health").status, 200);
  EXPECT_EQ(Get("/ready").status, 503) << "open is not ready until the index and warm-up are done";
  state_->ready.store(true);
  EXPECT_EQ(Get("/ready").status, 200);

  state_->draining.store(true);
  EXPECT_EQ(Get("/health").Json()["status"], "stopping");
  EXPECT_EQ(Get("/ready").status, 503);
}

TEST_F(ApiTest, ReadOnlyStoreIsDegradedAndWritesAre503) {
  store_.writable = false;
  Answer h = Get("/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.Json()["status"], "degraded");
  EXPECT_EQ(h.Json()["reason"], "disk full");
  store_.next_write_status = Status::Unavailable("store is read-only: disk full");
  Answer w = Post("/v1/put", R"({"key": 1, "value": "x"})");
  ExpectError(w, 503, "unavailable");
  EXPECT_FALSE(w.Header(bhttp::field::retry_after).empty());
}

TEST_F(ApiTest, StoreErrorsMapToStatuses) {
  struct Case {
    Status status;
    unsigned http;
  };
  const Case cases[] = {{Status::IOError("disk"), 503},
                        {Status::InvalidArgument("too big"), 400},
                        {Status::Corruption("bad crc"), 500},
                        {Status::Unavailable("closing"), 503}};
  for (const Case& c : cases) {
    store_.next_write_status = c.status;
    ExpectError(Call(bhttp::verb::put, "/v1/kv/1", "x"), c.http);
  }
}

TEST_F(ApiTest, ExceptionsBecome500) {
  store_.throw_on_get = true;
  ExpectError(Get("/v1/get_fast/1"), 500, "internal");
}

TEST_F(ApiTest, AuthTokens) {
  HttpOptions opts;
  opts.auth_token = "data-token-1234567";
  opts.admin_token = "admin-token-1234567";
  Make(opts);
  Answer a = Get("/v1/get_fast/1");
  ExpectError(a, 401, "unauthorized");
  EXPECT_EQ(a.Header(bhttp::field::www_authenticate), "Bearer realm=\"kyrodb\"");
  a = Call(bhttp::verb::get, "/v1/get_fast/1", "", {{bhttp::field::authorization, "Bearer wrong"}});
  ExpectError(a, 401);
  EXPECT_NE(a.Header(bhttp::field::www_authenticate).find("invalid_token"), std::string::npos);
  EXPECT_EQ(a.res.body().find("data-token"), std::string::npos);
  ExpectError(Call(bhttp::verb::get, "/v1/get_fast/1", "", {{bhttp::field::authorization, "Bearer data-token-1234567"}}),
              404);
  ExpectError(Call(bhttp::verb::get, "/v1/offset", "", {{bhttp::field::authorization, "Bearer data-token-1234567"}}),
              403, "forbidden");
  EXPECT_EQ(Call(bhttp::verb::get, "/v1/offset", "", {{bhttp::field::authorization, "Bearer admin-token-1234567"}})
                .status,
            200);
  EXPECT_EQ(Get("/health").status, 200) << "open routes need no token";
  std::string text = prometheus::TextSerializer().Serialize(metrics::Collect(*registry_));
  EXPECT_NE(text.find("kyrodb_http_auth_failures_total 3"), std::string::npos) << text;
}

TEST_F(ApiTest, RateLimitsPerClass) {
  auto now = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::time_point{} +
                                                                      std::chrono::hours(1));
  HttpOptions opts;
  opts.data_rate = {1, 2};
  opts.admin_rate = {1, 1};
  Make(opts, [now] { return *now; });
  EXPECT_EQ(Get("/v1/get_fast/1").status, 404);
  EXPECT_EQ(Get("/v1/get_fast/1").status, 404);
  Answer limited = Get("/v1/get_fast/1");
  ExpectError(limited, 429, "rate_limited");
  EXPECT_EQ(limited.Header(bhttp::field::retry_after), "1");
  EXPECT_EQ(Get("/v1/offset").status, 200) << "admin has its own bucket";
  ExpectError(Get("/v1/offset"), 429);
  EXPECT_EQ(Get("/health").status, 200) << "open routes are not limited";
  *now += std::chrono::seconds(1);
  EXPECT_EQ(Get("/v1/get_fast/1").status, 404);
  std::string text = prometheus::TextSerializer().Serialize(metrics::Collect(*registry_));
  EXPECT_NE(text.find("kyrodb_http_rate_limited_total{class=\"data\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("kyrodb_http_rate_limited_total{class=\"admin\"} 1"), std::string::npos) << text;
}

TEST_F(ApiTest, IdempotencyKeyReachesTheStore) {
  auto send = [&](const std::string& target, bhttp::verb verb, std::string body, const std::string& key) {
    Request r{verb, target, 11};
    r.set("Idempotency-Key", key);
    r.body() = std::move(body);
    r.prepare_payload();
    auto promise = std::make_shared<std::promise<Response>>();
    RequestMeta meta;
    Reply reply = [promise](Response res) { promise->set_value(std::move(res)); };
    auto now = HandleRequest(*state_, r, client_, &meta, reply);
    return now ? now->result_int() : promise->get_future().get().result_int();
  };
  EXPECT_EQ(send("/v1/put", bhttp::verb::post, R"({"key": 1, "value": "x"})", "req-1"), 200u);
  EXPECT_EQ(store_.last_idempotency_key(), "req-1");
  EXPECT_EQ(send("/v1/kv/2", bhttp::verb::put, "y", "req-2"), 200u);
  EXPECT_EQ(store_.last_idempotency_key(), "req-2");
  EXPECT_EQ(send("/v1/kv/2", bhttp::verb::delete_, "", "req-3"), 200u);
  EXPECT_EQ(store_.last_idempotency_key(), "req-3");
  EXPECT_EQ(send("/v1/batch/put", bhttp::verb::post, R"({"items": [{"key": 1, "value": "a"}]})", "req-4"), 200u);
  EXPECT_EQ(store_.last_idempotency_key(), "req-4");
  int before = store_.writes_submitted();
  EXPECT_EQ(send("/v1/kv/2", bhttp::verb::put, "y", std::string(65, 'k')), 400u);
  EXPECT_EQ(send("/v1/kv/2", bhttp::verb::put, "y", "has space"), 400u);
  EXPECT_EQ(send("/v1/kv/2", bhttp::verb::put, "y", ""), 400u);
  EXPECT_EQ(store_.writes_submitted(), before) << "a bad key writes nothing";
  EXPECT_EQ(send("/v1/kv/2", bhttp::verb::get, "", std::string(65, 'k')), 404u) << "reads ignore the header";
}

TEST_F(ApiTest, WriteClassification) {
  auto is_write = [](bhttp::verb v, const char* target) {
    Request req{v, target, 11};
    return IsWriteRequest(req);
  };
  EXPECT_TRUE(is_write(bhttp::verb::post, "/v1/put"));
  EXPECT_TRUE(is_write(bhttp::verb::post, "/v1/batch/put"));
  EXPECT_TRUE(is_write(bhttp::verb::put, "/v1/kv/1"));
  EXPECT_TRUE(is_write(bhttp::verb::delete_, "/v1/kv/1"));
  EXPECT_FALSE(is_write(bhttp::verb::get, "/v1/kv/1"));
  EXPECT_FALSE(is_write(bhttp::verb::post, "/v1/batch/get"));
  EXPECT_FALSE(is_write(bhttp::verb::post, "/v1/snapshot"));
  EXPECT_FALSE(is_write(bhttp::verb::get, "/v1/put"));
}

TEST(HttpMetrics, RequestCountersAndRejections) {
  prometheus::Registry registry;
  HttpMetrics m(registry);
  m.ObserveRequest(RouteId::kKv, Method::kGet, 200, 0.001);
  m.ObserveRequest(RouteId::kKv, Method::kGet, 200, 0.002);
  m.ObserveRequest(RouteId::kKv, Method::kGet, 418, 0.002);  // a status outside the cached set
  m.ObserveRequest(RouteId::kUnmatched, Method::kOther, 404, 0.002);
  m.Rejected(RejectReason::kHeaderTooLarge);
  std::string text = prometheus::TextSerializer().Serialize(metrics::Collect(registry));
  EXPECT_NE(text.find(R"(kyrodb_http_requests_total{method="GET",route="/v1/kv/{key}",status="200"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(status="418"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(kyrodb_http_requests_total{method="OTHER",route="unmatched",status="404"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(kyrodb_http_request_duration_seconds_count{route="/v1/kv/{key}"} 3)"), std::string::npos);
  EXPECT_NE(text.find(R"(kyrodb_http_rejected_inputs_total{reason="header_too_large"} 1)"), std::string::npos);
}

TEST(Errors, Shape) {
  Response r = MakeError(bhttp::status::not_found, "not_found", "key 42 not found");
  EXPECT_EQ(r.result_int(), 404u);
  EXPECT_EQ(Sv(r[bhttp::field::content_type]), "application/json");
  EXPECT_EQ(r.body(), R"({"error":{"code":"not_found","message":"key 42 not found"}})");
  // Bytes from a client that are not UTF-8 cannot break the JSON.
  r = MakeError(bhttp::status::bad_request, "invalid_key", "invalid key \"\xff\"");
  EXPECT_TRUE(json::parse(r.body(), nullptr, false).is_object()) << r.body();
  r = MakeRetryError(bhttp::status::too_many_requests, "rate_limited", "slow down", 0);
  EXPECT_EQ(Sv(r[bhttp::field::retry_after]), "1") << "at least one second";
}

}  // namespace
}  // namespace kyrodb::http
