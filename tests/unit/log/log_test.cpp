// The log's set-up and its lines: levels it accepts, the flusher thread's
// name, and request lines (batched) in order with the others on stdout. The
// process-wide loggers are set up once per test binary, so one test does it.
#include "log/log.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kyrodb::log {
namespace {

std::vector<std::string> ThreadNames() {
  std::vector<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.push_back(name);
  }
  return names;
}

TEST(Log, InitNamesItsFlusherAndRequestLinesComeOutInOrderWithTheRest) {
  char before[16] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), before, sizeof(before)), 0);
  EXPECT_FALSE(Init("loud"));

  // stdout goes to a file while the loggers write.
  const std::string path = (std::filesystem::temp_directory_path() / ("kyrodb-log-test-" + std::to_string(getpid()))).string();
  std::fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  ASSERT_GE(dup2(fileno(file), STDOUT_FILENO), 0);
  std::fclose(file);

  ASSERT_TRUE(Init("info"));
  Info("first", {{"n", 1}});
  Access("http_request", {{"method", "GET"}, {"status", 200}});
  Access("http_request", {{"method", "PUT"}, {"status", 201}});
  // Request prints what Access would, byte for byte, also for strings that
  // need escaping (a quote, a control byte, a byte that is not UTF-8).
  const std::string odd = std::string("GE\"T\x01") + '\xff';
  for (const std::string& method : {std::string("GET"), odd}) {
    Request(method, "/v1/kv/{key}", 404, 1234, "127.0.0.1");
    Access("http_request", {{"method", method},
                            {"route", "/v1/kv/{key}"},
                            {"status", 404u},
                            {"duration_us", int64_t{1234}},
                            {"remote", "127.0.0.1"}});
  }
  Debug("hidden");
  Info("last", {{"n", 2}});
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  std::fflush(stdout);
  ASSERT_GE(dup2(saved, STDOUT_FILENO), 0);
  close(saved);

  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) {
    texts.push_back(line.substr(line.find("\"level\"")));  // all but the time
    lines.push_back(nlohmann::json::parse(line));
  }
  std::filesystem::remove(path);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(texts[3], texts[4]);
  EXPECT_EQ(texts[5], texts[6]);
  EXPECT_EQ(lines[3]["method"], "GET");
  EXPECT_EQ(lines[3]["duration_us"], 1234);
  EXPECT_EQ(lines[5]["method"], "GE\"T\x01\xef\xbf\xbd");  // the bad byte as U+FFFD
  EXPECT_EQ(lines[0]["msg"], "first");
  EXPECT_EQ(lines[1]["msg"], "http_request");
  EXPECT_EQ(lines[1]["method"], "GET");
  EXPECT_EQ(lines[1]["status"], 200);
  EXPECT_EQ(lines[1]["level"], "info");
  EXPECT_TRUE(lines[1]["ts"].is_string());
  EXPECT_EQ(lines[2]["method"], "PUT");
  EXPECT_EQ(lines[7]["msg"], "last");

  char after[16] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), after, sizeof(after)), 0);
  EXPECT_STREQ(after, before);
  const std::vector<std::string> names = ThreadNames();
  EXPECT_EQ(std::count(names.begin(), names.end(), "kyro-log-flush"), 1) << names.size() << " threads";
}

TEST(Log, LevelsAreSpdlogs) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_TRUE(IsValidLevel(level)) << level;
  }
  for (const char* level : {"", "INFO", "warning", "fatal"}) EXPECT_FALSE(IsValidLevel(level)) << level;
}

}  // namespace
}  // namespace kyrodb::log
