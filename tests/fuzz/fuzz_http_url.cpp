// fuzz_http_url: a request target through the steps api.cpp takes before a
// handler runs: SplitTarget, MatchRoute, the {key} segment's PercentDecode +
// ParseKey, and QueryParams::Parse.
//
// Input: method u8 (index into a list of Beast verbs) | request target.
//
// Invariants:
//  - SplitTarget's path and query are views into the target (or the "/" it
//    uses for an absolute-form target without a path), the path holds no '?';
//  - MatchRoute: a found route allows the method, a 405 names the allowed
//    methods, a {key} parameter holds no '/' and is the tail of the path;
//  - PercentDecode agrees with a reference decoder written out here, and
//    never grows its input;
//  - QueryParams::Parse agrees with a reference parser: same acceptance, and
//    every parameter found with its decoded value.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "http/key_parse.h"
#include "http/router.h"
#include "http/url.h"

namespace {

namespace http = kyrodb::http;
using http::bhttp::verb;

constexpr verb kVerbs[] = {verb::get,     verb::head,  verb::post,  verb::put,    verb::delete_,
                           verb::options, verb::patch, verb::trace, verb::connect, verb::unknown};

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding: every '%' must start a two-hex-digit escape.
bool RefDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (in.size() - i < 3 || Hex(in[i + 1]) < 0 || Hex(in[i + 2]) < 0) return false;
    *out += static_cast<char>(Hex(in[i + 1]) * 16 + Hex(in[i + 2]));
    i += 2;
  }
  return true;
}

// name=value pairs split on '&', empty parts skipped, no name twice.
bool RefQuery(std::string_view q, std::vector<std::pair<std::string, std::string>>* out) {
  out->clear();
  size_t start = 0;
  while (start <= q.size()) {
    size_t amp = q.find('&', start);
    if (amp == std::string_view::npos) amp = q.size();
    const std::string_view part = q.substr(start, amp - start);
    start = amp + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string name, value;
    if (!RefDecode(part.substr(0, eq), &name)) return false;
    if (eq != std::string_view::npos && !RefDecode(part.substr(eq + 1), &value)) return false;
    for (const auto& [n, v] : *out) {
      if (n == name) return false;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const verb method = kVerbs[data[0] % std::size(kVerbs)];
  const std::string_view target(reinterpret_cast<const char*>(data) + 1, size - 1);

  const http::Target t = http::SplitTarget(target);
  FUZZ_CHECK(Inside(t.path, target) || t.path == "/", "path is not a view into the target");
  FUZZ_CHECK(Inside(t.query, target), "query is not a view into the target");
  FUZZ_CHECK(t.path.find('?') == std::string_view::npos, "path holds a '?'");

  const http::RouteMatch m = http::MatchRoute(method, t.path);
  switch (m.outcome) {
    case http::RouteMatch::Outcome::kFound: {
      FUZZ_CHECK(m.route != http::RouteId::kUnmatched, "found the unmatched route");
      FUZZ_CHECK(m.allow.empty(), "Allow on a found route");
      break;
    }
    case http::RouteMatch::Outcome::kMethodNotAllowed:
      FUZZ_CHECK(m.route != http::RouteId::kUnmatched && !m.allow.empty(), "405 without Allow");
      FUZZ_CHECK(m.allow.find(http::MethodLabel(http::MethodOf(method))) == std::string::npos ||
                     http::MethodOf(method) == http::Method::kOther,
                 "405 whose Allow lists the method used: %s", m.allow.c_str());
      break;
    case http::RouteMatch::Outcome::kNotFound:
      FUZZ_CHECK(m.route == http::RouteId::kUnmatched && m.param.empty(), "404 with a route");
      break;
  }
  if (m.outcome != http::RouteMatch::Outcome::kNotFound) {
    const http::RouteInfo& info = http::GetRouteInfo(m.route);
    FUZZ_CHECK(info.id == m.route, "route table out of order");
    FUZZ_CHECK(m.param.find('/') == std::string_view::npos, "{key} holds a '/'");
    const bool templated = info.pattern.ends_with("{key}");
    FUZZ_CHECK(templated || (m.param.empty() && t.path == info.pattern), "exact route matched %zu-byte path",
               t.path.size());
    if (templated) {
      FUZZ_CHECK(t.path.ends_with(m.param) && Inside(m.param, t.path), "{key} is not the tail of the path");
      // What the handler does with it.
      std::string decoded, ref;
      const bool ok = http::PercentDecode(m.param, &decoded);
      FUZZ_CHECK(ok == RefDecode(m.param, &ref) && (!ok || decoded == ref), "PercentDecode disagrees on {key}");
      uint64_t key = 0;
      std::string error;
      if (ok && !http::ParseKey(decoded, "key", &key, &error)) FUZZ_CHECK(!error.empty(), "no message");
    }
  }

  std::string decoded, ref;
  const bool ok = http::PercentDecode(target, &decoded);
  FUZZ_CHECK(ok == RefDecode(target, &ref), "PercentDecode acceptance differs from the reference");
  if (ok) FUZZ_CHECK(decoded == ref && decoded.size() <= target.size(), "PercentDecode output differs");

  http::QueryParams params;
  std::string error;
  std::vector<std::pair<std::string, std::string>> want;
  const bool parsed = params.Parse(t.query, &error);
  FUZZ_CHECK(parsed == RefQuery(t.query, &want), "QueryParams::Parse acceptance differs: %s", error.c_str());
  if (!parsed) {
    FUZZ_CHECK(!error.empty(), "query refused without a message");
  } else {
    for (const auto& [name, value] : want) {
      const std::string* got = params.Find(name);
      FUZZ_CHECK(got != nullptr && *got == value, "parameter missing or with another value");
    }
    constexpr std::string_view kAbsent = "\x01" "absent";
    bool listed = false;
    for (const auto& kv : want) listed = listed || kv.first == kAbsent;
    FUZZ_CHECK(listed || params.Find(kAbsent) == nullptr, "found an absent parameter");
  }
  return 0;
}
