#include "engine/group_commit.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>

#include "engine/wal_format.h"
#include "log/log.h"
#include "util/thread_name.h"

namespace kyrodb {
namespace {

using Clock = std::chrono::steady_clock;

size_t RequestBytes(const WriteRequest& r) {
  size_t n = 32;
  for (const WriteOp& op : r.ops) n += op.value.size() + 16;
  return n;
}

}  // namespace

GroupCommitter::GroupCommitter(const Options& options, FileSystem* fs, std::string dir,
                               metrics::WalMetrics& metrics, Hooks hooks)
    : options_(options),
      fs_(fs),
      dir_(std::move(dir)),
      metrics_(metrics),
      hooks_(std::move(hooks)),
      idempotency_(options.idempotency_window_keys),
      pipelined_(UseWalPipeline(options.fsync_policy, options.wal_pipeline, UsableCpus())) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Start(std::unique_ptr<wal::WalWriter> wal, uint64_t next_offset) {
  wal_ = std::move(wal);
  next_offset_ = next_offset;
  last_sync_ = Clock::now();
  if (pipelined_) {
    completer_ = std::thread([this] {
      SetThreadName("kyro-complete");
      CompleterLoop();
    });
  }
  thread_ = std::thread([this] {
    SetThreadName("kyro-wal");
    Run();
  });
}

void GroupCommitter::Submit(WriteRequest req) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && (!read_only_ || req.barrier)) {
      queue_.push_back(std::move(req));
      // While the writer is busy (writing, syncing) it takes the queue on its
      // own when done; only a sleeping writer needs the futex wake.
      if (writer_waiting_) {
        writer_waiting_ = false;
        cv_.notify_one();
      }
      return;
    }
  }
  // Refused outside the lock: callbacks may take their own locks.
  if (req.barrier) {
    req.barrier();
  } else {
    req.cb(Status::Unavailable(read_only() ? "store is read-only: " + read_only_reason() : "store is closing"), 0);
  }
}

bool GroupCommitter::read_only() const {
  std::lock_guard<std::mutex> lock(mu_);
  return read_only_;
}

std::string GroupCommitter::read_only_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return read_only_reason_;
}

void GroupCommitter::EnterReadOnly(const Status& cause) {
  metrics_.errors.Increment();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (read_only_) return;
    read_only_ = true;
    read_only_reason_ = cause.ToString();
  }
  log::Error("store_read_only", {{"reason", cause.ToString()}});
  if (hooks_.read_only) hooks_.read_only(cause.ToString());
}

std::unique_ptr<GroupCommitter::Batch> GroupCommitter::NewBatch() {
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    if (!spare_.empty()) {
      std::unique_ptr<Batch> b = std::move(spare_.back());
      spare_.pop_back();
      return b;
    }
  }
  return std::make_unique<Batch>();
}

void GroupCommitter::TakeQueued(std::unique_lock<std::mutex>& lock, Batch* batch) {
  (void)lock;
  // Take everything queued up to the byte budget; a barrier ends the group so
  // it runs after the writes queued before it, and runs alone.
  size_t take = 0;
  size_t bytes = 0;
  while (take < queue_.size() && bytes < options_.max_batch_bytes) {
    if (queue_[take].barrier) {
      if (take == 0) take = 1;
      break;
    }
    bytes += RequestBytes(queue_[take]);
    ++take;
  }
  if (take == queue_.size()) {
    std::swap(queue_, batch->requests);  // the usual case: the queue keeps the batch's capacity
    return;
  }
  std::move(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take), std::back_inserter(batch->requests));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
}

