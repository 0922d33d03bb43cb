// Structured logging: one JSON object per line on stdout (SPEC §6), through
// spdlog. Call sites name an event and attach fields:
//
//   log::Info("wal_tail_truncated", {{"file", path}, {"offset", off}});
//
// prints {"ts":"2026-11-24T08:00:00.123Z","level":"info","msg":"wal_tail_truncated","file":"...","offset":12}
// Fields are JSON-encoded by nlohmann/json, so nothing a client sends can
// break the line format. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace kyrodb::log {

// Installs the JSON logger as spdlog's default. `level` is one of trace, debug,
// info, warn, error, critical, off. Returns false for an unknown level.
bool Init(std::string_view level);

// True for a level name Init accepts.
bool IsValidLevel(std::string_view level);

void Write(spdlog::level::level_enum level, std::string_view event, const nlohmann::json& fields);

inline void Debug(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Write(spdlog::level::debug, event, fields);
}
inline void Info(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Write(spdlog::level::info, event, fields);
}
inline void Warn(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Write(spdlog::level::warn, event, fields);
}
inline void Error(std::string_view event, const nlohmann::json& fields = nlohmann::json::object()) {
  Write(spdlog::level::err, event, fields);
}

// A per-request line at info level (http_request). The same stdout and format
// as Info, but written out in batches: up to stdio's buffer or one second
// behind, and at once whenever any other line is logged. A crash may lose
// the last second of them, never a line of any other kind.
void Access(std::string_view event, const nlohmann::json& fields);

// The http_request line of one answered request, as Access("http_request",
// {{"method", ..}, {"route", ..}, {"status", ..}, {"duration_us", ..},
// {"remote", ..}}) would print it, byte for byte, without building a JSON
// document (it ran on every request and cost more than the lookup).
void Request(std::string_view method, std::string_view route, unsigned status, int64_t duration_us,
             std::string_view remote);

// Whether a message at `level` would be written (to skip building fields).
bool Enabled(spdlog::level::level_enum level);

}  // namespace kyrodb::log
