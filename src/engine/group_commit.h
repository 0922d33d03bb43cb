// GroupCommitter: the single WAL appender.
//
// Concurrent writers enqueue requests; one thread takes everything queued,
// frames it into one buffer, issues one write and one sync for the whole group
// (SPEC §4 policy), then applies the group to the delta, publishes it to
// readers and runs the callbacks. While one group syncs the next one gathers,
// so the sync cost is shared by every request that arrived meanwhile. Written
// by hand: this loop is the heart of the durability promise.
//
// After a failed write or sync the committer turns read-only for good: the
// bytes that sync covered are not trusted (no retry), every queued and later
// request fails with Unavailable, and the reason is kept for /health.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/idempotency.h"
#include "engine/wal_writer.h"
#include "kyrodb/options.h"
#include "kyrodb/store.h"
#include "metrics/metrics.h"

namespace kyrodb {

struct WriteRequest {
  std::vector<WriteOp> ops;
  bool delete_must_exist = false;  // a single Delete answers NotFound for a missing key
  std::string idempotency_key;     // empty: none
  WriteCallback cb;
  std::function<void()> barrier;   // set: no write; runs on the writer thread in queue order
  uint64_t first_offset = 0;       // assigned by the committer
};

class GroupCommitter {
 public:
  struct Hooks {
    // Writer thread: does `key` exist in everything applied so far?
    std::function<bool(uint64_t key)> exists;
    // Writer thread: apply a durable request's ops (offsets first_offset + i).
    std::function<void(const WriteRequest&)> apply;
    // Writer thread: everything up to `offset` is applied; make it visible.
    std::function<void(uint64_t offset)> publish;
    // Writer thread: the group is durable and visible (requests with
    // first_offset 0 were refused), before the callbacks run.
    std::function<void(const std::vector<WriteRequest>& group)> committed;
    // Writer thread: a new segment `seq` was started (old one closed, `bytes` long).
    std::function<void(uint64_t old_seq, uint64_t old_bytes, uint64_t new_seq)> rotated;
    // Once, when the committer turns read-only (any thread that hit the fault).
    std::function<void(const std::string& reason)> read_only;
    // Writer thread: after each group, with the current segment's size.
    std::function<void(uint64_t seq, uint64_t bytes)> appended;
  };

  GroupCommitter(const Options& options, FileSystem* fs, std::string dir, metrics::WalMetrics& metrics,
                 Hooks hooks);
  ~GroupCommitter();

  // Starts the writer thread on segment `wal` with next offset `next_offset`.
  void Start(std::unique_ptr<wal::WalWriter> wal, uint64_t next_offset);

  // Enqueues a request; its callback (or barrier) runs on the writer thread.
  void Submit(WriteRequest req);

  // Closes the current segment and starts the next one; writer thread only
  // (call from a barrier). Returns the first sequence number of the new segment.
  Status RotateFromWriter(uint64_t* new_seq);

  // The idempotency window; recovery fills it before Start, then only the
  // writer thread touches it.
  IdempotencyWindow& idempotency() { return idempotency_; }

  // Last offset applied (writer thread view; valid inside a barrier).
  uint64_t last_offset_from_writer() const { return next_offset_ - 1; }

  bool read_only() const;
  std::string read_only_reason() const;

  // Fails queued requests, syncs and closes the WAL, joins the thread.
  void Stop();

 private:
  void Run();
  void CommitGroup(std::vector<WriteRequest>& group);
  void FailGroup(std::vector<WriteRequest>& group, const Status& status);
  void EnterReadOnly(const Status& cause);
  bool DeleteTargetExists(const std::vector<WriteRequest>& group, size_t index, uint64_t key) const;
  // Re-states the idempotency window at the head of a fresh segment.
  Status WriteIdempotencyCarry();
  Status SyncPerPolicy();

  const Options options_;
  FileSystem* fs_;
  const std::string dir_;
  metrics::WalMetrics& metrics_;
  Hooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteRequest> queue_;  // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  bool read_only_ = false;          // guarded by mu_
  std::string read_only_reason_;    // guarded by mu_

  // Writer thread only.
  std::unique_ptr<wal::WalWriter> wal_;
  uint64_t next_offset_ = 1;
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;
  std::string buffer_;
  IdempotencyWindow idempotency_;

  std::thread thread_;
};

}  // namespace kyrodb
