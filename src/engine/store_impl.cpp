#include "engine/store_impl.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "engine/index_file.h"
#include "engine/wal_format.h"
#include "engine/wal_reader.h"
#include "log/log.h"

namespace kyrodb {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Returns the heap's free pages to the kernel (glibc's malloc_trim: the top of
// each arena and whole free pages inside them). Elsewhere a no-op.
void ReleaseFreeHeapMemory() {
#ifdef __GLIBC__
  (void)malloc_trim(0);
#endif
}

}  // namespace

StoreImpl::StoreImpl(const Options& options)
    : options_(options), fs_(options.fs != nullptr ? options.fs : PosixFileSystem()), dir_(options.data_dir) {
  prometheus::Registry* registry = options.registry;
  if (registry == nullptr) {
    own_registry_ = std::make_shared<prometheus::Registry>();
    registry = own_registry_.get();
  }
  metrics_ = std::make_unique<metrics::EngineMetrics>(*registry);

  GroupCommitter::Hooks hooks;
  hooks.exists = [this](uint64_t key) { return ExistsForWriter(key); };
  hooks.apply = [this](const std::vector<WriteRequest>& group) { ApplyFromWriter(group); };
  hooks.publish = [this](uint64_t offset) {
    visible_offset_.store(offset, std::memory_order_release);
    metrics_->store.last_offset.Set(static_cast<double>(offset));
    const size_t entries = writer_active_->entries();
    metrics_->store.delta_entries.Set(static_cast<double>(entries));
    metrics_->store.delta_bytes.Set(
        static_cast<double>(frozen_delta_bytes_.load(std::memory_order_relaxed) + writer_active_->memory_usage()));
    MaybeWakeBackground(entries);
  };
  hooks.committed = [this](const std::vector<WriteRequest>& group) { feed_.Publish(group); };
  hooks.rotated = [this](uint64_t old_seq, uint64_t old_bytes, uint64_t new_seq, uint64_t new_first_offset) {
    std::lock_guard<std::mutex> lock(wal_mu_);
    wal_segments_[old_seq] = old_bytes;
    wal_segments_[new_seq] = wal::kSegmentHeaderSize;
    wal_first_offset_[new_seq] = new_first_offset;
    UpdateWalGaugesLocked();
  };
  hooks.read_only = [this](const std::string&) { metrics_->store.read_only.Set(1); };
  hooks.appended = [this](uint64_t seq, uint64_t bytes) {
    std::lock_guard<std::mutex> lock(wal_mu_);
    wal_segments_[seq] = bytes;
    UpdateWalGaugesLocked();
  };
  committer_ = std::make_unique<GroupCommitter>(options_, fs_, dir_, metrics_->wal, std::move(hooks));
}

StoreImpl::~StoreImpl() { Close(); }

void StoreImpl::Publish(std::shared_ptr<const Generation> g) {
  const BaseTable& base = *g->base;
  // Frozen deltas take no more writes: their size is fixed until the fold
  // publishes a generation without them.
  size_t frozen = 0;
  for (const auto& f : g->frozen) frozen += f->memory_usage();
  frozen_delta_bytes_.store(frozen, std::memory_order_relaxed);
  metrics_->store.delta_bytes.Set(static_cast<double>(frozen + g->active->memory_usage()));
  gen_.Publish(std::move(g));
  metrics_->index.generation.Set(static_cast<double>(base.generation()));
}

void StoreImpl::RecordIndexMetrics(const BaseTable& base) {
  const index::Rmi& rmi = *base.index();
  auto& m = metrics_->index;
  m.leaves.Set(static_cast<double>(rmi.stats().leaves));
  m.max_error.Set(static_cast<double>(rmi.stats().max_error));
  m.keys.Set(static_cast<double>(rmi.stats().count));
  for (uint32_t w : rmi.WindowSizes()) m.window_keys.Observe(w);
}

// ---------------------------------------------------------------- writes

