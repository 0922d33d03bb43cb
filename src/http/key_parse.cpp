#include "http/key_parse.h"

#include <charconv>
#include <system_error>

namespace kyrodb::http {
namespace {

constexpr size_t kMaxQuoted = 64;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Why `text` is not a plain run of digits, most specific reason first.
const char* Problem(std::string_view text) {
  if (text.empty()) return "must not be empty";
  for (char c : text) {
    if (IsSpace(c)) return "must not contain whitespace";
  }
  if (text[0] == '+') return "must not have a sign";
  if (text[0] == '-') return "must not be negative";
  bool only_number_chars = true;
  bool has_dot = false;
  bool has_exp = false;
  bool has_digit = false;
  for (char c : text) {
    has_digit = has_digit || IsDigit(c);
    if (c == '.') {
      has_dot = true;
    } else if (c == 'e' || c == 'E') {
      has_exp = true;
    } else if (!IsDigit(c) && c != '+' && c != '-') {
      only_number_chars = false;
    }
  }
  if (only_number_chars && has_digit && has_exp) return "must not use an exponent";
  if (only_number_chars && has_digit && has_dot) return "must be a whole number (no fraction)";
  for (char c : text) {
    if (!IsDigit(c)) return "must be a decimal integer";
  }
  return nullptr;
}

}  // namespace

std::string QuoteForMessage(std::string_view text) {
  std::string out = "\"";
  out.append(text.substr(0, kMaxQuoted));
  if (text.size() > kMaxQuoted) out += "...";
  out += '"';
  return out;
}

bool ParseKey(std::string_view text, std::string_view what, uint64_t* key, std::string* error) {
  if (const char* problem = Problem(text)) {
    *error = "invalid " + std::string(what) + " " + QuoteForMessage(text) + ": " + problem;
    return false;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec == std::errc::result_out_of_range) {
    *error = "invalid " + std::string(what) + " " + QuoteForMessage(text) +
             ": out of range (the largest key is 18446744073709551615)";
    return false;
  }
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    *error = "invalid " + std::string(what) + " " + QuoteForMessage(text) + ": must be a decimal integer";
    return false;
  }
  *key = value;
  return true;
}

}  // namespace kyrodb::http
