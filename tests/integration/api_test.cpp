// Every route of SPEC §2 on its happy path, against the real binary: status,
// Content-Type, body shape, and the key and value rules of SPEC §1.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "server_fixture.h"

namespace kyrodb::test {
namespace {

constexpr const char* kMaxKey = "18446744073709551615";

class ApiTest : public SharedServerTest {
 protected:
  static void SetUpTestSuite() { StartServer(); }
  static void TearDownTestSuite() { StopServer(); }

  uint64_t PutJson(const std::string& raw_json) {
    const auto r = client().Post("/v1/put", raw_json, {{"Content-Type", "application/json"}});
    uint64_t offset = 0;
    EXPECT_TRUE(IsWriteAck(r, &offset)) << "body sent: " << raw_json;
    return offset;
  }
  uint64_t PutRaw(const std::string& key, const std::string& value) {
    const auto r = client().Put("/v1/kv/" + key, value, {{"Content-Type", "application/octet-stream"}});
    uint64_t offset = 0;
    EXPECT_TRUE(IsWriteAck(r, &offset)) << "PUT /v1/kv/" << key;
    return offset;
  }
  // Skips the test when a route from a later slice is not served yet.
  static bool RouteMissing(const HttpResponse& r) { return r.status == 404 || r.status == 501; }
};

TEST_F(ApiTest, HealthIsOkJson) {
  const auto r = client().Get("/health");
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_EQ(r.Json()["status"], "ok") << r.Describe();
}

TEST_F(ApiTest, ReadyIs200AfterRecovery) {
  const auto r = client().Get("/ready");
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(HasAnyContentType(r));
}

TEST_F(ApiTest, BuildInfoHasEveryField) {
  const auto r = client().Get("/build_info");
  ASSERT_TRUE(IsJsonOk(r));
  const auto j = r.Json();
  for (const char* field : {"version", "commit", "build_type", "compiler", "simd"}) {
    ASSERT_TRUE(j.contains(field) && j[field].is_string() && !j[field].get<std::string>().empty())
        << "missing string field '" << field << "': " << r.Describe();
  }
  ASSERT_TRUE(j.contains("features") && j["features"].is_array()) << r.Describe();
  EXPECT_EQ(j["version"], "0.1.0");
}

TEST_F(ApiTest, MetricsArePrometheusTextWithEveryLayer) {
  // Traffic first so that the request counters have children.
  ASSERT_EQ(client().Get("/health").status, 200);
  PutJson(R"({"key": 900001, "value": "m"})");
  const auto r = client().Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(HasContentType(r, "text/plain"));
  EXPECT_NE(Lower(r.Header("Content-Type")).find("version=0.0.4"), std::string::npos) << r.Describe();

  // Exposition format 0.0.4: comments, or "name{labels} value [timestamp]".
  const std::regex sample(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEnaNInf]+( -?[0-9]+)?$)");
  const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::set<std::string> families;
  std::istringstream in(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      families.insert(m[1]);
      EXPECT_EQ(m[1].str().rfind("kyrodb_", 0), 0u) << "metric outside the kyrodb_ namespace: " << line;
      continue;
    }
    if (line[0] == '#') continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << "not a Prometheus sample line: " << line;
    ++samples;
  }
  EXPECT_GT(samples, 0);
  for (const char* layer : {"kyrodb_http_", "kyrodb_wal_", "kyrodb_snapshot_", "kyrodb_index_", "kyrodb_store_"}) {
    EXPECT_TRUE(std::any_of(families.begin(), families.end(),
                            [&](const std::string& f) { return f.rfind(layer, 0) == 0; }))
        << "no metric family starting with " << layer;
  }
}

TEST_F(ApiTest, PutThenGetFastReturnsRawBytes) {
  PutJson(R"({"key": 123, "value": "hello"})");
  const auto r = client().Get("/v1/get_fast/123");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(HasContentType(r, "application/octet-stream"));
}