namespace {
// Checks an idempotency key; on failure answers `cb` and returns false.
bool ValidIdempotencyKey(const WriteOptions& options, const WriteCallback& cb) {
  if (options.idempotency_key.size() <= wal::kMaxIdempotencyKeyBytes) return true;
  cb(Status::InvalidArgument("idempotency key is " + std::to_string(options.idempotency_key.size()) +
                             " bytes; the limit is " + std::to_string(wal::kMaxIdempotencyKeyBytes)),
     0);
  return false;
}
}  // namespace

void StoreImpl::Put(uint64_t key, std::string value, const WriteOptions& options, WriteCallback cb) {
  if (!ValidIdempotencyKey(options, cb)) return;
  if (value.size() > options_.max_value_bytes) {
    cb(Status::InvalidArgument("value is " + std::to_string(value.size()) + " bytes; the limit is " +
                               std::to_string(options_.max_value_bytes)),
       0);
    return;
  }
  WriteRequest r;
  r.ops.push_back({WriteOp::Type::kPut, key, std::move(value)});
  r.idempotency_key = options.idempotency_key;
  r.cb = std::move(cb);
  committer_->Submit(std::move(r));
}

void StoreImpl::Delete(uint64_t key, const WriteOptions& options, WriteCallback cb) {
  if (!ValidIdempotencyKey(options, cb)) return;
  WriteRequest r;
  r.idempotency_key = options.idempotency_key;
  r.ops.push_back({WriteOp::Type::kDelete, key, {}});
  r.delete_must_exist = true;
  r.cb = std::move(cb);
  committer_->Submit(std::move(r));
}

void StoreImpl::Write(std::vector<WriteOp> ops, const WriteOptions& options, WriteCallback cb) {
  if (!ValidIdempotencyKey(options, cb)) return;
  if (ops.empty()) {
    cb(Status::InvalidArgument("a batch needs at least one operation"), 0);
    return;
  }
  if (ops.size() > wal::kMaxBatchItems) {
    cb(Status::InvalidArgument("a batch holds at most " + std::to_string(wal::kMaxBatchItems) + " operations"), 0);
    return;
  }
  size_t bytes = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const WriteOp& op = ops[i];
    if (op.type == WriteOp::Type::kPut && op.value.size() > options_.max_value_bytes) {
      cb(Status::InvalidArgument("item " + std::to_string(i) + ": value is " + std::to_string(op.value.size()) +
                                 " bytes; the limit is " + std::to_string(options_.max_value_bytes)),
         0);
      return;
    }
    if (op.type == WriteOp::Type::kDelete && !op.value.empty()) {
      cb(Status::InvalidArgument("item " + std::to_string(i) + ": a delete carries no value"), 0);
      return;
    }
    bytes += op.value.size() + 13;
  }
  if (bytes > wal::kMaxPayloadSize - 64) {
    cb(Status::InvalidArgument("batch is too large for one log record"), 0);
    return;
  }
  WriteRequest r;
  r.ops = std::move(ops);
  r.idempotency_key = options.idempotency_key;
  r.cb = std::move(cb);
  committer_->Submit(std::move(r));
}

const MemTable::Version* StoreImpl::DeltaGet(const Generation& g, uint64_t key, uint64_t max_offset) {
  if (const MemTable::Version* v = g.active->Get(key, max_offset)) return v;
  for (const auto& f : g.frozen) {
    if (const MemTable::Version* v = f->Get(key, max_offset)) return v;
  }
  return nullptr;
}

bool StoreImpl::ExistsForWriter(uint64_t key) const {
  std::shared_ptr<const void> pin;
  const Generation& g = *gen_.Pin(&pin);
  if (const MemTable::Version* v = DeltaGet(g, key, ~uint64_t{0})) return !v->deleted;
  return g.base->Find(key) != BaseTable::kNotFound;
}

void StoreImpl::ApplyFromWriter(const std::vector<WriteRequest>& group) {
  apply_buffer_.clear();
  for (const WriteRequest& r : group) {
    if (r.first_offset == 0) continue;  // refused or answered without writing
    for (size_t i = 0; i < r.ops.size(); ++i) {
      const WriteOp& op = r.ops[i];
      apply_buffer_.push_back({op.key, r.first_offset + i, op.type == WriteOp::Type::kDelete, op.value});
    }
  }
  writer_active_->ApplyBatch(apply_buffer_);
}

