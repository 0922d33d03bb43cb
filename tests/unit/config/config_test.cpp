// Command line + environment parsing (SPEC §3): defaults, precedence, every
// variable, and an error naming the variable or flag for every bad value.
#include "config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kyrodb::config {
namespace {

using Args = std::vector<std::string>;

ParseResult Parse(Args args, Environment env = {}, unsigned hw = 8) { return ParseCommandLine(args, env, hw); }

ServerConfig MustServe(Args args, Environment env = {}, unsigned hw = 8) {
  ParseResult r = Parse(std::move(args), std::move(env), hw);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.command, Command::kServe);
  return r.config;
}

// Fails with an error mentioning every word in `words`.
void ExpectError(Args args, Environment env, std::initializer_list<const char*> words) {
  ParseResult r = Parse(args, env);
  ASSERT_FALSE(r.ok()) << "accepted: " << ::testing::PrintToString(args) << " " << ::testing::PrintToString(env);
  for (const char* w : words) EXPECT_NE(r.error.find(w), std::string::npos) << "'" << w << "' not in: " << r.error;
}

TEST(Config, Defaults) {
  ServerConfig c = MustServe({"serve"}, {}, 6);
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 3030);
  EXPECT_EQ(c.http.threads, 6u) << "usable CPUs";
  EXPECT_EQ(c.store.data_dir, "./data");
  EXPECT_EQ(c.store.fsync_policy, FsyncPolicy::kData);
  EXPECT_EQ(c.store.wal_pipeline, WalPipeline::kAuto);
  EXPECT_EQ(c.store.max_value_bytes, 1u << 20);
  EXPECT_EQ(c.http.max_value_bytes, 1u << 20);
  EXPECT_EQ(c.http.max_body_bytes, (2u << 20) + (64u << 10));
  EXPECT_FALSE(c.http.data_rate.enabled());
  EXPECT_FALSE(c.http.admin_rate.enabled());
  EXPECT_TRUE(c.http.access_log);
  EXPECT_TRUE(c.http.auth_token.empty());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_FALSE(c.store.warm_on_start);
  EXPECT_EQ(c.http.max_subscribers, 64u);
  EXPECT_EQ(c.http.subscriber_buffer_bytes, 8u << 20);
  EXPECT_EQ(MustServe({"serve"}, {}, 0).http.threads, 1u) << "unknown hardware count";
}

TEST(Config, ReadmeCommandLine) {
  ServerConfig c = MustServe({"serve", "127.0.0.1", "3030"});
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.port, 3030);
  c = MustServe({"serve", "0.0.0.0", "8080", "--data-dir", "/var/lib/kyrodb"});
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.store.data_dir, "/var/lib/kyrodb");
  EXPECT_EQ(MustServe({"serve", "--data-dir=/d"}).store.data_dir, "/d");
}

TEST(Config, FlagsWinOverVariables) {
  Environment env = {{"KYRODB_PORT", "4000"}, {"KYRODB_HOST", "::1"}, {"KYRODB_DATA_DIR", "/env"},
                     {"KYRODB_THREADS", "3"}};
  ServerConfig c = MustServe({"serve"}, env);
  EXPECT_EQ(c.http.port, 4000);
  EXPECT_EQ(c.http.host, "::1");
  EXPECT_EQ(c.store.data_dir, "/env");
  EXPECT_EQ(c.http.threads, 3u);
  c = MustServe({"serve", "127.0.0.1", "5000", "--data-dir", "/flag", "--threads=2"}, env);
  EXPECT_EQ(c.http.port, 5000);
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.store.data_dir, "/flag");
  EXPECT_EQ(c.http.threads, 2u);
  EXPECT_EQ(MustServe({"serve", "--port", "6000"}, env).http.port, 6000);
}

TEST(Config, EmptyVariableIsUnset) {
  ServerConfig c = MustServe({"serve"}, {{"KYRODB_PORT", ""}, {"KYRODB_AUTH_TOKEN", ""}});
  EXPECT_EQ(c.http.port, 3030);
  EXPECT_TRUE(c.http.auth_token.empty());
}

