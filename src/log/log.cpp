#include "log/log.h"

#include <pthread.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <iterator>
#include <memory>

namespace kyrodb::log {

namespace {

constexpr const char* kPattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})";

// Request lines (Access): set by Init, read-only afterwards.
std::shared_ptr<spdlog::logger> g_access;

void WriteTo(spdlog::logger* logger, spdlog::level::level_enum level, std::string_view event,
             const nlohmann::json& fields) {
  if (!logger->should_log(level)) return;
  nlohmann::json line = nlohmann::json::object();
  line["msg"] = event;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the outer braces: the pattern supplies them around ts and level.
  std::string_view inner(text);
  inner.remove_prefix(1);
  inner.remove_suffix(1);
  logger->log(level, "{}", inner);
}

// `s` as a JSON string. Plain printable ASCII without quote or backslash (all
// that a request's method, route and address hold) is copied as it is;
// anything else is escaped by nlohmann/json, as Write does.
void AppendJsonString(spdlog::memory_buf_t* out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (plain) {
    out->push_back('"');
    out->append(s.data(), s.data() + s.size());
    out->push_back('"');
    return;
  }
  const std::string escaped = nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out->append(escaped.data(), escaped.data() + escaped.size());
}

}  // namespace

bool IsValidLevel(std::string_view level) {
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (auto l : kLevels) {
    if (l == level) return true;
  }
  return false;
}

bool Init(std::string_view level) {
  if (!IsValidLevel(level)) return false;
  auto logger = spdlog::stdout_logger_mt("kyrodb");
  // %v is always a JSON fragment built by Write(), never raw text.
  logger->set_pattern(kPattern, spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  // Request lines go to the same stdout, through std::cout (synced with C
  // stdio, so into stdout's own buffer, in order with the lines above), but
  // without the stdout sink's fflush after every line: one write(2) per
  // request cost a third of a GET's server CPU (docs/BENCHMARKS.md). They
  // reach the file when stdio's buffer fills, when any other line is logged
  // (its fflush takes them along), or within a second (flush_every below).
  g_access = std::make_shared<spdlog::logger>("kyrodb-access",
                                              std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout, false));
  g_access->set_pattern(kPattern, spdlog::pattern_time_type::utc);
  g_access->set_level(logger->level());
  spdlog::register_logger(g_access);
  // spdlog starts its flusher thread here, unnamed. Linux gives a new thread
  // its creator's name, so this thread lends the name for the moment it
  // creates it: `top -H` and perf then show kyro-log-flush like our own.
  char own[16] = {};
  const bool renamed = pthread_getname_np(pthread_self(), own, sizeof(own)) == 0 &&
                       pthread_setname_np(pthread_self(), "kyro-log-flush") == 0;
  spdlog::flush_every(std::chrono::seconds(1));
  if (renamed) (void)pthread_setname_np(pthread_self(), own);
  return true;
}

bool Enabled(spdlog::level::level_enum level) { return spdlog::default_logger_raw()->should_log(level); }

void Write(spdlog::level::level_enum level, std::string_view event, const nlohmann::json& fields) {
  WriteTo(spdlog::default_logger_raw(), level, event, fields);
}

void Request(std::string_view method, std::string_view route, unsigned status, int64_t duration_us,
             std::string_view remote) {
  spdlog::logger* logger = g_access != nullptr ? g_access.get() : spdlog::default_logger_raw();
  if (!logger->should_log(spdlog::level::info)) return;
  // The keys in the order Write's (sorted) object prints them.
  spdlog::memory_buf_t line;
  fmt::format_to(std::back_inserter(line), "\"duration_us\":{},\"method\":", duration_us);
  AppendJsonString(&line, method);
  constexpr std::string_view kMsg = ",\"msg\":\"http_request\",\"remote\":";
  line.append(kMsg.data(), kMsg.data() + kMsg.size());
  AppendJsonString(&line, remote);
  constexpr std::string_view kRoute = ",\"route\":";
  line.append(kRoute.data(), kRoute.data() + kRoute.size());
  AppendJsonString(&line, route);
  fmt::format_to(std::back_inserter(line), ",\"status\":{}", status);
  logger->log(spdlog::level::info, "{}", std::string_view(line.data(), line.size()));
}

void Access(std::string_view event, const nlohmann::json& fields) {
  WriteTo(g_access != nullptr ? g_access.get() : spdlog::default_logger_raw(), spdlog::level::info, event, fields);
}

}  // namespace kyrodb::log
