#include "log/log.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace kyrodb::log {

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
  logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
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
  auto* logger = spdlog::default_logger_raw();
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

}  // namespace kyrodb::log