TEST(Config, EveryVariable) {
  Environment env = {
      {"KYRODB_WARM_ON_START", "1"},          {"KYRODB_RMI_ROUTER_BITS", "10"},
      {"KYRODB_FSYNC_POLICY", "interval"},    {"KYRODB_FSYNC_INTERVAL_MS", "25"},
      {"KYRODB_WAL_SEGMENT_BYTES", "1048576"}, {"KYRODB_REBUILD_DELTA_ENTRIES", "0"},
      {"KYRODB_COMPACT_WAL_BYTES", "0"},      {"KYRODB_RL_DATA_RPS", "5000"},
      {"KYRODB_RL_DATA_BURST", "10000"},      {"KYRODB_RL_ADMIN_RPS", "0.5"},
      {"KYRODB_DISABLE_HTTP_LOG", "true"},    {"KYRODB_AUTH_TOKEN", "tok-0123456789abcdef"},
      {"KYRODB_ADMIN_TOKEN", "adm-0123456789abcdef"}, {"KYRODB_LOG_LEVEL", "debug"},
      {"KYRODB_MAX_VALUE_BYTES", "4096"},     {"KYRODB_MAX_BODY_BYTES", "10000"},
      {"KYRODB_MAX_HEADER_BYTES", "8192"},    {"KYRODB_MAX_CONNECTIONS", "50"},
      {"KYRODB_READ_TIMEOUT_MS", "2000"},     {"KYRODB_IDLE_TIMEOUT_MS", "30000"},
      {"KYRODB_SHUTDOWN_TIMEOUT_MS", "500"},  {"KYRODB_MAX_BATCH_ITEMS", "64"},
      {"KYRODB_MAX_SCAN_LIMIT", "500"},      {"KYRODB_MAX_SUBSCRIBERS", "8"},
      {"KYRODB_SUBSCRIBER_BUFFER_BYTES", "65536"}, {"KYRODB_STREAM_HEARTBEAT_MS", "2500"},
      {"KYRODB_WAL_PIPELINE", "off"},
  };
  ServerConfig c = MustServe({"serve"}, env);
  EXPECT_TRUE(c.store.warm_on_start);
  EXPECT_EQ(c.store.rmi_router_bits, 10u);
  EXPECT_EQ(c.store.fsync_policy, FsyncPolicy::kInterval);
  EXPECT_EQ(c.store.fsync_interval_ms, 25u);
  EXPECT_EQ(c.store.wal_pipeline, WalPipeline::kOff);
  EXPECT_EQ(c.store.wal_segment_bytes, 1048576u);
  EXPECT_EQ(c.store.rebuild_delta_entries, 0u);
  EXPECT_EQ(c.store.compact_wal_bytes, 0u);
  EXPECT_EQ(c.http.data_rate.rps, 5000);
  EXPECT_EQ(c.http.data_rate.burst, 10000);
  EXPECT_EQ(c.http.admin_rate.rps, 0.5);
  EXPECT_EQ(c.http.admin_rate.burst, 1) << "burst defaults to max(1, ceil(rps))";
  EXPECT_FALSE(c.http.access_log);
  EXPECT_EQ(c.http.auth_token, "tok-0123456789abcdef");
  EXPECT_EQ(c.http.admin_token, "adm-0123456789abcdef");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.store.max_value_bytes, 4096u);
  EXPECT_EQ(c.http.max_value_bytes, 4096u);
  EXPECT_EQ(c.http.max_body_bytes, 10000u);
  EXPECT_EQ(c.http.max_header_bytes, 8192u);
  EXPECT_EQ(c.http.max_connections, 50u);
  EXPECT_EQ(c.http.read_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.http.idle_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(c.http.shutdown_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.http.max_batch_items, 64u);
  EXPECT_EQ(c.http.max_scan_limit, 500u);
  EXPECT_EQ(c.http.max_subscribers, 8u);
  EXPECT_EQ(c.http.subscriber_buffer_bytes, 65536u);
  EXPECT_EQ(c.http.stream_heartbeat, std::chrono::milliseconds(2500));
}