// ---------------------------------------------------------------- reads

Status StoreImpl::Get(uint64_t key, ValueRef* out) const {
  const uint64_t visible = visible_offset_.load(std::memory_order_acquire);
  std::shared_ptr<const void> pin;
  const Generation& g = *gen_.Pin(&pin);
  if (const MemTable::Version* v = DeltaGet(g, key, visible)) {
    metrics_->index.delta_hits.Increment();
    if (v->deleted) return Status::NotFound("key " + std::to_string(key) + " not found");
    out->data = v->value();
    out->offset = v->offset;
    out->pin = std::move(pin);
    return Status::OK();
  }
  metrics_->index.lookups.Increment();
  const BaseTable& base = *g.base;
  const size_t pos = base.FindEntry(key);
  if (pos == BaseTable::kNotFound) return Status::NotFound("key " + std::to_string(key) + " not found");
  out->data = base.snapshot().value_at(pos);
  out->offset = base.snapshot().offset_at(pos);
  out->pin = std::move(pin);
  return Status::OK();
}

Status StoreImpl::Scan(uint64_t start, std::optional<uint64_t> end, size_t limit, std::vector<ScanEntry>* out,
                       bool* more) const {
  out->clear();
  *more = false;
  if (end && start >= *end) return Status::OK();
  const uint64_t visible = visible_offset_.load(std::memory_order_acquire);
  std::shared_ptr<const void> pin;
  const Generation& g = *gen_.Pin(&pin);
  // Sorted sources, newest first: the active delta, the frozen deltas, then
  // the base. Every read is bounded by `visible`, so a batch is seen whole or
  // not at all.
  std::vector<MemTable::Iterator> deltas;
  deltas.emplace_back(g.active.get());
  for (const auto& f : g.frozen) deltas.emplace_back(f.get());
  for (auto& it : deltas) it.Seek(start);
  const Snapshot& snap = g.base->snapshot();
  size_t pos = g.base->LowerBound(start);

  for (;;) {
    std::optional<uint64_t> next;  // the smallest key any source still holds
    for (const auto& it : deltas) {
      if (it.Valid()) next = next ? std::min(*next, it.key()) : it.key();
    }
    if (pos < snap.count()) next = next ? std::min(*next, snap.key_at(pos)) : snap.key_at(pos);
    if (!next || (end && *next >= *end)) break;
    const uint64_t key = *next;

    const MemTable::Version* v = nullptr;
    for (const auto& it : deltas) {
      if (v == nullptr && it.Valid() && it.key() == key) v = it.VersionAt(visible);
    }
    const bool in_base = pos < snap.count() && snap.key_at(pos) == key;
    std::optional<ValueRef> value;
    if (v != nullptr) {
      if (!v->deleted) value = ValueRef{v->value(), v->offset, pin};
    } else if (in_base) {
      value = ValueRef{snap.value_at(pos), snap.offset_at(pos), pin};
    }
    if (value) {
      if (out->size() == limit) {
        *more = true;
        break;
      }
      out->push_back({key, std::move(*value)});
    }
    for (auto& it : deltas) {
      if (it.Valid() && it.key() == key) it.Next();
    }
    if (in_base) ++pos;
  }
  return Status::OK();
}

// ---------------------------------------------------------------- checkpoint

