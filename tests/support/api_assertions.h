// GoogleTest predicates for the HTTP contract of SPEC §2, shared by the
// integration and crash tests. Each returns an AssertionResult whose failure
// message shows the whole response, so a failing test says what came back.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "support/http_client.h"

namespace kyrodb::test {

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Content-Type present and starting with `media_type` (parameters such as
// "; charset=utf-8" allowed).
inline ::testing::AssertionResult HasContentType(const HttpResponse& r, std::string_view media_type) {
  const std::string ct = Lower(r.Header("Content-Type"));
  if (ct.rfind(Lower(media_type), 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected Content-Type " << media_type << ", got " << r.Describe();
}

// Every response carries some Content-Type (SPEC §2).
inline ::testing::AssertionResult HasAnyContentType(const HttpResponse& r) {
  if (r.status != 0 && !r.Header("Content-Type").empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no Content-Type: " << r.Describe();
}

// `status` with a JSON body {"error": {"code": "...", "message": "..."}};
// when `code` is given it must match.
inline ::testing::AssertionResult IsJsonError(const HttpResponse& r, int status, std::string_view code = {}) {
  if (r.status != status) {
    return ::testing::AssertionFailure() << "expected status " << status << ", got " << r.Describe();
  }
  if (!HasContentType(r, "application/json")) {
    return ::testing::AssertionFailure() << "error is not application/json: " << r.Describe();
  }
  const auto j = r.Json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    return ::testing::AssertionFailure() << "error body is not {\"error\": {...}}: " << r.Describe();
  }
  const auto& e = j["error"];
  if (!e.contains("code") || !e["code"].is_string() || e["code"].get<std::string>().empty() ||
      !e.contains("message") || !e["message"].is_string() || e["message"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "error lacks a code or message string: " << r.Describe();
  }
  if (!code.empty() && e["code"].get<std::string>() != code) {
    return ::testing::AssertionFailure() << "expected error code '" << code << "': " << r.Describe();
  }
  return ::testing::AssertionSuccess();
}

// 200 with a JSON object body.
inline ::testing::AssertionResult IsJsonOk(const HttpResponse& r) {
  if (r.status != 200) return ::testing::AssertionFailure() << "expected 200, got " << r.Describe();
  if (!HasContentType(r, "application/json")) return ::testing::AssertionFailure() << "not JSON: " << r.Describe();
  if (!r.Json().is_object()) return ::testing::AssertionFailure() << "body is not a JSON object: " << r.Describe();
  return ::testing::AssertionSuccess();
}

// A write's acknowledgement: 200 {"offset": N} with N > 0. Stores N.
inline ::testing::AssertionResult IsWriteAck(const HttpResponse& r, uint64_t* offset = nullptr) {
  auto ok = IsJsonOk(r);
  if (!ok) return ok;
  const auto j = r.Json();
  if (!j.contains("offset") || !j["offset"].is_number_unsigned() || j["offset"].get<uint64_t>() == 0) {
    return ::testing::AssertionFailure() << "no positive integer offset: " << r.Describe();
  }
  if (offset != nullptr) *offset = j["offset"].get<uint64_t>();
  return ::testing::AssertionSuccess();
}

}  // namespace kyrodb::test