TEST(Config, SubscriberLimits) {
  ServerConfig c = MustServe({"serve", "--max-subscribers", "2", "--subscriber-buffer-bytes=4194304"},
                             {{"KYRODB_MAX_SUBSCRIBERS", "100"}, {"KYRODB_SUBSCRIBER_BUFFER_BYTES", "9999999"}});
  EXPECT_EQ(c.http.max_subscribers, 2u) << "the flag wins";
  EXPECT_EQ(c.http.subscriber_buffer_bytes, 4194304u);
  // Bounds, both ends.
  EXPECT_EQ(MustServe({"serve"}, {{"KYRODB_MAX_SUBSCRIBERS", "1"}}).http.max_subscribers, 1u);
  EXPECT_EQ(MustServe({"serve"}, {{"KYRODB_MAX_SUBSCRIBERS", "1000000"}, {"KYRODB_MAX_CONNECTIONS", "1000000"}})
                .http.max_subscribers,
            1000000u);
  EXPECT_EQ(MustServe({"serve"}, {{"KYRODB_SUBSCRIBER_BUFFER_BYTES", "1073741824"}}).http.subscriber_buffer_bytes,
            1u << 30);
  for (const char* bad : {"0", "-1", "1000001", "many", "64 ", "1e3", "18446744073709551616"}) {
    ExpectError({"serve"}, {{"KYRODB_MAX_SUBSCRIBERS", bad}}, {"KYRODB_MAX_SUBSCRIBERS", "from 1 to 1000000"});
  }
  for (const char* bad : {"0", "65535", "1073741825", "8MiB", "-8388608"}) {
    ExpectError({"serve"}, {{"KYRODB_SUBSCRIBER_BUFFER_BYTES", bad}},
                {"KYRODB_SUBSCRIBER_BUFFER_BYTES", "from 65536 to 1073741824"});
  }
  ExpectError({"serve", "--max-subscribers", "0"}, {}, {"--max-subscribers"});
  ExpectError({"serve", "--subscriber-buffer-bytes=1k"}, {}, {"--subscriber-buffer-bytes"});

  // One request can write a body's worth of values: the buffer must hold it,
  // or a subscriber that keeps up is still cut off.
  ExpectError({"serve"}, {{"KYRODB_SUBSCRIBER_BUFFER_BYTES", "1048576"}},
              {"KYRODB_SUBSCRIBER_BUFFER_BYTES", "KYRODB_MAX_BODY_BYTES"});
  c = MustServe({"serve"}, {{"KYRODB_MAX_VALUE_BYTES", "50000"},
                            {"KYRODB_MAX_BODY_BYTES", "100000"},
                            {"KYRODB_SUBSCRIBER_BUFFER_BYTES", "100000"}});
  EXPECT_EQ(c.http.subscriber_buffer_bytes, 100000u);
  // Unset, the buffer grows with the body limit so large values do not cut
  // every stream off.
  c = MustServe({"serve"}, {{"KYRODB_MAX_VALUE_BYTES", "16777216"}});
  EXPECT_EQ(c.http.subscriber_buffer_bytes, 2 * c.http.max_body_bytes);
  EXPECT_EQ(MustServe({"serve"}, {{"KYRODB_MAX_VALUE_BYTES", "1000"}}).http.subscriber_buffer_bytes, 8u << 20)
      << "never below the 8 MiB default";

  ParseResult r = Parse({"serve"}, {{"KYRODB_MAX_SUBSCRIBERS", "50"}, {"KYRODB_MAX_CONNECTIONS", "50"}});
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("can take every connection"), std::string::npos) << r.warnings[0];
}

TEST(Config, BodyLimitFollowsValueLimit) {
  ServerConfig c = MustServe({"serve"}, {{"KYRODB_MAX_VALUE_BYTES", "1000"}});
  EXPECT_EQ(c.http.max_body_bytes, 2000u + 65536u);
  ExpectError({"serve"}, {{"KYRODB_MAX_VALUE_BYTES", "1000"}, {"KYRODB_MAX_BODY_BYTES", "999"}},
              {"KYRODB_MAX_BODY_BYTES", "KYRODB_MAX_VALUE_BYTES"});
}

