// How a write of the change stream looks on the wire, shared by
// GET /v1/replay (one JSON object per line) and GET /v1/subscribe (one
// Server-Sent Event per write):
//
//   {"offset": 7, "op": "put", "key": 42, "value": "hello"}
//   {"offset": 8, "op": "put", "key": 43, "value_b64": "AP8="}
//   {"offset": 9, "op": "delete", "key": 42}
//
// A put carries exactly one of "value" (the bytes, when they are valid
// UTF-8) and "value_b64" (standard base64 with padding, for any other
// bytes): a follower must be able to rebuild values exactly, and JSON
// strings cannot carry arbitrary bytes. A delete carries neither. The key is
// a JSON number (SPEC §1), exact through 2^64-1.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "kyrodb/store.h"

namespace kyrodb::http {

inline constexpr const char* kNdjsonType = "application/x-ndjson";
inline constexpr const char* kEventStreamType = "text/event-stream";

bool IsValidUtf8(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);

// The object above.
nlohmann::json ChangeJson(const LogEntry& entry);

// Appends one line of /v1/replay (the object and '\n').
void AppendChangeLine(const LogEntry& entry, std::string* out);

// Appends one SSE event:
//   id: 7
//   event: put
//   data: {"offset": 7, ...}
// followed by the empty line that ends an event. `id` is the offset, so an
// EventSource that reconnects sends it back as Last-Event-ID.
void AppendChangeEvent(const LogEntry& entry, std::string* out);

// Appends the final event of a stream that ends early:
//   event: error
//   data: {"error": {"code": "...", "message": "...", <extra members>}}
void AppendErrorEvent(std::string_view code, std::string_view message, const nlohmann::json& extra,
                      std::string* out);

}  // namespace kyrodb::http
