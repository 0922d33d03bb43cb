// StoreImpl: wires the WAL appender, the delta, the snapshot and the learned
// index into the Store interface.
//
// Generations. Readers pin one immutable Generation through a ReadMostlyPtr
// (a per-thread slot, no lock or counter shared between readers): the indexed base (snapshot + index), at most one frozen delta
// being folded into the next base, and the active delta the writer fills.
// Publishing a generation is a pointer swap; an old one is freed when its last
// reader drops its pin. Every write <= visible_offset_ is in the generation a reader
// loads after reading visible_offset_, because a delta is only ever retired by
// a generation whose base already contains it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "engine/base_table.h"
#include "engine/change_feed.h"
#include "engine/group_commit.h"
#include "engine/memtable.h"
#include "util/read_mostly_ptr.h"
#include "kyrodb/store.h"
#include "metrics/metrics.h"

namespace kyrodb {

struct Generation {
  std::shared_ptr<const BaseTable> base;
  // Deltas being folded into the next base, newest first. Usually none or one;
  // more only after a checkpoint failed and a later one froze again.
  std::vector<std::shared_ptr<const MemTable>> frozen;
  std::shared_ptr<MemTable> active;  // receives new writes
};

class StoreImpl final : public Store {
 public:
  explicit StoreImpl(const Options& options);
  ~StoreImpl() override;

  // Recovery: snapshot, index, WAL replay; then starts the writer.
  Status Recover();

  using Store::Delete;
  using Store::Put;
  using Store::Write;
  void Put(uint64_t key, std::string value, const WriteOptions& options, WriteCallback cb) override;
  void Delete(uint64_t key, const WriteOptions& options, WriteCallback cb) override;
  void Write(std::vector<WriteOp> ops, const WriteOptions& options, WriteCallback cb) override;
  Status Get(uint64_t key, ValueRef* out) const override;
  Status Scan(uint64_t start, std::optional<uint64_t> end, size_t limit, std::vector<ScanEntry>* out,
              bool* more) const override;
  uint64_t LastOffset() const override { return visible_offset_.load(std::memory_order_acquire); }
  Status ReadLog(uint64_t start, uint64_t end, size_t limit, std::vector<LogEntry>* out,
                 uint64_t* first_available) const override;
  std::shared_ptr<Subscription> Subscribe(size_t max_buffered_bytes, std::function<void()> notify) override;
  Status Checkpoint(CheckpointInfo* info) override;
  void Warmup() const override;
  StoreStats Stats() const override;
  bool Writable() const override;
  void Close() override;

 private:
  // The current generation, under the publish lock: for paths that run
  // rarely. Reads pin it instead: gen_.Pin.
  std::shared_ptr<const Generation> Current() const { return gen_.Load(); }
  void Publish(std::shared_ptr<const Generation> g);
  // Index gauges and the probe-window histogram for a newly built base.
  void RecordIndexMetrics(const BaseTable& base);

  // Writer-thread hooks.
  bool ExistsForWriter(uint64_t key) const;
  // Newest delta version of `key` at or below `max_offset`, or nullptr.
  static const MemTable::Version* DeltaGet(const Generation& g, uint64_t key, uint64_t max_offset);
  void ApplyFromWriter(const std::vector<WriteRequest>& group);

  Status ReplayWal(const Snapshot& snapshot, MemTable* delta, uint64_t* last_offset, uint64_t* max_seq);
  Status WriteSnapshot(const Generation& g, uint64_t last_offset, CheckpointInfo* info,
                       std::shared_ptr<const Snapshot>* out);
  void RemoveCoveredSegments(uint64_t first_live_seq, CheckpointInfo* info);
  void BackgroundLoop();
  // Background thread, first thing: checks the index loaded at start against
  // every key (VerifyIndexKeys) and switches lookups to it; if it fails, logs
  // index_file_rejected and replaces it with a rebuilt (and saved) index.
  void VerifyLoadedIndex(std::shared_ptr<BaseTable> base);
  void MaybeWakeBackground(size_t delta_entries);
  uint64_t LiveWalBytes() const;
  // Sets the WAL segment gauges from wal_segments_; call with wal_mu_ held.
  void UpdateWalGaugesLocked();

  const Options options_;
  FileSystem* const fs_;
  const std::string dir_;
  std::shared_ptr<prometheus::Registry> own_registry_;  // when the caller gave none
  std::unique_ptr<metrics::EngineMetrics> metrics_;

  ReadMostlyPtr<Generation> gen_;
  std::mutex publish_mu_;  // one publisher at a time (writer freeze, checkpoint install)
  std::atomic<uint64_t> visible_offset_{0};
  std::atomic<uint64_t> next_generation_{1};

  MemTable* writer_active_ = nullptr;  // writer thread only
  // Memory of the published generation's frozen deltas, for the delta_bytes
  // gauge (set by Publish, read after each group).
  std::atomic<size_t> frozen_delta_bytes_{0};
  std::vector<MemTable::Write> apply_buffer_;  // ApplyFromWriter's, reused per group
  std::unique_ptr<GroupCommitter> committer_;

  std::mutex checkpoint_mu_;  // serialises checkpoints

  ChangeFeed feed_;
  // Held shared while ReadLog reads segment files, exclusively while a
  // checkpoint removes them.
  mutable std::shared_mutex log_files_mu_;

  mutable std::mutex wal_mu_;
  std::map<uint64_t, uint64_t> wal_segments_;  // seq -> bytes; guarded by wal_mu_
  // seq -> offset of the segment's first write (the next offset when it was
  // started; kNoWrites for a recovered segment holding none), so ReadLog can
  // start at the segment holding its start offset. Guarded by wal_mu_.
  std::map<uint64_t, uint64_t> wal_first_offset_;
  static constexpr uint64_t kNoWrites = ~uint64_t{0};

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;    // guarded by bg_mu_
  bool bg_wanted_ = false;  // guarded by bg_mu_
  std::atomic<bool> bg_pending_{false};
  std::thread bg_thread_;
  // The base recovered with its index check deferred; handed to the
  // background thread (set before it starts, read only by it).
  std::shared_ptr<BaseTable> unverified_base_;

  std::atomic<bool> closed_{false};
  std::unique_ptr<FileLock> dir_lock_;  // held from Recover until Close
};

}  // namespace kyrodb
