// GroupCommitter: the single WAL appender.
//
// Concurrent writers enqueue requests; one thread takes everything queued,
// frames it into one buffer, issues one write and one sync for the whole group
// (SPEC §4 policy), then applies the group to the delta, publishes it to
// readers and runs the callbacks. While one group syncs the next one gathers,
// so the sync cost is shared by every request that arrived meanwhile. Written
// by hand: this loop is the heart of the durability promise.
//
// Pipelining (policies data and always, Options::wal_pipeline). The work after a group's sync
// (skip-list inserts, publishing, the callbacks, which format and post the
// HTTP answers) runs on a second thread, the completer, so the writer thread
// goes straight on to write and sync the next group: the disk never waits for
// the CPU work of the group before. Groups complete strictly in order, and a
// group is applied and published only after its own sync returned, so nothing
// becomes visible (reads are bounded by the published offset) or acknowledged
// before it is durable. Whatever must see every earlier write applied (a
// barrier, a group holding a Delete that must find its key, a refusal after
// a fault) first waits for the completer to drain. Without pipelining the
// writer thread completes each group itself before it takes the next.
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
#include <optional>
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
    // Completer (or writer) thread: apply the ops of every durable request of
    // a group (those with first_offset != 0; op i has offset first_offset + i).
    std::function<void(const std::vector<WriteRequest>& group)> apply;
    // Writer thread: everything up to `offset` is applied; make it visible.
    std::function<void(uint64_t offset)> publish;
    // Writer thread: the group is durable and visible (requests with
    // first_offset 0 were refused), before the callbacks run.
    std::function<void(const std::vector<WriteRequest>& group)> committed;
    // Writer thread: a new segment `new_seq` was started (old one closed,
    // `old_bytes` long); its first write will have offset `new_first_offset`.
    std::function<void(uint64_t old_seq, uint64_t old_bytes, uint64_t new_seq, uint64_t new_first_offset)> rotated;
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
  // One group on its way from the queue to its callbacks. Batches are
  // recycled (see spare_) so a busy writer allocates nothing per group.
  struct Batch {
    std::vector<WriteRequest> requests;
    // Per request: refused (status), answered by an earlier attempt (its
    // offset), or the same idempotency key as an earlier request of the group.
    std::vector<Status> refused;
    std::vector<std::optional<uint64_t>> answered;
    std::vector<std::optional<size_t>> same_as;
    size_t records = 0;        // WAL records written (0: nothing to apply)
    Status failure;            // the write or sync failed: nothing is acknowledged
    uint64_t last_offset = 0;  // the group's newest offset, when written
  };

  void Run();
  // Takes queued requests into `batch` (lock held); false when stopping.
  void TakeQueued(std::unique_lock<std::mutex>& lock, Batch* batch);
  // Writer thread: frames, writes and syncs the group.
  void WriteGroup(Batch* batch);
  // Applies, publishes and answers a written group (completer thread, or the
  // writer thread when not pipelining).
  void CompleteGroup(Batch* batch);
  void FailGroup(Batch* batch, const Status& status);
  // Writer thread: hands a batch to the completer (or completes it inline).
  void Dispatch(std::unique_ptr<Batch> batch);
  // Writer thread: returns once every dispatched batch has completed.
  void WaitCompleterIdle();
  void CompleterLoop();
  std::unique_ptr<Batch> NewBatch();
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
  // A vector, not a deque: the writer swaps it with an empty batch, so
  // neither side allocates per request once capacities have grown.
  std::vector<WriteRequest> queue_;  // guarded by mu_
  bool writer_waiting_ = false;      // guarded by mu_: Submit wakes only a sleeping writer
  bool stopping_ = false;            // guarded by mu_
  bool read_only_ = false;          // guarded by mu_
  std::string read_only_reason_;    // guarded by mu_

  // Writer thread only.
  std::unique_ptr<wal::WalWriter> wal_;
  uint64_t next_offset_ = 1;
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;
  std::string buffer_;
  IdempotencyWindow idempotency_;

  // The completer stage (pipelined policies only).
  const bool pipelined_;
  std::mutex done_mu_;
  std::condition_variable completer_cv_;        // work for the completer
  std::condition_variable writer_cv_;           // a batch completed
  std::deque<std::unique_ptr<Batch>> pending_;  // guarded by done_mu_: written, not completed, in order
  size_t in_flight_ = 0;                        // guarded by done_mu_: dispatched, not completed
  bool completer_stop_ = false;                 // guarded by done_mu_
  std::vector<std::unique_ptr<Batch>> spare_;   // guarded by done_mu_: completed, for reuse
  std::thread completer_;

  std::thread thread_;
};

}  // namespace kyrodb
