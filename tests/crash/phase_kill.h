// Aiming kill -9 at a checkpoint phase of the real server, from outside and
// without hooks in the engine: the data directory shows every phase (a
// checkpoint creates snapshot.bin.tmp, renames it to snapshot.bin, creates
// index-rmi.bin.tmp, renames it, then unlinks the WAL segments the snapshot
// covers; docs/FORMATS.md). An inotify watch on the directory SIGKILLs the
// server the moment the chosen event arrives, typically within tens of
// microseconds, while the server is still in that phase.
//
// After the kill, `kyrodb-engine verify` reports the snapshot's last offset
// and each WAL segment's offsets, which tells whether a compaction was cut in
// the middle (a segment the snapshot covers is still there).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace kyrodb::test {

enum class Phase { kRandom = 0, kSnapshot = 1, kIndex = 2, kCompaction = 3 };
const char* PhaseName(Phase p);

// One directory event: a mask of IN_CREATE, IN_CLOSE_WRITE, IN_MOVED_TO or
// IN_DELETE and a file name (exact, or a prefix such as "wal.").
struct FileTrigger {
  uint32_t mask = 0;
  std::string name;
  bool prefix = false;
  int skip = 0;  // matching events to let pass before firing
  std::string Describe() const;
};

// Watches `dir` and sends SIGKILL to `pid` on the first event matching the
// trigger. The watch is in place when the constructor returns. The caller
// still reaps the process (ServerProcess::Kill9 on a dead child only reaps).
class FileEventKiller {
 public:
  FileEventKiller(const std::string& dir, pid_t pid, FileTrigger trigger);
  ~FileEventKiller();
  FileEventKiller(const FileEventKiller&) = delete;
  FileEventKiller& operator=(const FileEventKiller&) = delete;

  // Waits up to `timeout` for the kill; true if it was sent on the event.
  // Stops the watch either way.
  bool Wait(std::chrono::milliseconds timeout);
  // Why the watch could not be set up; empty when it works.
  const std::string& error() const { return error_; }

 private:
  void Run();

  pid_t pid_;
  FileTrigger trigger_;
  int fd_ = -1;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool fired_ = false;
  std::thread thread_;
};

// `kyrodb-engine verify --data-dir DIR`, with what the crash test reads from
// its report.
struct VerifyReport {
  int exit_status = -1;  // 0: the store is consistent
  std::string output;
  uint64_t snapshot_offset = 0;  // 0 when there is no snapshot.bin
  int covered_segments = 0;      // WAL segments with records, all <= snapshot_offset
};
VerifyReport RunVerify(const std::string& binary, const std::string& data_dir);

// The kyrodb-engine the tests run ($KYRODB_TEST_BINARY or the one built with them).
std::string EngineBinary();

}  // namespace kyrodb::test