Status StoreImpl::WriteSnapshot(const Generation& g, uint64_t last_offset, CheckpointInfo* info,
                                std::shared_ptr<const Snapshot>* out) {
  const auto start = Clock::now();
  SnapshotWriter writer(fs_, dir_);
  KYRODB_RETURN_IF_ERROR(writer.Begin());
  const Snapshot& base = g.base->snapshot();
  std::vector<MemTable::Iterator> deltas;  // newest first
  for (const auto& f : g.frozen) {
    deltas.emplace_back(f.get());
    deltas.back().SeekToFirst();
  }
  size_t pos = 0;
  // Merge the base with the frozen deltas; the newest delta version wins and
  // a tombstone drops the key.
  for (;;) {
    std::optional<uint64_t> next;
    for (const auto& it : deltas) {
      if (it.Valid()) next = next ? std::min(*next, it.key()) : it.key();
    }
    if (pos < base.count()) next = next ? std::min(*next, base.key_at(pos)) : base.key_at(pos);
    if (!next) break;
    const uint64_t key = *next;
    const MemTable::Version* v = nullptr;
    for (auto& it : deltas) {
      if (it.Valid() && it.key() == key) {
        if (v == nullptr) v = it.VersionAt(last_offset);
        it.Next();
      }
    }
    const bool in_base = pos < base.count() && base.key_at(pos) == key;
    if (v != nullptr) {
      if (!v->deleted) KYRODB_RETURN_IF_ERROR(writer.Add(key, v->offset, v->value()));
    } else if (in_base) {
      KYRODB_RETURN_IF_ERROR(writer.Add(key, base.offset_at(pos), base.value_at(pos)));
    }
    if (in_base) ++pos;
  }
  uint64_t bytes = 0;
  KYRODB_RETURN_IF_ERROR(writer.Finish(last_offset, &bytes));
  KYRODB_RETURN_IF_ERROR(Snapshot::Open(fs_, SnapshotWriter::FinalPath(dir_), out));
  info->snapshot_ms = MillisSince(start);
  info->snapshot_bytes = bytes;
  return Status::OK();
}

