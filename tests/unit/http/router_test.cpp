// Route table, target splitting, percent-decoding and query parameters.
#include "http/router.h"

#include <gtest/gtest.h>

#include "http/url.h"

namespace kyrodb::http {
namespace {

using Outcome = RouteMatch::Outcome;

TEST(Router, ExactRoutes) {
  struct Case {
    bhttp::verb verb;
    const char* path;
    RouteId route;
  };
  const Case cases[] = {
      {bhttp::verb::post, "/v1/put", RouteId::kPut},
      {bhttp::verb::get, "/v1/lookup", RouteId::kLookup},
      {bhttp::verb::post, "/v1/batch/put", RouteId::kBatchPut},
      {bhttp::verb::post, "/v1/batch/get", RouteId::kBatchGet},
      {bhttp::verb::get, "/v1/scan", RouteId::kScan},
      {bhttp::verb::get, "/v1/offset", RouteId::kOffset},
      {bhttp::verb::post, "/v1/snapshot", RouteId::kSnapshot},
      {bhttp::verb::post, "/v1/rmi/build", RouteId::kRmiBuild},
      {bhttp::verb::post, "/v1/compact", RouteId::kCompact},
      {bhttp::verb::post, "/v1/warmup", RouteId::kWarmup},
      {bhttp::verb::get, "/v1/stats", RouteId::kStats},
      {bhttp::verb::get, "/health", RouteId::kHealth},
      {bhttp::verb::head, "/health", RouteId::kHealth},
      {bhttp::verb::get, "/ready", RouteId::kReady},
      {bhttp::verb::get, "/metrics", RouteId::kMetrics},
      {bhttp::verb::get, "/build_info", RouteId::kBuildInfo},
  };
  for (const Case& c : cases) {
    RouteMatch m = MatchRoute(c.verb, c.path);
    EXPECT_EQ(m.outcome, Outcome::kFound) << c.path;
    EXPECT_EQ(m.route, c.route) << c.path;
    EXPECT_TRUE(m.param.empty());
  }
}

TEST(Router, KeySegment) {
  RouteMatch m = MatchRoute(bhttp::verb::get, "/v1/kv/18446744073709551615");
  EXPECT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(m.route, RouteId::kKv);
  EXPECT_EQ(m.param, "18446744073709551615");
  for (auto verb : {bhttp::verb::put, bhttp::verb::delete_, bhttp::verb::head}) {
    EXPECT_EQ(MatchRoute(verb, "/v1/kv/1").outcome, Outcome::kFound);
  }
  m = MatchRoute(bhttp::verb::get, "/v1/get_fast/abc");
  EXPECT_EQ(m.route, RouteId::kGetFast);
  EXPECT_EQ(m.param, "abc") << "the handler, not the router, judges the key";
  m = MatchRoute(bhttp::verb::get, "/v1/kv/");
  EXPECT_EQ(m.outcome, Outcome::kFound) << "an empty key is a 400 from the handler";
  EXPECT_EQ(m.param, "");
}

TEST(Router, UnknownPathsAre404) {
  for (const char* path : {"/", "", "/nope", "/v1", "/v1/", "/v1/put/", "/v1/kv", "/v1/kv/1/extra", "/v2/put",
                           "/healthz", "/HEALTH", "//v1/put", "/v1//put", "/v1/get_fast"}) {
    RouteMatch m = MatchRoute(bhttp::verb::get, path);
    EXPECT_EQ(m.outcome, Outcome::kNotFound) << path;
    EXPECT_EQ(m.route, RouteId::kUnmatched) << path;
  }
}

TEST(Router, WrongMethodIs405WithAllow) {
  RouteMatch m = MatchRoute(bhttp::verb::patch, "/v1/kv/1");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, PUT, DELETE");
  m = MatchRoute(bhttp::verb::get, "/v1/put");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");
  m = MatchRoute(bhttp::verb::post, "/health");
  EXPECT_EQ(m.allow, "GET, HEAD");
  m = MatchRoute(bhttp::verb::options, "/v1/scan");
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
}

TEST(Router, RouteClasses) {
  EXPECT_EQ(GetRouteInfo(RouteId::kPut).route_class, RouteClass::kData);
  EXPECT_EQ(GetRouteInfo(RouteId::kScan).route_class, RouteClass::kData);
  EXPECT_EQ(GetRouteInfo(RouteId::kOffset).route_class, RouteClass::kAdmin);
  EXPECT_EQ(GetRouteInfo(RouteId::kStats).route_class, RouteClass::kAdmin);
  EXPECT_EQ(GetRouteInfo(RouteId::kMetrics).route_class, RouteClass::kOpen);
  EXPECT_TRUE(GetRouteInfo(RouteId::kPut).json_body);
  EXPECT_FALSE(GetRouteInfo(RouteId::kKv).json_body) << "raw bytes, any content type";
  for (size_t i = 0; i < kRouteCount; ++i) EXPECT_EQ(static_cast<size_t>(GetRouteInfo(RouteId(i)).id), i);
}

TEST(Url, SplitTarget) {
  Target t = SplitTarget("/v1/scan?start=1&end=2");
  EXPECT_EQ(t.path, "/v1/scan");
  EXPECT_EQ(t.query, "start=1&end=2");
  t = SplitTarget("/health");
  EXPECT_EQ(t.path, "/health");
  EXPECT_EQ(t.query, "");
  t = SplitTarget("http://example.com:3030/v1/lookup?key=1");
  EXPECT_EQ(t.path, "/v1/lookup");
  EXPECT_EQ(t.query, "key=1");
  t = SplitTarget("http://example.com");
  EXPECT_EQ(t.path, "/");
}

TEST(Url, PercentDecode) {
  std::string out;
  ASSERT_TRUE(PercentDecode("%31%32x", &out));
  EXPECT_EQ(out, "12x");
  ASSERT_TRUE(PercentDecode("a+b%2B", &out));
  EXPECT_EQ(out, "a+b+") << "'+' is not a space outside form encoding";
  ASSERT_TRUE(PercentDecode("%00", &out));
  EXPECT_EQ(out, std::string(1, '\0'));
  for (const char* bad : {"%", "%4", "%zz", "a%g1", "%%"}) EXPECT_FALSE(PercentDecode(bad, &out)) << bad;
}

TEST(Url, QueryParams) {
  QueryParams q;
  std::string error;
  ASSERT_TRUE(q.Parse("start=1&end=%32&flag&&empty=", &error)) << error;
  ASSERT_NE(q.Find("start"), nullptr);
  EXPECT_EQ(*q.Find("start"), "1");
  EXPECT_EQ(*q.Find("end"), "2");
  EXPECT_EQ(*q.Find("flag"), "");
  EXPECT_EQ(*q.Find("empty"), "");
  EXPECT_EQ(q.Find("limit"), nullptr);
  EXPECT_FALSE(q.Parse("key=1&key=2", &error));
  EXPECT_NE(error.find("more than once"), std::string::npos);
  EXPECT_FALSE(q.Parse("key=%zz", &error));
  EXPECT_NE(error.find("percent"), std::string::npos);
}

}  // namespace
}  // namespace kyrodb::http
