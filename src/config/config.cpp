#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "log/log.h"

extern char** environ;

namespace kyrodb::config {
namespace {

constexpr std::string_view kEnvPrefix = "KYRODB_";

// An error message body ("" when the value is fine); the caller adds which
// variable or flag it came from.
using Apply = std::string (*)(std::string_view text, ServerConfig* cfg);

struct Setting {
  std::string_view env;           // KYRODB_PORT
  bool has_flag;                  // secrets are environment-only
  bool is_bool;                   // a bare --flag means true
  std::string_view default_text;  // for --help
  std::string_view help;
  Apply apply;
};

std::string Range(uint64_t min, uint64_t max) {
  return "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

// Strict decimal: no sign, no spaces, no suffix, in [min, max].
std::string ParseUnsigned(std::string_view text, uint64_t min, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != text.data() + text.size() ||
      ec == std::errc::result_out_of_range || v < min || v > max) {
    return Range(min, max);
  }
  *out = v;
  return {};
}

std::string ParseRate(std::string_view text, double* out) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v) || v < 0 ||
      v > 1e9) {
    return "must be a number from 0 to 1000000000 (0 = unlimited)";
  }
  *out = v;
  return {};
}

std::string ParseBool(std::string_view text, bool* out) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") {
    *out = true;
    return {};
  }
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") {
    *out = false;
    return {};
  }
  return "must be one of 1, 0, true, false, yes, no, on, off";
}

// A Bearer token travels as one header token: visible ASCII, no spaces.
std::string CheckToken(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x21 || c > 0x7e) return "must be visible ASCII without spaces (it is sent as a Bearer token)";
  }
  return {};
}

std::string U64(std::string_view text, uint64_t min, uint64_t max, uint64_t* dst) {
  return ParseUnsigned(text, min, max, dst);
}
std::string Size(std::string_view text, uint64_t min, uint64_t max, size_t* dst) {
  uint64_t v = 0;
  std::string err = ParseUnsigned(text, min, max, &v);
  if (err.empty()) *dst = static_cast<size_t>(v);
  return err;
}
std::string U32(std::string_view text, uint64_t min, uint64_t max, uint32_t* dst) {
  uint64_t v = 0;
  std::string err = ParseUnsigned(text, min, max, &v);
  if (err.empty()) *dst = static_cast<uint32_t>(v);
  return err;
}
std::string Millis(std::string_view text, uint64_t min, uint64_t max, std::chrono::milliseconds* dst) {
  uint64_t v = 0;
  std::string err = ParseUnsigned(text, min, max, &v);
  if (err.empty()) *dst = std::chrono::milliseconds(static_cast<int64_t>(v));
  return err;
}

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

