// Request bodies of the JSON routes, decoded into plain structs.
//
// Parsing goes through nlohmann's SAX interface into a DOM we build ourselves,
// for three reasons the stock parser cannot give us:
//  - nesting depth is bounded (a body of 100k '[' is a 400, not a deep DOM);
//  - a member name given twice is an error instead of "last one wins";
//  - a number that is not a plain integer (1.5, 1e3, 18446744073709551616)
//    keeps its source text, so a bad key is reported exactly as it was sent.
// Such numbers are stored in the DOM as a JSON `binary` holding that text: JSON
// text can never produce a binary, so the marker cannot be forged.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kyrodb::http {

inline constexpr size_t kMaxJsonDepth = 32;

// Parses one JSON document (nothing may follow it). On failure returns false
// with a message such as "invalid JSON: ... at line 1, column 9".
bool ParseJsonBody(std::string_view body, nlohmann::json* out, std::string* error,
                   size_t max_depth = kMaxJsonDepth);

// A key from a DOM value: a JSON integer or a decimal string (SPEC §1).
bool JsonToKey(const nlohmann::json& v, std::string_view what, uint64_t* key, std::string* error);

// Why a body was refused; each maps to one status and one rejected-input
// reason in the metrics.
enum class BodyError {
  kInvalidJson,    // 400 invalid_json
  kInvalidKey,     // 400 invalid_key
  kBadShape,       // 400 bad_request: a field missing or of the wrong type
  kValueTooLarge,  // 413 value_too_large
  kTooManyItems,   // 413 batch_too_large
};

struct DecodeError {
  BodyError kind = BodyError::kInvalidJson;
  std::string message;
};

struct PutItem {
  uint64_t key = 0;
  std::string value;
};

// {"key": 123, "value": "hello"}
bool DecodePut(std::string_view body, size_t max_value_bytes, PutItem* out, DecodeError* error);
// {"items": [{"key": 1, "value": "a"}, ...]}: 1 .. max_items items, every
// one valid, or nothing is returned.
bool DecodeBatchPut(std::string_view body, size_t max_value_bytes, size_t max_items, std::vector<PutItem>* out,
                    DecodeError* error);
// {"keys": [1, 2, 3]}: 0 .. max_items keys.
bool DecodeBatchGet(std::string_view body, size_t max_items, std::vector<uint64_t>* out, DecodeError* error);

}  // namespace kyrodb::http