TEST(Config, BoolSpellings) {
  for (const char* t : {"1", "true", "TRUE", "yes", "on"}) {
    EXPECT_TRUE(MustServe({"serve"}, {{"KYRODB_WARM_ON_START", t}}).store.warm_on_start) << t;
  }
  for (const char* f : {"0", "false", "No", "off"}) {
    EXPECT_FALSE(MustServe({"serve"}, {{"KYRODB_WARM_ON_START", f}}).store.warm_on_start) << f;
  }
  EXPECT_TRUE(MustServe({"serve", "--warm-on-start"}).store.warm_on_start) << "bare bool flag";
  EXPECT_FALSE(MustServe({"serve", "--disable-http-log"}).http.access_log);
  EXPECT_FALSE(MustServe({"serve", "--warm-on-start=0"}, {{"KYRODB_WARM_ON_START", "1"}}).store.warm_on_start);
}

TEST(Config, BadValuesNameTheVariable) {
  struct Case {
    const char* var;
    const char* value;
  };
  const Case cases[] = {
      {"KYRODB_PORT", "abc"},          {"KYRODB_PORT", "65536"},          {"KYRODB_PORT", "-1"},
      {"KYRODB_PORT", " 3030"},        {"KYRODB_PORT", "3030x"},          {"KYRODB_PORT", "+3030"},
      {"KYRODB_THREADS", "0"},         {"KYRODB_THREADS", "1.5"},         {"KYRODB_FSYNC_POLICY", "sometimes"},
      {"KYRODB_FSYNC_POLICY", "DATA"}, {"KYRODB_FSYNC_INTERVAL_MS", "0"}, {"KYRODB_WAL_PIPELINE", "1"}, {"KYRODB_WAL_SEGMENT_BYTES", "100"},
      {"KYRODB_RMI_ROUTER_BITS", "40"}, {"KYRODB_WARM_ON_START", "maybe"}, {"KYRODB_DISABLE_HTTP_LOG", "2"},
      {"KYRODB_RL_DATA_RPS", "fast"},  {"KYRODB_RL_DATA_RPS", "-5"},      {"KYRODB_RL_DATA_RPS", "nan"},
      {"KYRODB_RL_DATA_RPS", "1e3"},   {"KYRODB_RL_ADMIN_BURST", "x"},    {"KYRODB_LOG_LEVEL", "verbose"},
      {"KYRODB_MAX_VALUE_BYTES", "0"}, {"KYRODB_MAX_VALUE_BYTES", "18446744073709551616"},
      {"KYRODB_MAX_BODY_BYTES", "1k"}, {"KYRODB_MAX_CONNECTIONS", "0"},   {"KYRODB_READ_TIMEOUT_MS", "5"},
      {"KYRODB_IDLE_TIMEOUT_MS", "x"}, {"KYRODB_MAX_BATCH_ITEMS", "0"},   {"KYRODB_MAX_SCAN_LIMIT", "0"},
      {"KYRODB_MAX_HEADER_BYTES", "10"}, {"KYRODB_REBUILD_DELTA_ENTRIES", "-1"},
      {"KYRODB_COMPACT_WAL_BYTES", "lots"}, {"KYRODB_DATA_DIR", ""},
      {"KYRODB_MAX_SUBSCRIBERS", "0"},   {"KYRODB_SUBSCRIBER_BUFFER_BYTES", "1"},
      {"KYRODB_STREAM_HEARTBEAT_MS", "10"}, {"KYRODB_STREAM_HEARTBEAT_MS", "soon"},
  };
  for (const Case& c : cases) {
    if (std::string(c.value).empty()) continue;  // empty counts as unset
    ExpectError({"serve"}, {{c.var, c.value}}, {c.var});
  }
  ExpectError({"serve", "--data-dir", ""}, {}, {"--data-dir", "empty"});
}