Status StoreImpl::Checkpoint(CheckpointInfo* info) {
  *info = CheckpointInfo{};
  std::lock_guard<std::mutex> checkpoint_lock(checkpoint_mu_);
  if (closed_.load()) return Status::Unavailable("store is closing");
  if (committer_->read_only()) return Status::Unavailable("store is read-only: " + committer_->read_only_reason());

  // 1. On the writer thread, between groups: start a new WAL segment and a new
  //    active delta. Everything before the new segment is <= last_offset and
  //    lives in the frozen delta or the base.
  struct Frozen {
    Status status;
    uint64_t last_offset = 0;
    uint64_t first_live_seq = 0;
    std::shared_ptr<const Generation> gen;
  } frozen;
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  WriteRequest barrier;
  barrier.barrier = [&] {
    if (!closed_.load()) {
      frozen.status = committer_->RotateFromWriter(&frozen.first_live_seq);
      if (frozen.status.ok()) {
        std::lock_guard<std::mutex> lock(publish_mu_);
        auto cur = Current();
        auto next = std::make_shared<Generation>();
        next->base = cur->base;
        next->frozen.push_back(cur->active);
        next->frozen.insert(next->frozen.end(), cur->frozen.begin(), cur->frozen.end());
        next->active = std::make_shared<MemTable>();
        writer_active_ = next->active.get();
        frozen.last_offset = committer_->last_offset_from_writer();
        frozen.gen = next;
        Publish(std::move(next));
      }
    } else {
      frozen.status = Status::Unavailable("store is closing");
    }
    std::lock_guard<std::mutex> lock(done_mu);
    done = true;
    done_cv.notify_all();
  };
  committer_->Submit(std::move(barrier));
  {
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [&] { return done; });
  }
  if (!frozen.status.ok()) {
    metrics_->store.checkpoint_failures.Increment();
    return frozen.status;
  }

  // 2. Fold base + frozen delta into a new snapshot and index it.
  std::shared_ptr<const Snapshot> snapshot;
  Status s = WriteSnapshot(*frozen.gen, frozen.last_offset, info, &snapshot);
  if (!s.ok()) {
    // The frozen delta stays in the generation: nothing is lost, reads go on.
    metrics_->snapshot.failures.Increment();
    metrics_->store.checkpoint_failures.Increment();
    log::Error("checkpoint_failed", {{"stage", "snapshot"}, {"error", s.ToString()}});
    return s;
  }
  index::RmiOptions index_options;
  index_options.router_bits = options_.rmi_router_bits;
  IndexLoadResult idx = LoadOrBuildIndex(fs_, dir_, *snapshot, index_options, /*try_load=*/false);
  if (!idx.status.ok()) {
    metrics_->store.checkpoint_failures.Increment();
    return idx.status;
  }

  // 3. Publish: the new base replaces base + frozen delta.
  const uint64_t generation = next_generation_.fetch_add(1);
  auto base = std::make_shared<BaseTable>(snapshot, idx.index, generation);
  RecordIndexMetrics(*base);
  {
    std::lock_guard<std::mutex> lock(publish_mu_);
    auto cur = Current();
    auto next = std::make_shared<Generation>();
    next->base = base;
    next->active = cur->active;
    metrics_->store.delta_entries.Set(static_cast<double>(cur->active->entries()));
    Publish(std::move(next));
  }

  // 4. Only now may the log the snapshot covers go.
  RemoveCoveredSegments(frozen.first_live_seq, info);

  // 5. Give freed heap memory back. The frozen delta's arena is unmapped by
  //    itself when the last reader pinning the old generation lets go
  //    (MemTable::Allocate); what a checkpoint and a million writes leave on
  //    the heap (request bodies, the snapshot writer's arrays) glibc keeps
  //    mapped unless asked: measured after 3M puts, 155 MiB anonymous memory
  //    without this trim, the live delta being about 100 MiB.
  frozen.gen.reset();
  const auto trim_start = Clock::now();
  ReleaseFreeHeapMemory();
  const double trim_ms = MillisSince(trim_start);

  const index::RmiStats& st = idx.index->stats();
  info->offset = frozen.last_offset;
  info->count = snapshot->count();
  info->leaves = st.leaves;
  info->max_error = st.max_error;
  info->build_ms = idx.build_ms;

  auto& m = *metrics_;
  m.snapshot.writes.Increment();
  m.snapshot.duration_seconds.Observe(info->snapshot_ms / 1000.0);
  m.snapshot.bytes.Set(static_cast<double>(info->snapshot_bytes));
  m.snapshot.offset.Set(static_cast<double>(info->offset));
  m.snapshot.timestamp_seconds.SetToCurrentTime();
  m.index.build_seconds.Observe(info->build_ms / 1000.0);
  m.store.checkpoints.Increment();
  log::Info("checkpoint_done", {{"offset", info->offset},
                                {"keys", info->count},
                                {"snapshot_bytes", info->snapshot_bytes},
                                {"snapshot_ms", info->snapshot_ms},
                                {"build_ms", info->build_ms},
                                {"leaves", info->leaves},
                                {"max_error", info->max_error},
                                {"wal_segments_removed", info->wal_segments_removed},
                                {"trim_ms", trim_ms}});
  return Status::OK();
}

void StoreImpl::RemoveCoveredSegments(uint64_t first_live_seq, CheckpointInfo* info) {
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(wal_mu_);
    for (const auto& [seq, bytes] : wal_segments_) {
      if (seq < first_live_seq) doomed.push_back(seq);
    }
  }
  std::unique_lock<std::shared_mutex> files_lock(log_files_mu_);
  for (uint64_t seq : doomed) {
    const std::string path = dir_ + "/" + wal::SegmentName(seq);
    Status s = fs_->RemoveFile(path);
    if (!s.ok()) {
      // Harmless: recovery skips records the snapshot already holds.
      log::Warn("wal_segment_remove_failed", {{"file", path}, {"error", s.ToString()}});
      continue;
    }
    std::lock_guard<std::mutex> lock(wal_mu_);
    wal_segments_.erase(seq);
    wal_first_offset_.erase(seq);
    UpdateWalGaugesLocked();
    ++info->wal_segments_removed;
  }
}

// ---------------------------------------------------------------- change stream

