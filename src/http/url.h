// Request-target handling: split path and query, percent-decode, and read
// query parameters. Bounded by the header limit the parser already enforced.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kyrodb::http {

struct Target {
  std::string_view path;   // still percent-encoded
  std::string_view query;  // without '?', still percent-encoded
};

// Accepts origin-form ("/v1/kv/1?x=y") and absolute-form
// ("http://host/v1/kv/1"), which HTTP/1.1 servers must also take.
Target SplitTarget(std::string_view target);

// Decodes %XX escapes ('+' stays '+': this is RFC 3986, not form encoding).
// Returns false on a malformed escape ("%", "%4", "%zz").
bool PercentDecode(std::string_view in, std::string* out);

class QueryParams {
 public:
  // Fails (with a message) on a malformed escape or a name given twice: a
  // repeated ?key= is ambiguous, and silently picking one hides client bugs.
  bool Parse(std::string_view query, std::string* error);
  // nullptr when absent.
  const std::string* Find(std::string_view name) const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace kyrodb::http
