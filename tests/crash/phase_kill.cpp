#include "phase_kill.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>
#include <vector>

#ifndef KYRODB_ENGINE_BINARY
#error "KYRODB_ENGINE_BINARY (path of kyrodb-engine) must be defined by the build"
#endif

namespace kyrodb::test {

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kRandom: return "random";
    case Phase::kSnapshot: return "snapshot";
    case Phase::kIndex: return "index";
    case Phase::kCompaction: return "compaction";
  }
  return "?";
}

std::string FileTrigger::Describe() const {
  std::string what = (mask & IN_CREATE)        ? "create"
                     : (mask & IN_CLOSE_WRITE) ? "close_write"
                     : (mask & IN_MOVED_TO)    ? "rename_to"
                     : (mask & IN_DELETE)      ? "delete"
                                               : "event";
  return what + " " + name + (prefix ? "*" : "") + (skip ? " (after " + std::to_string(skip) + ")" : "");
}

FileEventKiller::FileEventKiller(const std::string& dir, pid_t pid, FileTrigger trigger)
    : pid_(pid), trigger_(std::move(trigger)) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error_ = std::string("inotify_init1: ") + std::strerror(errno);
    return;
  }
  if (inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0) {
    error_ = "inotify_add_watch " + dir + ": " + std::strerror(errno);
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

FileEventKiller::~FileEventKiller() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void FileEventKiller::Run() {
  alignas(inotify_event) char buf[16384];
  int skip = trigger_.skip;
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, 5);
    if (n <= 0) continue;
    for (;;) {
      const ssize_t len = ::read(fd_, buf, sizeof buf);
      if (len <= 0) break;
      for (char* at = buf; at < buf + len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(at);
        at += sizeof(inotify_event) + ev->len;
        if ((ev->mask & trigger_.mask) == 0 || ev->len == 0) continue;
        const std::string name(ev->name);
        const bool match = trigger_.prefix ? name.rfind(trigger_.name, 0) == 0 : name == trigger_.name;
        if (!match || skip-- > 0) continue;
        ::kill(pid_, SIGKILL);
        std::lock_guard<std::mutex> lock(mu_);
        fired_ = true;
        cv_.notify_all();
        return;
      }
    }
  }
}

bool FileEventKiller::Wait(std::chrono::milliseconds timeout) {
  bool fired = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return fired_; });
    fired = fired_;
  }
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return fired;
}

std::string EngineBinary() {
  const char* env = std::getenv("KYRODB_TEST_BINARY");
  if (env != nullptr && *env != '\0') return env;
  return KYRODB_ENGINE_BINARY;
}

VerifyReport RunVerify(const std::string& binary, const std::string& data_dir) {
  VerifyReport report;
  const std::string cmd = "'" + binary + "' verify --data-dir '" + data_dir + "' 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) {
    report.output = std::string("popen: ") + std::strerror(errno);
    return report;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) report.output.append(buf, n);
  const int status = ::pclose(f);
  report.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);

  // "ok   DIR/snapshot.bin: 30 keys, offsets up to 30, 1120 bytes, format 2"
  // "ok   DIR/wal.0000000000000012: 10 records, offsets 31..40"
  // "ok   DIR/wal.0000000000000041: 3 records, offsets 41..43, then 262144 zero bytes written ahead (...)"
  std::istringstream lines(report.output);
  std::string line;
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // records, last offset
  while (std::getline(lines, line)) {
    const auto snap = line.find("/snapshot.bin: ");
    if (snap != std::string::npos) {
      const auto up = line.find("offsets up to ", snap);
      if (up != std::string::npos) report.snapshot_offset = std::strtoull(line.c_str() + up + 14, nullptr, 10);
      continue;
    }
    const auto wal = line.find("/wal.");
    const auto recs = line.find(" records, offsets ");
    if (wal == std::string::npos || recs == std::string::npos) continue;
    const auto colon = line.find(": ", wal);
    if (colon == std::string::npos) continue;
    const uint64_t records = std::strtoull(line.c_str() + colon + 2, nullptr, 10);
    const auto dots = line.find("..", recs);
    if (dots == std::string::npos) continue;
    segments.emplace_back(records, std::strtoull(line.c_str() + dots + 2, nullptr, 10));
  }
  for (const auto& [records, last] : segments) {
    if (records > 0 && last <= report.snapshot_offset) ++report.covered_segments;
  }
  return report;
}

}  // namespace kyrodb::test
