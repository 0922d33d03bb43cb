// ServerProcess: runs the real kyrodb-engine binary as a child process on a
// free loopback port, for integration and crash tests.
//
// The child gets a clean environment (every inherited KYRODB_* variable is
// dropped, so a developer's shell cannot change test results) plus the
// variables a test asks for; its stdout/stderr go to a log file whose tail is
// printed when the current GoogleTest test has failed. The child dies with the
// thread that started it (PR_SET_PDEATHSIG), and the destructor kills and reaps
// it, so no server outlives its test even when the test binary crashes or is
// killed by ctest's timeout. Start servers from the main thread.
//
// Not thread-safe: one thread drives one ServerProcess (other threads may use
// port()/Url() while it runs).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/http_client.h"
#include "support/temp_dir.h"

namespace kyrodb::test {

struct ServerOptions {
  // Data directory; empty means "<server temp dir>/data", kept across restarts
  // of this ServerProcess.
  std::string data_dir;
  // Extra environment for the child (name, value).
  std::vector<std::pair<std::string, std::string>> env;
  // Arguments after "serve HOST PORT --data-dir DIR".
  std::vector<std::string> extra_args;
  // Empty means the binary built with the tests (or $KYRODB_TEST_BINARY).
  std::string binary;
};

class ServerProcess {
 public:
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the child on a new free port (a restart gets a new port too, so a
  // client of the old process can never reach the new one by accident).
  // False with `error` if fork/exec failed or the process is already running.
  bool Start(std::string* error = nullptr);
  // Polls GET /ready until it answers 200 or `deadline` passes. If the child
  // exits because the port was taken in the meantime, restarts it on another
  // port (a few times). On failure `error` holds the reason and the log tail.
  bool WaitReady(std::chrono::milliseconds deadline = std::chrono::seconds(30),
                 std::string* error = nullptr);
  // Start() + WaitReady().
  bool StartAndWaitReady(std::string* error = nullptr);

  // SIGKILL and reap. No-op when not running.
  void Kill9();
  // SIGTERM, wait up to `wait` for exit; returns the exit status (0..255),
  // 128+N when a signal N ended it, or -1 when it did not stop in time (it is
  // then killed with SIGKILL).
  int Terminate(std::chrono::milliseconds wait = std::chrono::seconds(20));
  // Whether the child is alive; reaps it if it has exited.
  bool Running();
  // Exit status of the last run as Terminate() reports it; -1 while running
  // or never started.
  int last_exit_status() const { return last_exit_status_; }

  uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }
  std::string Url() const;
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }
  // A client with this server's address.
  std::unique_ptr<HttpClient> NewClient(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Last `max_bytes` of the log (all runs of this object).
  std::string LogTail(size_t max_bytes = 6000) const;
  // The whole log written since the last Start().
  std::string CurrentRunLog() const;

 private:
  bool Reap(bool block);
  void PrintLogTailIfTestFailed();

  ServerOptions options_;
  TempDir work_;
  std::string host_ = "127.0.0.1";
  std::string data_dir_;
  std::string log_path_;
  std::string binary_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int last_exit_status_ = -1;
  uint64_t run_log_offset_ = 0;
  bool tail_printed_ = false;
};

// A free TCP port on 127.0.0.1 (bound to port 0 and released; a race with
// another process is possible, which WaitReady() handles).
uint16_t PickFreePort();

}  // namespace kyrodb::test