Status StoreImpl::ReadLog(uint64_t start, uint64_t end, size_t limit, std::vector<LogEntry>* out,
                          uint64_t* first_available) const {
  out->clear();
  // Only acknowledged writes: the file may already hold a group still syncing.
  const uint64_t visible = LastOffset();
  *first_available = visible + 1;
  // Listed under the files lock, so no listed segment is removed meanwhile.
  std::shared_lock<std::shared_mutex> files_lock(log_files_mu_);
  std::vector<std::pair<uint64_t, uint64_t>> segments;  // seq, first write offset
  {
    std::lock_guard<std::mutex> lock(wal_mu_);
    segments.assign(wal_first_offset_.begin(), wal_first_offset_.end());
  }
  // Offsets run contiguously across segments in sequence order: the oldest
  // first write is the oldest the log holds, and `start` lies in the last
  // segment whose first write is at or before it. Segments before that one
  // are never opened, and reading stops at the limit, at `end` or at the
  // visible offset, so a page of history costs what it returns, not whole
  // 64 MiB segments.
  size_t from = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t first = segments[i].second;
    if (first == kNoWrites) continue;
    if (first <= visible && *first_available == visible + 1) *first_available = first;
    if (first <= start) from = i;
  }
  for (size_t i = from; i < segments.size(); ++i) {
    const std::string path = dir_ + "/" + wal::SegmentName(segments[i].first);
    // The offset the next write in this segment must have: a record that
    // does not decode before every acknowledged write was read is damage.
    uint64_t expect = segments[i].second;
    bool done = false;
    auto visit = [&](const wal::Entry& e) {
      if (e.kind != wal::Entry::Kind::kWrite) return true;
      if (e.offset > visible || e.offset >= end || (e.offset >= start && out->size() >= limit)) {
        done = true;
        return false;
      }
      expect = e.offset + 1;
      if (e.offset >= start) out->push_back({e.offset, e.type, e.key, std::string(e.value)});
      return true;
    };
    uint64_t bad_at = 0;
    KYRODB_RETURN_IF_ERROR(wal::ScanSegment(fs_, path, visit, &bad_at));
    if (done) break;
    if (bad_at != 0) {
      const bool newest = i + 1 == segments.size();
      // Past the last acknowledged write, the newest segment may end in a
      // group still being written; anywhere else a bad record is damage.
      if (!newest || (expect != kNoWrites && expect <= visible)) {
        return Status::Corruption(path + ": bad record at byte " + std::to_string(bad_at));
      }
      break;
    }
  }
  return Status::OK();
}

std::shared_ptr<Subscription> StoreImpl::Subscribe(size_t max_buffered_bytes, std::function<void()> notify) {
  return feed_.Subscribe(LastOffset() + 1, max_buffered_bytes, std::move(notify));
}

// ---------------------------------------------------------------- background

void StoreImpl::MaybeWakeBackground(size_t delta_entries) {
  const bool delta_full = options_.rebuild_delta_entries != 0 && delta_entries >= options_.rebuild_delta_entries;
  const bool wal_full = options_.compact_wal_bytes != 0 && LiveWalBytes() >= options_.compact_wal_bytes;
  if (!delta_full && !wal_full) return;
  if (bg_pending_.exchange(true)) return;
  std::lock_guard<std::mutex> lock(bg_mu_);
  bg_wanted_ = true;
  bg_cv_.notify_one();
}

void StoreImpl::VerifyLoadedIndex(std::shared_ptr<BaseTable> base) {
  const auto start = Clock::now();
  double mean_error = 0;
  Status s = VerifyIndexKeys(*base->index(), [this] { return closed_.load(); }, &mean_error);
  if (s.ok()) {
    base->MarkIndexVerified(mean_error);
    log::Info("index_verified", {{"keys", base->count()}, {"ms", MillisSince(start)}});
    return;
  }
  if (closed_.load()) return;
  log::Warn("index_file_rejected", {{"file", IndexPath(dir_)}, {"reason", s.ToString()}});
  // Rebuild under the checkpoint lock: a checkpoint writes index-rmi.bin
  // (through the same temp file) and may replace this base meanwhile, in
  // which case the new base brought its own index and there is nothing to do.
  std::lock_guard<std::mutex> checkpoint_lock(checkpoint_mu_);
  if (Current()->base != base) return;
  index::RmiOptions index_options;
  index_options.router_bits = options_.rmi_router_bits;
  IndexLoadResult idx = LoadOrBuildIndex(fs_, dir_, base->snapshot(), index_options, /*try_load=*/false);
  if (!idx.status.ok()) {
    // Reads go on searching the keys without an index: slower, still exact.
    log::Error("index_rebuild_failed", {{"error", idx.status.ToString()}});
    return;
  }
  auto rebuilt = std::make_shared<BaseTable>(base->snapshot_ptr(), idx.index, next_generation_.fetch_add(1));
  RecordIndexMetrics(*rebuilt);
  metrics_->index.build_seconds.Observe(idx.build_ms / 1000.0);
  std::lock_guard<std::mutex> lock(publish_mu_);
  auto cur = Current();
  auto next = std::make_shared<Generation>(*cur);
  next->base = std::move(rebuilt);
  Publish(std::move(next));
}