// clang-format off
const Setting kSettings[] = {
  {"KYRODB_HOST", true, false, "127.0.0.1", "address to listen on (positional HOST wins)",
   [](std::string_view t, ServerConfig* c) -> std::string {
     if (t.empty()) return "must not be empty";
     c->http.host = std::string(t);
     return {};
   }},
  {"KYRODB_PORT", true, false, "3030", "TCP port; 0 picks a free one (positional PORT wins)",
   [](std::string_view t, ServerConfig* c) -> std::string {
     uint64_t v = 0;
     std::string err = ParseUnsigned(t, 0, 65535, &v);
     if (err.empty()) c->http.port = static_cast<uint16_t>(v);
     return err;
   }},
  {"KYRODB_DATA_DIR", true, false, "./data", "directory of snapshot.bin, wal.*, index-rmi.bin",
   [](std::string_view t, ServerConfig* c) -> std::string {
     if (t.empty()) return "must not be empty";
     c->store.data_dir = std::string(t);
     return {};
   }},
  {"KYRODB_THREADS", true, false, "usable CPUs", "HTTP I/O threads",
   [](std::string_view t, ServerConfig* c) -> std::string {
     uint64_t v = 0;
     std::string err = ParseUnsigned(t, 1, 1024, &v);
     if (err.empty()) c->http.threads = static_cast<unsigned>(v);
     return err;
   }},
  {"KYRODB_LOG_LEVEL", true, false, "info", "trace, debug, info, warn, error, critical or off",
   [](std::string_view t, ServerConfig* c) -> std::string {
     if (!log::IsValidLevel(t)) return "must be one of trace, debug, info, warn, error, critical, off";
     c->log_level = std::string(t);
     return {};
   }},
  {"KYRODB_DISABLE_HTTP_LOG", true, true, "0", "1 turns off the per-request log line",
   [](std::string_view t, ServerConfig* c) -> std::string {
     bool disabled = false;
     std::string err = ParseBool(t, &disabled);
     if (err.empty()) c->http.access_log = !disabled;
     return err;
   }},
  {"KYRODB_FSYNC_POLICY", true, false, "data", "data, always, interval or none",
   [](std::string_view t, ServerConfig* c) -> std::string {
     if (!kyrodb::ParseFsyncPolicy(t, &c->store.fsync_policy)) return "must be one of data, always, interval, none";
     return {};
   }},
  {"KYRODB_FSYNC_INTERVAL_MS", true, false, "10", "sync period of the interval policy",
   [](std::string_view t, ServerConfig* c) { return U32(t, 1, 60000, &c->store.fsync_interval_ms); }},
  {"KYRODB_WAL_PIPELINE", true, false, "auto", "auto, on or off: complete synced groups on a thread of their own",
   [](std::string_view t, ServerConfig* c) -> std::string {
     if (!kyrodb::ParseWalPipeline(t, &c->store.wal_pipeline)) return "must be one of auto, on, off";
     return {};
   }},
  {"KYRODB_WAL_SEGMENT_BYTES", true, false, "67108864", "WAL segment size before rotation",
   [](std::string_view t, ServerConfig* c) { return U64(t, 4 * kKiB, 64 * kGiB, &c->store.wal_segment_bytes); }},
  {"KYRODB_REBUILD_DELTA_ENTRIES", true, false, "1048576", "delta size that starts a background rebuild (0 = off)",
   [](std::string_view t, ServerConfig* c) { return Size(t, 0, 1ull << 32, &c->store.rebuild_delta_entries); }},
  {"KYRODB_COMPACT_WAL_BYTES", true, false, "536870912", "live WAL size that starts a compaction (0 = off)",
   [](std::string_view t, ServerConfig* c) { return U64(t, 0, 1ull << 50, &c->store.compact_wal_bytes); }},
  {"KYRODB_RMI_ROUTER_BITS", true, false, "16", "learned-index router size (2^bits buckets)",
   [](std::string_view t, ServerConfig* c) { return U32(t, 0, 24, &c->store.rmi_router_bits); }},
  {"KYRODB_WARM_ON_START", true, true, "0", "1 touches index and snapshot pages before /ready",
   [](std::string_view t, ServerConfig* c) { return ParseBool(t, &c->store.warm_on_start); }},
  {"KYRODB_MAX_VALUE_BYTES", true, false, "1048576", "largest value",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1, 256 * kMiB, &c->store.max_value_bytes); }},
  {"KYRODB_MAX_BODY_BYTES", true, false, "2 x max value + 64 KiB", "largest request body (413 above)",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1, 1 * kGiB, &c->http.max_body_bytes); }},
  {"KYRODB_MAX_HEADER_BYTES", true, false, "16384", "largest request line + headers (431 above)",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1 * kKiB, 1 * kMiB, &c->http.max_header_bytes); }},
  {"KYRODB_MAX_CONNECTIONS", true, false, "1024", "open connections (503 above)",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1, 1000000, &c->http.max_connections); }},
  {"KYRODB_READ_TIMEOUT_MS", true, false, "10000", "time to receive a request once it started",
   [](std::string_view t, ServerConfig* c) { return Millis(t, 100, 3600000, &c->http.read_timeout); }},
  {"KYRODB_IDLE_TIMEOUT_MS", true, false, "60000", "keep-alive wait for the next request",
   [](std::string_view t, ServerConfig* c) { return Millis(t, 100, 86400000, &c->http.idle_timeout); }},
  {"KYRODB_SHUTDOWN_TIMEOUT_MS", true, false, "10000", "time in-flight requests get on SIGTERM",
   [](std::string_view t, ServerConfig* c) { return Millis(t, 0, 600000, &c->http.shutdown_timeout); }},
  {"KYRODB_MAX_BATCH_ITEMS", true, false, "1000", "items in one /v1/batch/put or /v1/batch/get",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1, 1000000, &c->http.max_batch_items); }},
  {"KYRODB_MAX_SCAN_LIMIT", true, false, "1000", "cap on /v1/scan limit",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1, 1000000, &c->http.max_scan_limit); }},
  {"KYRODB_MAX_SUBSCRIBERS", true, false, "64", "open /v1/subscribe streams (503 above)",
   [](std::string_view t, ServerConfig* c) { return Size(t, 1, 1000000, &c->http.max_subscribers); }},
  {"KYRODB_SUBSCRIBER_BUFFER_BYTES", true, false, "max(8 MiB, 2 x max body)",
   "live writes a stream may lag behind before it is cut off",
   [](std::string_view t, ServerConfig* c) { return Size(t, 64 * kKiB, 1 * kGiB, &c->http.subscriber_buffer_bytes); }},
  {"KYRODB_STREAM_HEARTBEAT_MS", true, false, "15000", "comment line sent on a quiet change stream",
   [](std::string_view t, ServerConfig* c) { return Millis(t, 100, 3600000, &c->http.stream_heartbeat); }},
  {"KYRODB_RL_DATA_RPS", true, false, "0 (unlimited)", "data requests per second per client IP",
   [](std::string_view t, ServerConfig* c) { return ParseRate(t, &c->http.data_rate.rps); }},
  {"KYRODB_RL_DATA_BURST", true, false, "max(1, rps)", "data bucket size",
   [](std::string_view t, ServerConfig* c) { return ParseRate(t, &c->http.data_rate.burst); }},
  {"KYRODB_RL_ADMIN_RPS", true, false, "0 (unlimited)", "admin requests per second per client IP",
   [](std::string_view t, ServerConfig* c) { return ParseRate(t, &c->http.admin_rate.rps); }},
  {"KYRODB_RL_ADMIN_BURST", true, false, "max(1, rps)", "admin bucket size",
   [](std::string_view t, ServerConfig* c) { return ParseRate(t, &c->http.admin_rate.burst); }},
  {"KYRODB_AUTH_TOKEN", false, false, "unset (auth off)", "Bearer token every /v1 route needs",
   [](std::string_view t, ServerConfig* c) -> std::string {
     std::string err = CheckToken(t);
     if (err.empty()) c->http.auth_token = std::string(t);
     return err;
   }},
  {"KYRODB_ADMIN_TOKEN", false, false, "unset", "Bearer token admin routes need instead",
   [](std::string_view t, ServerConfig* c) -> std::string {
     std::string err = CheckToken(t);
     if (err.empty()) c->http.admin_token = std::string(t);
     return err;
   }},
};
// clang-format on

