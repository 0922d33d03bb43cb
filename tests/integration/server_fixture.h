// A GoogleTest fixture whose suite shares one running server: starting the
// binary costs tens of milliseconds (more under ASan), so the tests of one
// theme reuse it and keep to their own keys.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/api_assertions.h"
#include "support/http_client.h"
#include "support/server_process.h"

namespace kyrodb::test {

class SharedServerTest : public ::testing::Test {
 protected:
  // Called from a suite's SetUpTestSuite()/TearDownTestSuite(); suites run one
  // after another, so they share these statics. `env` configures the server.
  static void StartServer(std::vector<std::pair<std::string, std::string>> env = {}) {
    ServerOptions options;
    options.env = std::move(env);
    server_ = new ServerProcess(std::move(options));
    std::string error;
    if (!server_->StartAndWaitReady(&error)) start_error_ = error;
  }
  static void StopServer() {
    if (server_ != nullptr && start_error_.empty()) {
      const int status = server_->Terminate();
      EXPECT_EQ(status, 0) << "server did not exit cleanly on SIGTERM; log:\n" << server_->LogTail();
    }
    delete server_;
    server_ = nullptr;
    start_error_.clear();
  }

  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << "server did not start: " << start_error_;
    client_ = server_->NewClient();
  }

  HttpClient& client() { return *client_; }
  ServerProcess& server() { return *server_; }

  static inline ServerProcess* server_ = nullptr;
  static inline std::string start_error_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace kyrodb::test
