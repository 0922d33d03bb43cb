// fuzz_http_key: http::ParseKey, the one place key text becomes a u64
// (path segments, query values, JSON strings and non-integer JSON numbers).
//
// Input: the key text.
//
// Invariants, against a reference written out here from SPEC §1:
//  - accepted exactly when the text is 1+ ASCII digits with value < 2^64;
//  - the value printed in decimal is the text without its leading zeros;
//  - a refusal leaves *key alone and says "invalid <what> \"<text>...\": why",
//    with the quoted text cut at 64 bytes (so a 1 MB key is a short message);
//  - JsonToKey on the same text as a JSON string agrees with ParseKey.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "http/json_body.h"
#include "http/key_parse.h"

namespace {

// SPEC §1 restated: digits only, at least one, below 2^64.
bool ReferenceKey(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (~uint64_t{0} - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  uint64_t want = 0;
  const bool valid = ReferenceKey(text, &want);

  constexpr uint64_t kUntouched = 0x5A5A5A5A5A5A5A5Aull;
  uint64_t key = kUntouched;
  std::string error;
  const bool ok = kyrodb::http::ParseKey(text, "key", &key, &error);
  FUZZ_CHECK(ok == valid, "ParseKey says %d, reference %d, for %zu bytes", ok, valid, size);
  if (ok) {
    FUZZ_CHECK(key == want, "ParseKey value %llu, reference %llu", static_cast<unsigned long long>(key),
               static_cast<unsigned long long>(want));
    const size_t zeros = std::min(text.find_first_not_of('0'), text.size() - 1);
    FUZZ_CHECK(std::to_string(key) == text.substr(zeros), "value does not print back as its text");
  } else {
    FUZZ_CHECK(key == kUntouched, "a refused key was written");
    FUZZ_CHECK(error.rfind("invalid key \"", 0) == 0, "message: %s", error.c_str());
    // "invalid key " + quote (at most 64 bytes + '"' + "..." + '"') + ": " + reason.
    FUZZ_CHECK(error.size() <= 12 + 69 + 2 + 64, "message of %zu bytes for a %zu-byte key", error.size(), size);
  }
  const std::string quoted = kyrodb::http::QuoteForMessage(text);
  FUZZ_CHECK(quoted.size() <= 69 && quoted.front() == '"' && quoted.back() == '"', "QuoteForMessage gave %zu bytes",
             quoted.size());

  // The same text as a JSON string member.
  uint64_t from_json = kUntouched;
  std::string json_error;
  const bool json_ok = kyrodb::http::JsonToKey(nlohmann::json(std::string(text)), "key", &from_json, &json_error);
  FUZZ_CHECK(json_ok == ok && (!ok || from_json == key), "JsonToKey and ParseKey disagree");
  return 0;
}