void GroupCommitter::Run() {
  const bool interval = options_.fsync_policy == FsyncPolicy::kInterval;
  const auto interval_len = std::chrono::milliseconds(options_.fsync_interval_ms);
  for (;;) {
    std::unique_ptr<Batch> batch = NewBatch();
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      while (!ready()) {
        writer_waiting_ = true;
        if (interval && unsynced_) {
          if (cv_.wait_until(lock, last_sync_ + interval_len) == std::cv_status::timeout) break;
        } else {
          cv_.wait(lock);
        }
      }
      writer_waiting_ = false;
      if (queue_.empty() && stopping_) break;
      TakeQueued(lock, batch.get());
    }
    std::vector<WriteRequest>& group = batch->requests;
    if (group.empty()) {
      // Woken by the interval timer: sync what the last groups wrote.
      if (interval && unsynced_ && Clock::now() - last_sync_ >= interval_len && !read_only()) {
        Status s = wal_->Sync(false);
        metrics_.fsyncs.Increment();
        if (!s.ok()) EnterReadOnly(s);
        unsynced_ = false;
        last_sync_ = Clock::now();
      }
      Dispatch(std::move(batch));  // recycles it
      continue;
    }
    if (group.front().barrier) {
      WaitCompleterIdle();  // a barrier sees every earlier write applied
      group.front().barrier();
      group.clear();
      Dispatch(std::move(batch));
      continue;
    }
    if (read_only()) {
      FailGroup(batch.get(), Status::Unavailable("store is read-only: " + read_only_reason()));
      Dispatch(std::move(batch));
      continue;
    }
    for (const WriteRequest& r : group) {
      if (r.delete_must_exist) {
        // Its answer depends on every earlier write being applied.
        WaitCompleterIdle();
        break;
      }
    }
    WriteGroup(batch.get());
    const bool written = batch->records > 0 && batch->failure.ok();
    Dispatch(std::move(batch));
    if (!written) continue;
    hooks_.appended(wal_->seq(), wal_->size());
    if (wal_->size() >= options_.wal_segment_bytes) {
      uint64_t seq = 0;
      (void)RotateFromWriter(&seq);  // a failure turns the store read-only inside
    }
  }
  WaitCompleterIdle();
  if (completer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(done_mu_);
      completer_stop_ = true;
    }
    completer_cv_.notify_one();
    completer_.join();
  }
  // Shutting down: make everything written durable whatever the policy.
  if (wal_ != nullptr && !read_only()) {
    Status s = wal_->Close();
    if (!s.ok()) log::Error("wal_close_failed", {{"error", s.ToString()}});
  }
}

void GroupCommitter::Dispatch(std::unique_ptr<Batch> batch) {
  if (!pipelined_ || batch->requests.empty()) {
    if (!batch->requests.empty()) CompleteGroup(batch.get());
    batch->requests.clear();
    std::lock_guard<std::mutex> lock(done_mu_);
    spare_.push_back(std::move(batch));
    return;
  }
  std::unique_lock<std::mutex> lock(done_mu_);
  // Bounded: if the completer falls behind, the writer waits for it rather
  // than piling up groups (and their memory).
  writer_cv_.wait(lock, [&] { return in_flight_ < 4; });
  ++in_flight_;
  pending_.push_back(std::move(batch));
  if (pending_.size() == 1) completer_cv_.notify_one();
}

