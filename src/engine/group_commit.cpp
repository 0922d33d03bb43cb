#include "engine/group_commit.h"

#include <chrono>
#include <optional>

#include "engine/wal_format.h"
#include "log/log.h"

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
      idempotency_(options.idempotency_window_keys) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Start(std::unique_ptr<wal::WalWriter> wal, uint64_t next_offset) {
  wal_ = std::move(wal);
  next_offset_ = next_offset;
  last_sync_ = Clock::now();
  thread_ = std::thread([this] { Run(); });
}

void GroupCommitter::Submit(WriteRequest req) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && (!read_only_ || req.barrier)) {
      queue_.push_back(std::move(req));
      cv_.notify_one();
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

void GroupCommitter::Run() {
  std::vector<WriteRequest> group;
  const bool interval = options_.fsync_policy == FsyncPolicy::kInterval;
  const auto interval_len = std::chrono::milliseconds(options_.fsync_interval_ms);
  for (;;) {
    group.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (interval && unsynced_) {
        cv_.wait_until(lock, last_sync_ + interval_len, ready);
      } else {
        cv_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) break;
      // Take everything queued up to the byte budget; a barrier ends the
      // group so it runs after the writes queued before it.
      size_t bytes = 0;
      while (!queue_.empty() && bytes < options_.max_batch_bytes) {
        if (queue_.front().barrier && !group.empty()) break;
        bytes += RequestBytes(queue_.front());
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (group.back().barrier) break;
      }
    }
    if (group.empty()) {
      // Woken by the interval timer: sync what the last groups wrote.
      if (interval && unsynced_ && Clock::now() - last_sync_ >= interval_len && !read_only()) {
        Status s = wal_->Sync(false);
        metrics_.fsyncs.Increment();
        if (!s.ok()) EnterReadOnly(s);
        unsynced_ = false;
        last_sync_ = Clock::now();
      }
      continue;
    }
    if (group.front().barrier) {
      group.front().barrier();
      continue;
    }
    if (read_only()) {
      FailGroup(group, Status::Unavailable("store is read-only: " + read_only_reason()));
      continue;
    }
    CommitGroup(group);
  }
  // Shutting down: make everything written durable whatever the policy.
  if (wal_ != nullptr && !read_only()) {
    Status s = wal_->Close();
    if (!s.ok()) log::Error("wal_close_failed", {{"error", s.ToString()}});
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

void GroupCommitter::CommitGroup(std::vector<WriteRequest>& group) {
  buffer_.clear();
  uint64_t offset = next_offset_;
  std::vector<Status> refused(group.size());
  // Retries answered without writing: the offset the first attempt got, or
  // the index of an earlier request of this group with the same key.
  std::vector<std::optional<uint64_t>> answered(group.size());
  std::vector<std::optional<size_t>> same_as(group.size());
  size_t records = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    WriteRequest& r = group[i];
    r.first_offset = 0;
    if (!r.idempotency_key.empty()) {
      if (auto prior = idempotency_.Find(r.idempotency_key)) {
        answered[i] = *prior;
        continue;
      }
      for (size_t j = 0; j < i && !same_as[i]; ++j) {
        if (group[j].idempotency_key == r.idempotency_key && !same_as[j] && !answered[j]) same_as[i] = j;
      }
      if (same_as[i]) continue;
    }
    if (r.delete_must_exist && !DeleteTargetExists(group, i, r.ops.front().key)) {
      refused[i] = Status::NotFound("key " + std::to_string(r.ops.front().key) + " not found");
      continue;
    }
    r.first_offset = offset;
    wal::EncodeRecord(offset, r.ops, r.idempotency_key, &buffer_);
    offset += r.ops.size();
    ++records;
  }

  Status failure;
  if (records > 0) {
    Status s = wal_->Append(buffer_);
    if (s.ok()) s = SyncPerPolicy();
    if (!s.ok()) {
      // Nothing of this group is acknowledged, and the offsets it took are
      // never reused: recovery may or may not find these records.
      EnterReadOnly(s);
      failure = Status::Unavailable("write not durable: " + s.ToString());
      next_offset_ = offset;
    } else {
      metrics_.appends.Increment(static_cast<double>(records));
      metrics_.bytes.Increment(static_cast<double>(buffer_.size()));
      metrics_.group_size.Observe(static_cast<double>(group.size()));
      for (const WriteRequest& r : group) {
        if (r.first_offset == 0) continue;
        hooks_.apply(r);
        if (!r.idempotency_key.empty()) idempotency_.Insert(r.idempotency_key, r.first_offset);
      }
      next_offset_ = offset;
      hooks_.publish(next_offset_ - 1);
      if (hooks_.committed) hooks_.committed(group);
    }
  }
  for (size_t i = 0; i < group.size(); ++i) {
    WriteRequest& r = group[i];
    if (answered[i]) {
      r.cb(Status::OK(), *answered[i]);
    } else if (same_as[i]) {
      const WriteRequest& first = group[*same_as[i]];
      const Status& st = first.first_offset != 0 ? failure : refused[*same_as[i]];
      r.cb(st, st.ok() ? first.first_offset : 0);
    } else if (r.first_offset != 0) {
      r.cb(failure, failure.ok() ? r.first_offset : 0);
    } else {
      r.cb(refused[i], 0);
    }
  }
  if (!failure.ok()) return;

  hooks_.appended(wal_->seq(), wal_->size());
  if (wal_->size() >= options_.wal_segment_bytes) {
    uint64_t seq = 0;
    (void)RotateFromWriter(&seq);  // a failure turns the store read-only inside
  }
}

Status GroupCommitter::WriteIdempotencyCarry() {
  if (idempotency_.size() == 0) return Status::OK();
  std::string record;
  wal::EncodeIdempotencyCarry(next_offset_ - 1, idempotency_.Entries(), &record);
  KYRODB_RETURN_IF_ERROR(wal_->Append(record));
  return wal_->Sync(false);
}

void GroupCommitter::FailGroup(std::vector<WriteRequest>& group, const Status& status) {
  for (WriteRequest& r : group) r.cb(status, 0);
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
      hooks_.rotated(old_seq, old_bytes, wal_->seq());
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