TEST_F(ApiTest, LookupReturnsKeyValueAndOffset) {
  const uint64_t offset = PutJson(R"({"key": 124, "value": "world"})");
  const auto r = client().Get("/v1/lookup?key=124");
  ASSERT_TRUE(IsJsonOk(r));
  const auto j = r.Json();
  EXPECT_EQ(j["key"], 124u) << r.Describe();
  EXPECT_EQ(j["value"], "world") << r.Describe();
  EXPECT_EQ(j["offset"], offset) << r.Describe();
}

TEST_F(ApiTest, LastWriteWinsAndOffsetsStrictlyIncrease) {
  uint64_t previous = 0;
  for (int i = 0; i < 20; ++i) {
    const uint64_t offset =
        (i % 2 == 0) ? PutJson(R"({"key": 125, "value": "v)" + std::to_string(i) + R"("})")
                     : PutRaw("125", "v" + std::to_string(i));
    EXPECT_GT(offset, previous) << "write " << i;
    previous = offset;
  }
  const auto r = client().Get("/v1/get_fast/125");
  EXPECT_EQ(r.body, "v19") << r.Describe();
  const auto o = client().Get("/v1/offset");
  ASSERT_TRUE(IsJsonOk(o));
  EXPECT_EQ(o.Json()["offset"], previous) << "the last acknowledged offset: " << o.Describe();
}

TEST_F(ApiTest, KvRoundTripsEveryByteValue) {
  std::string value;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) value.push_back(static_cast<char>(b));
  }
  using namespace std::string_literals;
  value += "\r\n\r\nHTTP/1.1 200 OK\r\n\0tail"s;  // bytes that look like protocol
  const uint64_t offset = PutRaw("130", value);
  const auto r = client().Get("/v1/kv/130");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, value) << "binary value not byte-exact";
  EXPECT_TRUE(HasContentType(r, "application/octet-stream"));
  EXPECT_EQ(r.Header("X-KyroDB-Offset"), std::to_string(offset)) << r.Describe();
  EXPECT_NE(r.Header("ETag").find(std::to_string(offset)), std::string::npos)
      << "ETag should carry the value's offset: " << r.Describe();
  // The fast path serves the same bytes.
  const auto fast = client().Get("/v1/get_fast/130");
  EXPECT_EQ(fast.body, value);
}

TEST_F(ApiTest, KvConditionalGetByETag) {
  PutRaw("141", "v1");
  auto r = client().Get("/v1/kv/141");
  ASSERT_EQ(r.status, 200) << r.Describe();
  const std::string etag = r.Header("ETag");
  ASSERT_FALSE(etag.empty());
  r = client().Get("/v1/kv/141", {{"If-None-Match", etag}});
  EXPECT_EQ(r.status, 304) << "unchanged value: " << r.Describe();
  EXPECT_TRUE(r.body.empty());
  PutRaw("141", "v2");
  r = client().Get("/v1/kv/141", {{"If-None-Match", etag}});
  EXPECT_EQ(r.status, 200) << "changed value: " << r.Describe();
  EXPECT_EQ(r.body, "v2");
}

TEST_F(ApiTest, KvDeleteLeavesNotFound) {
  const uint64_t put_offset = PutRaw("131", "doomed");
  const auto del = client().Delete("/v1/kv/131");
  uint64_t del_offset = 0;
  ASSERT_TRUE(IsWriteAck(del, &del_offset));
  EXPECT_GT(del_offset, put_offset);
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/131"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/get_fast/131"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/lookup?key=131"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(client().Delete("/v1/kv/131"), 404, "not_found")) << "delete of an absent key";
  // And it can come back.
  PutRaw("131", "again");
  EXPECT_EQ(client().Get("/v1/kv/131").body, "again");
}

TEST_F(ApiTest, EmptyValuesAreValues) {
  PutRaw("132", "");
  auto r = client().Get("/v1/kv/132");
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "");
  PutJson(R"({"key": 133, "value": ""})");
  r = client().Get("/v1/lookup?key=133");
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_EQ(r.Json()["value"], "");
}

