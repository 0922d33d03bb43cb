#include "support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace kyrodb::test {

namespace {

#ifndef KYRODB_BINARY
#error "KYRODB_BINARY (path of kyrodb-engine) must be defined by the build"
#endif

std::string DefaultBinary() {
  const char* env = std::getenv("KYRODB_TEST_BINARY");
  if (env != nullptr && *env != '\0') return env;
  return KYRODB_BINARY;
}

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

uint64_t FileSizeOr0(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return 0;
  return static_cast<uint64_t>(f.tellg());
}

std::string ReadFrom(const std::string& path, uint64_t offset, uint64_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  f.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  if (offset > size) offset = size;
  if (size - offset > max_bytes) offset = size - max_bytes;
  f.seekg(static_cast<std::streamoff>(offset));
  std::string out(size - offset, '\0');
  f.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(f.gcount()));
  return out;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

uint16_t PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)), work_("kyrodb-server-") {
  // The tests write to sockets the server may have closed; asio passes
  // MSG_NOSIGNAL, but nothing else in a test should die of SIGPIPE either.
  ::signal(SIGPIPE, SIG_IGN);
  data_dir_ = options_.data_dir.empty() ? work_.Sub("data") : options_.data_dir;
  log_path_ = work_.Sub("server.log");
  binary_ = options_.binary.empty() ? DefaultBinary() : options_.binary;
}

ServerProcess::~ServerProcess() {
  Kill9();
  PrintLogTailIfTestFailed();
}

void ServerProcess::PrintLogTailIfTestFailed() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (tail_printed_ || info == nullptr || !::testing::Test::HasFailure()) return;
  tail_printed_ = true;
  std::fprintf(stderr, "----- tail of %s -----\n%s\n----- end of server log -----\n", log_path_.c_str(),
               LogTail().c_str());
}

std::string ServerProcess::Url() const { return "http://" + host_ + ":" + std::to_string(port_); }

std::unique_ptr<HttpClient> ServerProcess::NewClient(std::chrono::milliseconds timeout) const {
  return std::make_unique<HttpClient>(host_, port_, timeout);
}

std::string ServerProcess::LogTail(size_t max_bytes) const { return ReadFrom(log_path_, 0, max_bytes); }

std::string ServerProcess::CurrentRunLog() const { return ReadFrom(log_path_, run_log_offset_, 64ull << 20); }

bool ServerProcess::Start(std::string* error) {
  if (Running()) {
    if (error != nullptr) *error = "server already running (pid " + std::to_string(pid_) + ")";
    return false;
  }
  port_ = PickFreePort();
  if (port_ == 0) {
    if (error != nullptr) *error = std::string("cannot find a free port: ") + std::strerror(errno);
    return false;
  }

  // Everything the child needs is built before fork(): between fork and exec
  // only async-signal-safe calls are allowed in a multi-threaded parent.
  std::vector<std::string> args = {binary_, "serve", host_, std::to_string(port_), "--data-dir", data_dir_};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("KYRODB_", 0) == 0) continue;  // hermetic: the test decides every KYRODB_* value
    const std::string name(entry.substr(0, entry.find('=')));
    bool overridden = false;
    for (const auto& [k, v] : options_.env) overridden = overridden || k == name;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    if (error != nullptr) *error = "open " + log_path_ + ": " + std::strerror(errno);
    return false;
  }
  {
    std::string banner = "===== start: ";
    for (const auto& a : args) banner += a + " ";
    banner += "\n";
    [[maybe_unused]] ssize_t w = ::write(log_fd, banner.data(), banner.size());
  }
  run_log_offset_ = FileSizeOr0(log_path_);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    if (error != nullptr) *error = std::string("fork: ") + std::strerror(err);
    return false;
  }
  if (child == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    // Asio's sockets are not close-on-exec: without this a server would hold
    // the test's client connections (to itself or to other servers) open.
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    }
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "ServerProcess: execve failed\n";
    [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  pid_ = child;
  last_exit_status_ = -1;
  return true;
}

bool ServerProcess::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      last_exit_status_ = DecodeWaitStatus(status);
      pid_ = -1;
      return true;
    }
    if (r == 0) return false;        // still running
    if (errno == EINTR) continue;
    pid_ = -1;                        // ECHILD: someone else reaped it
    return true;
  }
}

bool ServerProcess::Running() { return pid_ > 0 && !Reap(/*block=*/false); }

void ServerProcess::Kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Reap(/*block=*/true);
}

int ServerProcess::Terminate(std::chrono::milliseconds wait) {
  if (pid_ <= 0) return last_exit_status_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Reap(/*block=*/false)) return last_exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Kill9();
  last_exit_status_ = -1;
  return -1;
}

bool ServerProcess::WaitReady(std::chrono::milliseconds deadline, std::string* error) {
  constexpr int kMaxPortRetries = 5;
  int port_retries = 0;
  const auto until = std::chrono::steady_clock::now() + deadline;
  std::string last;
  while (std::chrono::steady_clock::now() < until) {
    if (!Running()) {
      const std::string log = ToLower(CurrentRunLog());
      const bool port_taken = log.find("in use") != std::string::npos;
      if (port_taken && port_retries < kMaxPortRetries) {
        ++port_retries;
        std::string start_error;
        if (!Start(&start_error)) {
          if (error != nullptr) *error = start_error;
          return false;
        }
        continue;
      }
      if (error != nullptr) {
        *error = "server exited with status " + std::to_string(last_exit_status_) + " before it was ready; log:\n" +
                 ReadFrom(log_path_, run_log_offset_, 6000);
      }
      return false;
    }
    HttpClient client(host_, port_, std::chrono::milliseconds(1000));
    const HttpResponse r = client.Get("/ready");
    if (r.status == 200) return true;
    last = r.Describe();
    std::this_thread::sleep_for(std::chrono::milliseconds(r.status == 0 ? 10 : 25));
  }
  if (error != nullptr) {
    *error = "server not ready after " + std::to_string(deadline.count()) + " ms (last /ready: " + last +
             "); log:\n" + ReadFrom(log_path_, run_log_offset_, 6000);
  }
  return false;
}

bool ServerProcess::StartAndWaitReady(std::string* error) {
  return Start(error) && WaitReady(std::chrono::seconds(30), error);
}

}  // namespace kyrodb::test
