// Store::Open and recovery: snapshot + index + WAL replay (SPEC §4).
#include <algorithm>
#include <chrono>

#include "engine/index_file.h"
#include "engine/store_impl.h"
#include "engine/wal_format.h"
#include "engine/wal_log.h"
#include "log/log.h"
#include "util/thread_name.h"

namespace kyrodb {

Status Store::Open(const Options& options, std::unique_ptr<Store>* out) {
  if (options.max_value_bytes > wal::kMaxPayloadSize / 2) {
    return Status::InvalidArgument("max_value_bytes is larger than a WAL record can hold");
  }
  if (options.wal_segment_bytes < 4096) return Status::InvalidArgument("wal_segment_bytes must be at least 4096");
  auto store = std::make_unique<StoreImpl>(options);
  KYRODB_RETURN_IF_ERROR(store->Recover());
  *out = std::move(store);
  return Status::OK();
}

Status StoreImpl::Recover() {
  const auto start = std::chrono::steady_clock::now();
  KYRODB_RETURN_IF_ERROR(fs_->CreateDirIfMissing(dir_));
  // Two servers on one directory would interleave WAL segments and delete
  // each other's files: the second one must not start.
  KYRODB_RETURN_IF_ERROR(fs_->LockFile(dir_ + "/LOCK", &dir_lock_));

  // Temp files are leftovers of an interrupted install: never trusted.
  std::vector<std::string> names;
  KYRODB_RETURN_IF_ERROR(fs_->ListDir(dir_, &names));
  for (const std::string& name : names) {
    if (name.ends_with(".tmp")) {
      KYRODB_RETURN_IF_ERROR(fs_->RemoveFile(dir_ + "/" + name));
      log::Info("removed_temp_file", {{"file", dir_ + "/" + name}});
    }
  }

  std::shared_ptr<const Snapshot> snapshot = Snapshot::Empty();
  bool has_snapshot = false;
  KYRODB_RETURN_IF_ERROR(fs_->FileExists(SnapshotWriter::FinalPath(dir_), &has_snapshot));
  if (has_snapshot) KYRODB_RETURN_IF_ERROR(Snapshot::Open(fs_, SnapshotWriter::FinalPath(dir_), &snapshot));

  index::RmiOptions index_options;
  index_options.router_bits = options_.rmi_router_bits;
  // The index file's O(n) key check runs after start (VerifyLoadedIndex):
  // until it passes, lookups binary-search the keys and never consult it.
  IndexLoadResult idx =
      LoadOrBuildIndex(fs_, dir_, *snapshot, index_options, /*try_load=*/true, /*defer_key_check=*/true);
  KYRODB_RETURN_IF_ERROR(idx.status);

  std::shared_ptr<MemTable> delta = std::make_shared<MemTable>();
  uint64_t last_offset = 0;
  uint64_t max_seq = 0;
  KYRODB_RETURN_IF_ERROR(ReplayWal(*snapshot, delta.get(), &last_offset, &max_seq));

  std::unique_ptr<wal::WalWriter> wal;
  KYRODB_RETURN_IF_ERROR(wal::WalWriter::Create(fs_, dir_, max_seq + 1, &wal));
  {
    std::lock_guard<std::mutex> lock(wal_mu_);
    wal_segments_[wal->seq()] = wal->size();
    wal_first_offset_[wal->seq()] = last_offset + 1;
    UpdateWalGaugesLocked();
  }

  const uint64_t generation = next_generation_.fetch_add(1);
  auto gen = std::make_shared<Generation>();
  auto base = std::make_shared<BaseTable>(snapshot, idx.index, generation, idx.verified);
  if (!idx.verified) unverified_base_ = base;
  gen->base = std::move(base);
  RecordIndexMetrics(*gen->base);
  gen->active = delta;
  writer_active_ = delta.get();
  Publish(std::move(gen));
  visible_offset_.store(last_offset, std::memory_order_release);

  auto& m = *metrics_;
  m.snapshot.bytes.Set(static_cast<double>(snapshot->file_bytes()));
  m.snapshot.offset.Set(static_cast<double>(snapshot->last_offset()));
  if (snapshot->created_unix_ms() > 0) {
    m.snapshot.timestamp_seconds.Set(static_cast<double>(snapshot->created_unix_ms()) / 1000.0);
  }
  m.store.delta_entries.Set(static_cast<double>(delta->entries()));
  m.store.last_offset.Set(static_cast<double>(last_offset));
  if (!idx.loaded_from_file) m.index.build_seconds.Observe(idx.build_ms / 1000.0);

  committer_->Start(std::move(wal), last_offset + 1);
  bg_thread_ = std::thread([this] {
    SetThreadName("kyro-background");
    BackgroundLoop();
  });
  if (options_.warm_on_start) Warmup();
  MaybeWakeBackground(delta->entries());

  log::Info("store_recovered",
            {{"data_dir", dir_},
             {"snapshot_keys", snapshot->count()},
             {"snapshot_offset", snapshot->last_offset()},
             {"wal_entries_replayed", delta->entries()},
             {"last_offset", last_offset},
             {"index_loaded_from_file", idx.loaded_from_file},
             {"index_check_deferred", !idx.verified},
             {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count()}});
  return Status::OK();
}

Status StoreImpl::ReplayWal(const Snapshot& snapshot, MemTable* delta, uint64_t* last_offset, uint64_t* max_seq) {
  auto apply = [delta](const wal::Entry& e) {
    delta->Apply(e.key, e.offset, e.type == WriteOp::Type::kDelete, e.value);
  };
  auto segment_done = [this](const wal::SegmentVisit& v) -> Status {
    const wal::SegmentReport& r = v.report;
    if (r.header_torn || r.tail_torn) {
      // Only the last segment gets here torn: a crash cut its final write.
      const uint64_t dropped = r.file_bytes - r.valid_bytes;
      if (r.header_torn) {
        KYRODB_RETURN_IF_ERROR(fs_->RemoveFile(v.path));
        KYRODB_RETURN_IF_ERROR(fs_->SyncDir(dir_));
      } else {
        KYRODB_RETURN_IF_ERROR(fs_->Truncate(v.path, r.valid_bytes));
      }
      metrics_->wal.truncated_bytes.Increment(static_cast<double>(dropped));
      log::Warn("wal_tail_truncated",
                {{"file", v.path}, {"at_byte", r.valid_bytes}, {"dropped_bytes", dropped}, {"segment_removed", r.header_torn}});
      if (r.header_torn) return Status::OK();
    }
    if (r.zero_tail) {
      // The zeros the writer keeps ahead of its last record (WalWriter): no
      // write is lost. Cut so that every closed segment ends at its last record.
      KYRODB_RETURN_IF_ERROR(fs_->Truncate(v.path, r.valid_bytes));
      log::Info("wal_zeros_trimmed", {{"file", v.path}, {"at_byte", r.valid_bytes}, {"zero_bytes", r.file_bytes - r.valid_bytes}});
    }
    std::lock_guard<std::mutex> lock(wal_mu_);
    wal_segments_[r.seq] = r.valid_bytes;
    wal_first_offset_[r.seq] = r.first_offset != 0 ? r.first_offset : kNoWrites;
    return Status::OK();
  };
  wal::LogWalk walk;
  IdempotencyWindow& window = committer_->idempotency();
  auto idempotency = [&window](std::string_view key, uint64_t offset) { window.Insert(key, offset); };
  KYRODB_RETURN_IF_ERROR(wal::WalkLog(fs_, dir_, snapshot.last_offset(), apply, idempotency, segment_done, &walk));
  *last_offset = walk.last_offset;
  *max_seq = walk.max_seq;
  return Status::OK();
}

}  // namespace kyrodb