void StoreImpl::BackgroundLoop() {
  if (unverified_base_ != nullptr) VerifyLoadedIndex(std::move(unverified_base_));
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(bg_mu_);
      bg_cv_.wait(lock, [&] { return bg_stop_ || bg_wanted_; });
      if (bg_stop_) return;
      bg_wanted_ = false;
    }
    CheckpointInfo info;
    Status s = Checkpoint(&info);
    if (!s.ok()) log::Warn("background_checkpoint_failed", {{"error", s.ToString()}});
    bg_pending_.store(false);
    if (!s.ok()) {
      // Back off so a failing disk is not hammered; the next write re-arms us.
      std::unique_lock<std::mutex> lock(bg_mu_);
      bg_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return bg_stop_; });
    }
  }
}

void StoreImpl::UpdateWalGaugesLocked() {
  uint64_t total = 0;
  for (const auto& [seq, bytes] : wal_segments_) total += bytes;
  metrics_->wal.segments.Set(static_cast<double>(wal_segments_.size()));
  metrics_->wal.live_bytes.Set(static_cast<double>(total));
}

uint64_t StoreImpl::LiveWalBytes() const {
  std::lock_guard<std::mutex> lock(wal_mu_);
  uint64_t total = 0;
  for (const auto& [seq, bytes] : wal_segments_) total += bytes;
  return total;
}

// ---------------------------------------------------------------- misc

void StoreImpl::Warmup() const {
  auto g = Current();
  g->base->Warm();
}

bool StoreImpl::Writable() const { return !closed_.load() && !committer_->read_only(); }

StoreStats StoreImpl::Stats() const {
  StoreStats s;
  auto g = Current();
  s.last_offset = LastOffset();
  s.base_keys = g->base->count();
  s.delta_entries = g->active->entries();
  for (const auto& f : g->frozen) s.delta_entries += f->entries();
  s.index_generation = g->base->generation();
  const index::RmiStats& st = g->base->index()->stats();
  s.index_leaves = st.leaves;
  s.index_max_error = st.max_error;
  s.index_mean_error = g->base->index_mean_error();
  s.index_verified = g->base->index_verified();
  {
    std::lock_guard<std::mutex> lock(wal_mu_);
    s.wal_segments = wal_segments_.size();
    for (const auto& [seq, bytes] : wal_segments_) s.wal_bytes += bytes;
  }
  const Snapshot& snap = g->base->snapshot();
  s.snapshot_offset = snap.last_offset();
  s.snapshot_bytes = snap.file_bytes();
  if (snap.created_unix_ms() > 0) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    s.snapshot_age_seconds = std::max<int64_t>(0, (now_ms - snap.created_unix_ms()) / 1000);
  }
  s.read_only = committer_->read_only();
  s.read_only_reason = committer_->read_only_reason();
  return s;
}

void StoreImpl::Close() {
  if (closed_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = true;
    bg_cv_.notify_all();
  }
  if (bg_thread_.joinable()) bg_thread_.join();
  committer_->Stop();
  dir_lock_.reset();
  log::Info("store_closed", {{"last_offset", LastOffset()}});
}

}  // namespace kyrodb