TEST(Config, BadFlagsNameTheFlag) {
  ExpectError({"serve", "--port", "x"}, {}, {"--port"});
  ExpectError({"serve", "127.0.0.1", "x"}, {}, {"PORT"});
  ExpectError({"serve", "--fsync-policy=never"}, {}, {"--fsync-policy", "data, always, interval, none"});
  ExpectError({"serve", "--nope"}, {}, {"unknown flag --nope"});
  ExpectError({"serve", "-x"}, {}, {"unknown flag -x"});
  ExpectError({"serve", "--data-dir"}, {}, {"--data-dir needs a value"});
  ExpectError({"serve", "a", "1", "extra"}, {}, {"unexpected argument"});
  ExpectError({"serve", "127.0.0.1", "3030", "--port", "1"}, {}, {"PORT argument", "--port"});
  ExpectError({"serve", "--auth-token", "x"}, {}, {"KYRODB_AUTH_TOKEN", "environment"});
}

TEST(Config, TokensAreValidatedButNeverEchoed) {
  ParseResult r = Parse({"serve"}, {{"KYRODB_AUTH_TOKEN", "has space-secret"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.find("KYRODB_AUTH_TOKEN"), std::string::npos);
  EXPECT_EQ(r.error.find("secret"), std::string::npos) << r.error;
}

TEST(Config, RateLimitBurst) {
  ServerConfig c = MustServe({"serve"}, {{"KYRODB_RL_DATA_RPS", "2.5"}});
  EXPECT_EQ(c.http.data_rate.burst, 3);
  ExpectError({"serve"}, {{"KYRODB_RL_DATA_RPS", "10"}, {"KYRODB_RL_DATA_BURST", "0.5"}}, {"KYRODB_RL_DATA_BURST"});
  ParseResult r = Parse({"serve"}, {{"KYRODB_RL_ADMIN_BURST", "5"}});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config.http.admin_rate.enabled());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("KYRODB_RL_ADMIN_RPS"), std::string::npos);
}

TEST(Config, Warnings) {
  ParseResult r = Parse({"serve", "0.0.0.0", "3030"}, {{"KYRODB_FSYNC_POLCY", "data"}});
  ASSERT_TRUE(r.ok());
  bool typo = false;
  bool open = false;
  for (const auto& w : r.warnings) {
    typo = typo || w.find("KYRODB_FSYNC_POLCY") != std::string::npos;
    open = open || w.find("without KYRODB_AUTH_TOKEN") != std::string::npos;
  }
  EXPECT_TRUE(typo) << "a misspelt variable is reported";
  EXPECT_TRUE(open) << "listening beyond loopback without auth is reported";
  r = Parse({"serve"}, {{"KYRODB_ADMIN_TOKEN", "0123456789abcdef0"}});
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("data routes need no token"), std::string::npos);
  EXPECT_TRUE(Parse({"serve"}).warnings.empty());
}

TEST(Config, OtherCommands) {
  EXPECT_EQ(Parse({"version"}).command, Command::kVersion);
  EXPECT_EQ(Parse({"--version"}).command, Command::kVersion);
  for (Args help : {Args{"--help"}, Args{"-h"}, Args{"help"}, Args{"serve", "--help"}}) {
    ParseResult r = Parse(help);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.command, Command::kHelp);
    EXPECT_NE(r.help.find("KYRODB_FSYNC_POLICY"), std::string::npos);
    EXPECT_NE(r.help.find("--data-dir"), std::string::npos);
  }
  ParseResult v = Parse({"verify", "--data-dir", "/x"});
  ASSERT_TRUE(v.ok()) << v.error;
  EXPECT_EQ(v.command, Command::kVerify);
  EXPECT_EQ(v.config.store.data_dir, "/x");
  v = Parse({"verify"}, {{"KYRODB_DATA_DIR", "/env"}});
  EXPECT_EQ(v.config.store.data_dir, "/env");
  ExpectError({"verify", "/x"}, {}, {"verify takes --data-dir"});
  ExpectError({}, {}, {"no command"});
  ExpectError({"server"}, {}, {"unknown command"});
  ExpectError({"version", "x"}, {}, {"version takes no arguments"});
}

}  // namespace
}  // namespace kyrodb::config
