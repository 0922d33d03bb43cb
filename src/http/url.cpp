#include "http/url.h"

#include "http/key_parse.h"

namespace kyrodb::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Target SplitTarget(std::string_view target) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() >= scheme.size() && target.substr(0, scheme.size()) == scheme) {
      auto slash = target.find('/', scheme.size());
      target = (slash == std::string_view::npos) ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  Target t;
  auto q = target.find('?');
  t.path = target.substr(0, q);
  if (q != std::string_view::npos) t.query = target.substr(q + 1);
  return t;
}

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]);
    int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool QueryParams::Parse(std::string_view query, std::string* error) {
  params_.clear();
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = (amp == std::string_view::npos) ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2"
    auto eq = part.find('=');
    std::string name;
    std::string value;
    if (!PercentDecode(part.substr(0, eq), &name) ||
        (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), &value))) {
      *error = "malformed percent-escape in query parameter " + QuoteForMessage(part);
      return false;
    }
    if (Find(name) != nullptr) {
      *error = "query parameter " + QuoteForMessage(name) + " given more than once";
      return false;
    }
    params_.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

const std::string* QueryParams::Find(std::string_view name) const {
  for (const auto& [n, v] : params_) {
    if (n == name) return &v;
  }
  return nullptr;
}

}  // namespace kyrodb::http