// KYRODB_FSYNC_POLICY -> fsync-policy
std::string FlagName(std::string_view env) {
  std::string flag(env.substr(kEnvPrefix.size()));
  for (char& ch : flag) ch = (ch == '_') ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return flag;
}

const Setting* FindByFlag(std::string_view flag) {
  for (const Setting& s : kSettings) {
    if (s.has_flag && FlagName(s.env) == flag) return &s;
  }
  return nullptr;
}

bool IsKnownVariable(std::string_view name) {
  return std::any_of(std::begin(kSettings), std::end(kSettings), [&](const Setting& s) { return s.env == name; });
}

// Where a value came from, for error messages.
struct Given {
  std::string value;
  std::string source;  // "--port", "PORT argument" or "KYRODB_PORT"
};

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text.substr(0, 80)) {
    unsigned char c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c == 0x7f) ? '?' : ch;
  }
  if (text.size() > 80) out += "...";
  return out + "\"";
}

ParseResult Fail(std::string message) {
  ParseResult r;
  r.error = std::move(message);
  return r;
}

ParseResult ParseServe(const std::vector<std::string>& args, const Environment& env, unsigned usable_cpus) {
  std::map<std::string_view, Given> given;  // by env name
  std::vector<std::string> positional;

  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      ParseResult r;
      r.command = Command::kHelp;
      r.help = UsageText();
      return r;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2);
      std::optional<std::string> value;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      const Setting* s = FindByFlag(name);
      if (s == nullptr) {
        if (name == "auth-token" || name == "admin-token") {
          return Fail("--" + name + " is not a flag: set KYRODB_" +
                      (name == "auth-token" ? std::string("AUTH_TOKEN") : std::string("ADMIN_TOKEN")) +
                      " in the environment so the token does not show up in the process list");
        }
        return Fail("unknown flag --" + name + " (see kyrodb-engine serve --help)");
      }
      if (!value) {
        if (s->is_bool) {
          value = "1";
        } else if (i + 1 < args.size()) {
          value = args[++i];
        } else {
          return Fail("--" + name + " needs a value");
        }
      }
      given[s->env] = Given{*value, "--" + name};
      continue;
    }
    if (a.size() > 1 && a[0] == '-') return Fail("unknown flag " + a + " (see kyrodb-engine serve --help)");
    positional.push_back(a);
  }

  if (positional.size() > 2) return Fail("unexpected argument " + Quote(positional[2]) + ": serve takes HOST and PORT");
  static constexpr std::string_view kPositional[] = {"KYRODB_HOST", "KYRODB_PORT"};
  static constexpr std::string_view kPositionalName[] = {"HOST argument", "PORT argument"};
  for (size_t i = 0; i < positional.size(); ++i) {
    if (given.count(kPositional[i]) != 0) {
      return Fail(std::string(kPositionalName[i]) + " and " + given[kPositional[i]].source + " both given");
    }
    given[kPositional[i]] = Given{positional[i], std::string(kPositionalName[i])};
  }

  ParseResult r;
  r.command = Command::kServe;
  ServerConfig& cfg = r.config;
  cfg.http.threads = std::clamp(usable_cpus, 1u, 1024u);
  std::set<std::string_view> set;  // settings given explicitly

  for (const Setting& s : kSettings) {
    Given g;
    if (auto it = given.find(s.env); it != given.end()) {
      g = it->second;
    } else if (auto e = env.find(std::string(s.env)); e != env.end() && !e->second.empty()) {
      // An empty variable counts as unset: compose files often pass "${X:-}".
      g = Given{e->second, std::string(s.env)};
    } else {
      continue;
    }
    std::string err = s.apply(g.value, &cfg);
    if (!err.empty()) {
      // Never echo a secret back, not even a malformed one.
      bool secret = !s.has_flag;
      return Fail("invalid " + g.source + (secret ? std::string() : " " + Quote(g.value)) + ": " + err);
    }
    set.insert(s.env);
  }

  // Derived defaults and cross-checks.
  cfg.http.max_value_bytes = cfg.store.max_value_bytes;
  if (set.count("KYRODB_MAX_BODY_BYTES") == 0) {
    // A JSON put carries the value as an escaped string: leave room for 2x
    // escaping plus the framing. Values needing more (mostly \u escapes) go
    // through PUT /v1/kv/{key} as raw bytes.
    cfg.http.max_body_bytes = 2 * cfg.store.max_value_bytes + 64 * kKiB;
  } else if (cfg.http.max_body_bytes < cfg.store.max_value_bytes) {
    return Fail("invalid KYRODB_MAX_BODY_BYTES " + std::to_string(cfg.http.max_body_bytes) +
                ": must be at least KYRODB_MAX_VALUE_BYTES (" + std::to_string(cfg.store.max_value_bytes) +
                ") or the largest value cannot be sent");
  }
  // A subscriber is cut off once the writes it has not taken pass its buffer,
  // and one request can write up to a body's worth of values at once (a
  // batch): a smaller buffer would cut off even a subscriber that keeps up.
  if (set.count("KYRODB_SUBSCRIBER_BUFFER_BYTES") == 0) {
    cfg.http.subscriber_buffer_bytes = std::max<size_t>(8 * kMiB, 2 * cfg.http.max_body_bytes);
  } else if (cfg.http.subscriber_buffer_bytes < cfg.http.max_body_bytes) {
    return Fail("invalid KYRODB_SUBSCRIBER_BUFFER_BYTES " + std::to_string(cfg.http.subscriber_buffer_bytes) +
                ": must be at least KYRODB_MAX_BODY_BYTES (" + std::to_string(cfg.http.max_body_bytes) +
                ") or one large write cuts off every subscriber");
  }
  if (cfg.http.max_subscribers >= cfg.http.max_connections) {
    r.warnings.push_back("KYRODB_MAX_SUBSCRIBERS (" + std::to_string(cfg.http.max_subscribers) +
                         ") is not below KYRODB_MAX_CONNECTIONS (" + std::to_string(cfg.http.max_connections) +
                         "): change streams can take every connection");
  }
  for (auto [rate, name] : {std::pair{&cfg.http.data_rate, "DATA"}, std::pair{&cfg.http.admin_rate, "ADMIN"}}) {
    if (!rate->enabled()) {
      if (rate->burst > 0) {
        r.warnings.push_back(std::string("KYRODB_RL_") + name + "_BURST is set but KYRODB_RL_" + name +
                             "_RPS is 0: no rate limit applies");
      }
      continue;
    }
    if (rate->burst == 0) rate->burst = std::max(1.0, std::ceil(rate->rps));
    if (rate->burst < 1) {
      return Fail(std::string("invalid KYRODB_RL_") + name + "_BURST: must be at least 1 when KYRODB_RL_" + name +
                  "_RPS is set, or no request could ever pass");
    }
  }
  // Responses of a slow reader still get a bounded time.
  cfg.http.write_timeout = std::max(cfg.http.write_timeout, cfg.http.read_timeout);

  if (!cfg.http.admin_token.empty() && cfg.http.auth_token.empty()) {
    r.warnings.push_back("KYRODB_ADMIN_TOKEN is set without KYRODB_AUTH_TOKEN: data routes need no token");
  }
  for (const auto* token : {&cfg.http.auth_token, &cfg.http.admin_token}) {
    if (!token->empty() && token->size() < 16) {
      r.warnings.push_back("a token shorter than 16 characters is easy to guess");
      break;
    }
  }
  if (cfg.http.auth_token.empty() && cfg.http.host != "127.0.0.1" && cfg.http.host != "localhost" &&
      cfg.http.host != "::1") {
    r.warnings.push_back("listening on " + cfg.http.host + " without KYRODB_AUTH_TOKEN: anyone who can reach it can write");
  }
  for (const auto& [name, value] : env) {
    if (name.rfind(kEnvPrefix, 0) == 0 && !IsKnownVariable(name)) {
      r.warnings.push_back("unknown variable " + name + " ignored (see kyrodb-engine serve --help)");
    }
  }
  return r;
}

