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

// Whether a message at `level` would be written (to skip building fields).
bool Enabled(spdlog::level::level_enum level);

}  // namespace kyrodb::log