TEST_F(ApiTest, JsonValuesKeepUtf8AndEscapes) {
  const std::string value = "h\xC3\xA9llo \xE2\x82\xAC \"quoted\" \\ \n\t end";
  nlohmann::json body = {{"key", 134}, {"value", value}};
  ASSERT_TRUE(IsWriteAck(client().PostJson("/v1/put", body)));
  EXPECT_EQ(client().Get("/v1/get_fast/134").body, value);
  const auto r = client().Get("/v1/lookup?key=134");
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_EQ(r.Json()["value"], value);
}

TEST_F(ApiTest, LargestValueRoundTrips) {
  // KYRODB_MAX_VALUE_BYTES defaults to 1 MiB: exactly that much is accepted.
  std::string value(1u << 20, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>((i * 131) ^ (i >> 9));
  PutRaw("135", value);
  const auto r = client().Get("/v1/kv/135");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(r.body == value) << "1 MiB value differs (got " << r.body.size() << " bytes)";
}

TEST_F(ApiTest, KeyZeroAndMaxKeyWorkEverywhere) {
  PutJson(R"({"key": 0, "value": "zero"})");
  EXPECT_EQ(client().Get("/v1/get_fast/0").body, "zero");

  // As a JSON number.
  const uint64_t o1 = PutJson(std::string(R"({"key": )") + kMaxKey + R"(, "value": "max-number"})");
  auto r = client().Get(std::string("/v1/get_fast/") + kMaxKey);
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "max-number");
  r = client().Get(std::string("/v1/lookup?key=") + kMaxKey);
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_EQ(r.Json()["key"].dump(), kMaxKey) << "key must come back exactly: " << r.Describe();
  EXPECT_EQ(r.Json()["offset"], o1);

  // As a decimal string, for JavaScript clients.
  PutJson(std::string(R"({"key": ")") + kMaxKey + R"(", "value": "max-string"})");
  EXPECT_EQ(client().Get(std::string("/v1/kv/") + kMaxKey).body, "max-string");
  PutJson(R"({"key": "136", "value": "string-key"})");
  EXPECT_EQ(client().Get("/v1/get_fast/136").body, "string-key");

  // Raw route.
  PutRaw(kMaxKey, "max-raw");
  EXPECT_EQ(client().Get(std::string("/v1/get_fast/") + kMaxKey).body, "max-raw");
  ASSERT_TRUE(IsWriteAck(client().Delete(std::string("/v1/kv/") + kMaxKey)));
  EXPECT_TRUE(IsJsonError(client().Get(std::string("/v1/kv/") + kMaxKey), 404, "not_found"));
}

TEST_F(ApiTest, ReadmeQuickstartPutWithoutJsonContentType) {
  // The README's auth example is `curl ... /v1/put -d '{"key":1,"value":"secret"}'`,
  // which sends Content-Type: application/x-www-form-urlencoded.
  auto r = client().Post("/v1/put", R"({"key":137,"value":"secret"})",
                         {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_TRUE(IsWriteAck(r)) << "README's curl -d example must work";
  r = client().Post("/v1/put", R"({"key":138,"value":"no-type"})");
  EXPECT_TRUE(IsWriteAck(r)) << "a put without Content-Type";
  EXPECT_EQ(client().Get("/v1/get_fast/137").body, "secret");
}

TEST_F(ApiTest, OffsetIsJson) {
  const uint64_t offset = PutRaw("139", "x");
  const auto r = client().Get("/v1/offset");
  ASSERT_TRUE(IsJsonOk(r));
  ASSERT_TRUE(r.Json()["offset"].is_number_unsigned()) << r.Describe();
  EXPECT_GE(r.Json()["offset"].get<uint64_t>(), offset);
}

TEST_F(ApiTest, SnapshotReportsOffsetAndBytesAndKeepsData) {
  const uint64_t offset = PutRaw("140", "before-snapshot");
  const auto r = client().Post("/v1/snapshot", "");
  ASSERT_TRUE(IsJsonOk(r));
  const auto j = r.Json();
  EXPECT_EQ(j["status"], "ok") << r.Describe();
  ASSERT_TRUE(j.contains("offset") && j["offset"].is_number_unsigned()) << r.Describe();
  EXPECT_GE(j["offset"].get<uint64_t>(), offset);
  ASSERT_TRUE(j.contains("bytes") && j["bytes"].is_number_unsigned()) << r.Describe();
  EXPECT_GT(j["bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(std::filesystem::exists(server().data_dir() + "/snapshot.bin"));
  EXPECT_EQ(client().Get("/v1/kv/140").body, "before-snapshot");
  // Writes after a snapshot keep their order.
  EXPECT_GT(PutRaw("140", "after-snapshot"), offset);
  EXPECT_EQ(client().Get("/v1/kv/140").body, "after-snapshot");
}

TEST_F(ApiTest, RmiBuildReportsIndexShape) {
  for (int k = 0; k < 50; ++k) PutRaw(std::to_string(2000 + k * 7), "i");
  const auto r = client().Post("/v1/rmi/build", "");
  if (RouteMissing(r)) GTEST_SKIP() << "POST /v1/rmi/build not served yet: " << r.Describe();
  ASSERT_TRUE(IsJsonOk(r));
  const auto j = r.Json();
  EXPECT_EQ(j["ok"], true) << r.Describe();
  for (const char* field : {"count", "leaves", "max_error"}) {
    EXPECT_TRUE(j.contains(field) && j[field].is_number_unsigned()) << field << ": " << r.Describe();
  }
  EXPECT_TRUE(j.contains("build_ms") && j["build_ms"].is_number()) << r.Describe();
  EXPECT_GE(j["count"].get<uint64_t>(), 50u);
  EXPECT_EQ(client().Get("/v1/get_fast/2007").body, "i");
}

TEST_F(ApiTest, CompactKeepsLiveDataAndDropsDeleted) {
  PutRaw("150", "keep");
  PutRaw("151", "drop");
  ASSERT_TRUE(IsWriteAck(client().Delete("/v1/kv/151")));
  const auto r = client().Post("/v1/compact", "");
  if (RouteMissing(r)) GTEST_SKIP() << "POST /v1/compact not served yet: " << r.Describe();
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_EQ(r.Json()["status"], "ok") << r.Describe();
  EXPECT_EQ(client().Get("/v1/kv/150").body, "keep");
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/151"), 404, "not_found"));
}

TEST_F(ApiTest, WarmupIsOk) {
  const auto r = client().Post("/v1/warmup", "");
  if (RouteMissing(r)) GTEST_SKIP() << "POST /v1/warmup not served yet: " << r.Describe();
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_EQ(r.Json()["status"], "ok") << r.Describe();
}

TEST_F(ApiTest, StatsIsAJsonObject) {
  PutRaw("160", "s");
  const auto r = client().Get("/v1/stats");
  if (RouteMissing(r)) GTEST_SKIP() << "GET /v1/stats not served yet: " << r.Describe();
  ASSERT_TRUE(IsJsonOk(r));
  EXPECT_FALSE(r.Json().empty()) << r.Describe();
}

TEST_F(ApiTest, BatchPutIsOneGroupAndBatchGetKeepsOrder) {
  const auto before = client().Get("/v1/offset").Json()["offset"].get<uint64_t>();
  nlohmann::json items = nlohmann::json::array();
  items.push_back({{"key", 170}, {"value", "a"}});
  items.push_back({{"key", 171}, {"value", "b"}});
  items.push_back({{"key", kMaxKey}, {"value", "c"}});
  const auto r = client().PostJson("/v1/batch/put", {{"items", items}});
  if (RouteMissing(r)) GTEST_SKIP() << "POST /v1/batch/put not served yet: " << r.Describe();
  ASSERT_TRUE(IsJsonOk(r));
  const auto j = r.Json();
  EXPECT_EQ(j["count"], 3u) << r.Describe();
  ASSERT_TRUE(j["first_offset"].is_number_unsigned()) << r.Describe();
  EXPECT_GT(j["first_offset"].get<uint64_t>(), before);
  // Each item has its own offset: first_offset + index.
  const auto last = client().Get("/v1/offset").Json()["offset"].get<uint64_t>();
  EXPECT_EQ(last, j["first_offset"].get<uint64_t>() + 2);

  const auto g = client().PostJson("/v1/batch/get", {{"keys", {171, 172, 170, kMaxKey}}});
  if (RouteMissing(g)) GTEST_SKIP() << "POST /v1/batch/get not served yet: " << g.Describe();
  ASSERT_TRUE(IsJsonOk(g));
  EXPECT_EQ(g.Json()["values"], nlohmann::json::parse(R"(["b", null, "a", "c"])")) << g.Describe();
}

TEST_F(ApiTest, BatchPutIsAllOrNothing) {
  nlohmann::json items = nlohmann::json::array();
  items.push_back({{"key", 180}, {"value", "ok"}});
  items.push_back({{"key", -1}, {"value", "bad key"}});
  const auto r = client().PostJson("/v1/batch/put", {{"items", items}});
  if (RouteMissing(r)) GTEST_SKIP() << "POST /v1/batch/put not served yet: " << r.Describe();
  EXPECT_TRUE(IsJsonError(r, 400));
  EXPECT_TRUE(IsJsonError(client().Get("/v1/kv/180"), 404, "not_found")) << "half of a rejected batch landed";
}

TEST_F(ApiTest, ScanIsOrderedNewestAndPaged) {
  // Keys 300..319, overwrite the even ones, delete every fifth.
  for (int k = 300; k < 320; ++k) PutRaw(std::to_string(k), "old" + std::to_string(k));
  for (int k = 300; k < 320; k += 2) PutRaw(std::to_string(k), "new" + std::to_string(k));
  for (int k = 300; k < 320; k += 5) ASSERT_TRUE(IsWriteAck(client().Delete("/v1/kv/" + std::to_string(k))));
  auto r = client().Get("/v1/scan?start=300&end=320&limit=1000");
  if (RouteMissing(r)) GTEST_SKIP() << "GET /v1/scan not served yet: " << r.Describe();
  ASSERT_TRUE(IsJsonOk(r));
  // Accept the items under "items", "entries" or "results" as [{"key","value"}].
  auto list_of = [](const nlohmann::json& j) -> nlohmann::json {
    for (const char* name : {"items", "entries", "results", "keys"}) {
      if (j.contains(name) && j[name].is_array()) return j[name];
    }
    return nlohmann::json::array();
  };
  std::vector<std::pair<uint64_t, std::string>> got;
  for (const auto& e : list_of(r.Json())) {
    got.emplace_back(e["key"].get<uint64_t>(), e.value("value", ""));
  }
  std::vector<std::pair<uint64_t, std::string>> want;
  for (int k = 300; k < 320; ++k) {
    if ((k - 300) % 5 == 0) continue;
    want.emplace_back(k, (k % 2 == 0 ? "new" : "old") + std::to_string(k));
  }
  EXPECT_EQ(got, want) << r.Describe();

  // Paging: limit 4 with a cursor until the end, bounded.
  std::vector<uint64_t> paged;
  std::string target = "/v1/scan?start=300&end=320&limit=4";
  for (int page = 0; page < 20; ++page) {
    r = client().Get(target);
    ASSERT_TRUE(IsJsonOk(r));
    const auto j = r.Json();
    const auto items = list_of(j);
    EXPECT_LE(items.size(), 4u);
    for (const auto& e : items) paged.push_back(e["key"].get<uint64_t>());
    if (!j.contains("next") || j["next"].is_null()) break;
    const std::string next = j["next"].is_string() ? j["next"].get<std::string>() : j["next"].dump();
    target = "/v1/scan?start=" + next + "&end=320&limit=4";
  }
  std::vector<uint64_t> want_keys;
  for (const auto& [k, v] : want) want_keys.push_back(k);
  EXPECT_EQ(paged, want_keys);
}

TEST_F(ApiTest, EveryResponseHasContentType) {
  const char* targets[] = {"/health", "/ready", "/metrics", "/build_info", "/v1/offset", "/v1/get_fast/999999999",
                           "/v1/lookup?key=999999999", "/v1/kv/999999999", "/no/such/route"};
  for (const char* t : targets) {
    const auto r = client().Get(t);
    EXPECT_TRUE(HasAnyContentType(r)) << "GET " << t;
  }
}

}  // namespace
}  // namespace kyrodb::test