// verify [--data-dir DIR]: checks a stopped store's files offline.
ParseResult ParseVerify(const std::vector<std::string>& args, const Environment& env) {
  ParseResult r;
  r.command = Command::kVerify;
  if (auto e = env.find("KYRODB_DATA_DIR"); e != env.end() && !e->second.empty()) r.config.store.data_dir = e->second;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      r.command = Command::kHelp;
      r.help = UsageText();
      return r;
    }
    if (a == "--data-dir" && i + 1 < args.size()) {
      r.config.store.data_dir = args[++i];
    } else if (a.rfind("--data-dir=", 0) == 0) {
      r.config.store.data_dir = a.substr(std::string_view("--data-dir=").size());
    } else if (a == "--data-dir") {
      return Fail("--data-dir needs a value");
    } else {
      return Fail("unexpected argument " + Quote(a) + ": verify takes --data-dir DIR");
    }
  }
  if (r.config.store.data_dir.empty()) return Fail("invalid --data-dir \"\": must not be empty");
  return r;
}

}  // namespace

ParseResult ParseCommandLine(const std::vector<std::string>& args, const Environment& env,
                             unsigned usable_cpus) {
  if (args.empty()) return Fail("no command given (expected serve, verify, version or --help)");
  const std::string& cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    ParseResult r;
    r.command = Command::kHelp;
    r.help = UsageText();
    return r;
  }
  if (cmd == "version" || cmd == "--version") {
    if (args.size() > 1) return Fail("version takes no arguments");
    ParseResult r;
    r.command = Command::kVersion;
    return r;
  }
  if (cmd == "serve") return ParseServe(args, env, usable_cpus);
  if (cmd == "verify") return ParseVerify(args, env);
  return Fail("unknown command " + Quote(cmd) + " (expected serve, verify, version or --help)");
}

Environment EnvironmentFromProcess() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string UsageText() {
  std::string out =
      "Usage:\n"
      "  kyrodb-engine serve [HOST [PORT]] [--data-dir DIR] [--SETTING VALUE ...]\n"
      "  kyrodb-engine verify [--data-dir DIR]   check every checksum of a stopped store\n"
      "  kyrodb-engine version\n"
      "  kyrodb-engine --help\n"
      "\n"
      "Every setting reads its KYRODB_* variable; the flag (or HOST/PORT) wins over it.\n"
      "An empty variable counts as unset. Tokens are read from the environment only.\n"
      "\n"
      "Settings (flag, variable, default):\n";
  for (const Setting& s : kSettings) {
    std::string flag = s.has_flag ? "--" + FlagName(s.env) : "(env only)";
    std::string line = "  " + flag;
    line.resize(std::max<size_t>(line.size() + 1, 28), ' ');
    line += std::string(s.env);
    line.resize(std::max<size_t>(line.size() + 1, 60), ' ');
    out += line + "[" + std::string(s.default_text) + "]\n";
    out += "      " + std::string(s.help) + "\n";
  }
  return out;
}

}  // namespace kyrodb::config