void GroupCommitter::WaitCompleterIdle() {
  if (!pipelined_) return;
  std::unique_lock<std::mutex> lock(done_mu_);
  writer_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

void GroupCommitter::CompleterLoop() {
  std::unique_lock<std::mutex> lock(done_mu_);
  for (;;) {
    completer_cv_.wait(lock, [&] { return completer_stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, and nothing left
    std::unique_ptr<Batch> batch = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    CompleteGroup(batch.get());
    batch->requests.clear();
    lock.lock();
    spare_.push_back(std::move(batch));
    --in_flight_;
    writer_cv_.notify_one();
  }
}

bool GroupCommitter::DeleteTargetExists(const std::vector<WriteRequest>& group, size_t index, uint64_t key) const {
  // Earlier requests of this group are not applied yet: they win over the store.
  for (size_t i = index; i-- > 0;) {
    if (group[i].first_offset == 0) continue;  // refused request
    const auto& ops = group[i].ops;
    for (size_t j = ops.size(); j-- > 0;) {
      if (ops[j].key == key) return ops[j].type == WriteOp::Type::kPut;
    }
  }
  return hooks_.exists(key);
}

Status GroupCommitter::SyncPerPolicy() {
  switch (options_.fsync_policy) {
    case FsyncPolicy::kData:
    case FsyncPolicy::kAlways: {
      const auto start = Clock::now();
      Status s = wal_->Sync(options_.fsync_policy == FsyncPolicy::kAlways);
      metrics_.fsyncs.Increment();
      metrics_.fsync_seconds.Observe(std::chrono::duration<double>(Clock::now() - start).count());
      last_sync_ = Clock::now();
      return s;
    }
    case FsyncPolicy::kInterval:
      unsynced_ = true;
      if (Clock::now() - last_sync_ >= std::chrono::milliseconds(options_.fsync_interval_ms)) {
        Status s = wal_->Sync(false);
        metrics_.fsyncs.Increment();
        unsynced_ = false;
        last_sync_ = Clock::now();
        return s;
      }
      return Status::OK();
    case FsyncPolicy::kNone:
      return Status::OK();
  }
  return Status::OK();
}

void GroupCommitter::WriteGroup(Batch* batch) {
  std::vector<WriteRequest>& group = batch->requests;
  buffer_.clear();
  uint64_t offset = next_offset_;
  // Reused per batch: resizing keeps the capacity, so no allocation here.
  batch->refused.assign(group.size(), Status());
  batch->answered.assign(group.size(), std::nullopt);
  batch->same_as.assign(group.size(), std::nullopt);
  batch->records = 0;
  batch->failure = Status();
  for (size_t i = 0; i < group.size(); ++i) {
    WriteRequest& r = group[i];
    r.first_offset = 0;
    if (!r.idempotency_key.empty()) {
      if (auto prior = idempotency_.Find(r.idempotency_key)) {
        batch->answered[i] = *prior;
        continue;
      }
      for (size_t j = 0; j < i && !batch->same_as[i]; ++j) {
        if (group[j].idempotency_key == r.idempotency_key && !batch->same_as[j] && !batch->answered[j]) {
          batch->same_as[i] = j;
        }
      }
      if (batch->same_as[i]) continue;
    }
    if (r.delete_must_exist && !DeleteTargetExists(group, i, r.ops.front().key)) {
      batch->refused[i] = Status::NotFound("key " + std::to_string(r.ops.front().key) + " not found");
      continue;
    }
    r.first_offset = offset;
    wal::EncodeRecord(offset, r.ops, r.idempotency_key, &buffer_);
    offset += r.ops.size();
    ++batch->records;
  }
  if (batch->records == 0) return;

  Status s = wal_->Append(buffer_);
  if (s.ok()) s = SyncPerPolicy();
  next_offset_ = offset;  // also on failure: the offsets a failed group took are never reused
  if (!s.ok()) {
    // Nothing of this group is acknowledged: recovery may or may not find
    // these records.
    EnterReadOnly(s);
    batch->failure = Status::Unavailable("write not durable: " + s.ToString());
    return;
  }
  batch->last_offset = offset - 1;
  metrics_.appends.Increment(static_cast<double>(batch->records));
  metrics_.bytes.Increment(static_cast<double>(buffer_.size()));
  metrics_.group_size.Observe(static_cast<double>(group.size()));
  // The window is the writer thread's: later groups must find these keys now,
  // before this group is even applied (their answers still complete after
  // this group's, in order).
  for (const WriteRequest& r : group) {
    if (r.first_offset != 0 && !r.idempotency_key.empty()) idempotency_.Insert(r.idempotency_key, r.first_offset);
  }
}

void GroupCommitter::CompleteGroup(Batch* batch) {
  std::vector<WriteRequest>& group = batch->requests;
  const Status& failure = batch->failure;
  if (batch->records > 0 && failure.ok()) {
    hooks_.apply(group);
    hooks_.publish(batch->last_offset);
    if (hooks_.committed) hooks_.committed(group);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    WriteRequest& r = group[i];
    if (batch->answered[i]) {
      r.cb(Status::OK(), *batch->answered[i]);
    } else if (batch->same_as[i]) {
      const WriteRequest& first = group[*batch->same_as[i]];
      const Status& st = first.first_offset != 0 ? failure : batch->refused[*batch->same_as[i]];
      r.cb(st, st.ok() ? first.first_offset : 0);
    } else if (r.first_offset != 0) {
      r.cb(failure, failure.ok() ? r.first_offset : 0);
    } else {
      r.cb(batch->refused[i], 0);
    }
  }
}

Status GroupCommitter::WriteIdempotencyCarry() {
  if (idempotency_.size() == 0) return Status::OK();
  std::string record;
  wal::EncodeIdempotencyCarry(next_offset_ - 1, idempotency_.Entries(), &record);
  KYRODB_RETURN_IF_ERROR(wal_->Append(record));
  return wal_->Sync(false);
}

void GroupCommitter::FailGroup(Batch* batch, const Status& status) {
  // Refused as a whole: answered as written with `status` and nothing to apply.
  const size_t n = batch->requests.size();
  batch->refused.assign(n, status);
  batch->answered.assign(n, std::nullopt);
  batch->same_as.assign(n, std::nullopt);
  batch->records = 0;
  batch->failure = status;
  for (WriteRequest& r : batch->requests) r.first_offset = 0;
}

Status GroupCommitter::RotateFromWriter(uint64_t* new_seq) {
  if (read_only()) return Status::Unavailable("store is read-only: " + read_only_reason());
  const uint64_t old_seq = wal_->seq();
  const uint64_t old_bytes = wal_->size();
  // Synced whatever the policy: a torn record may only ever be in the last segment.
  Status s = wal_->Close();
  if (s.ok()) {
    std::unique_ptr<wal::WalWriter> next;
    s = wal::WalWriter::Create(fs_, dir_, old_seq + 1, &next);
    if (s.ok()) {
      wal_ = std::move(next);
      unsynced_ = false;
      // Older segments may be removed once a snapshot covers them: the keys
      // they hold must live on in this one.
      s = WriteIdempotencyCarry();
    }
    if (s.ok()) {
      hooks_.rotated(old_seq, old_bytes, wal_->seq(), next_offset_);
      *new_seq = wal_->seq();
      return Status::OK();
    }
  }
  EnterReadOnly(s);
  return s;
}

void GroupCommitter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kyrodb
