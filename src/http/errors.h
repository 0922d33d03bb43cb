// Every response body the API builds: JSON documents and the one error shape
//   {"error": {"code": "not_found", "message": "key 42 not found"}}
// with its status and, where the client should come back later, Retry-After.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

#include "http/types.h"
#include "kyrodb/status.h"

namespace kyrodb::http {

inline constexpr const char* kJsonType = "application/json";
inline constexpr const char* kOctetType = "application/octet-stream";

// Serialises with invalid UTF-8 replaced by U+FFFD, so bytes a client sent
// (a key in a path, a binary value) can never make serialisation throw.
std::string DumpJson(const nlohmann::json& body);

Response MakeJson(bhttp::status status, const nlohmann::json& body);
Response MakeError(bhttp::status status, std::string_view code, std::string_view message);
// 429 / 503 with Retry-After (whole seconds, at least 1).
Response MakeRetryError(bhttp::status status, std::string_view code, std::string_view message,
                        unsigned retry_after_seconds);

// NotFound 404, InvalidArgument 400, Unavailable and IOError 503 +
// Retry-After, Corruption 500.
Response MakeStoreError(const kyrodb::Status& status);

}  // namespace kyrodb::http
