// The log's set-up: levels it accepts, and its flusher thread's name (the
// process-wide logger is set up once per test binary, so one test does it).
#include "log/log.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

TEST(Log, InitNamesTheFlusherThreadAndKeepsItsCallersName) {
  char before[16] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), before, sizeof(before)), 0);
  EXPECT_FALSE(Init("loud"));
  ASSERT_TRUE(Init("info"));
  char after[16] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), after, sizeof(after)), 0);
  EXPECT_STREQ(after, before);
  const std::vector<std::string> names = ThreadNames();
  EXPECT_EQ(std::count(names.begin(), names.end(), "kyro-log-flush"), 1) << names.size() << " threads";
  Info("log_test", {{"ok", true}});
}

TEST(Log, LevelsAreSpdlogs) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_TRUE(IsValidLevel(level)) << level;
  }
  for (const char* level : {"", "INFO", "warning", "fatal"}) EXPECT_FALSE(IsValidLevel(level)) << level;
}

}  // namespace
}  // namespace kyrodb::log
