#include "engine/wal_writer.h"

#include "engine/wal_format.h"
#include "log/log.h"

namespace kyrodb::wal {

Status WalWriter::Create(FileSystem* fs, const std::string& dir, uint64_t seq, std::unique_ptr<WalWriter>* out) {
  const std::string path = dir + "/" + SegmentName(seq);
  std::unique_ptr<WritableFile> file;
  KYRODB_RETURN_IF_ERROR(fs->NewWritableFile(path, &file));
  std::string header;
  EncodeSegmentHeader(seq, &header);
  KYRODB_RETURN_IF_ERROR(file->Append(header));
  KYRODB_RETURN_IF_ERROR(file->Sync());
  KYRODB_RETURN_IF_ERROR(fs->SyncDir(dir));
  out->reset(new WalWriter(seq, path, std::move(file)));
  return Status::OK();
}

Status WalWriter::Append(std::string_view records) {
  KYRODB_RETURN_IF_ERROR(file_->Append({records.data(), records.size()}));
  ahead_ = ahead_ > records.size() ? ahead_ - records.size() : 0;
  return Status::OK();
}

Status WalWriter::Sync(bool full) {
  KYRODB_RETURN_IF_ERROR(full ? file_->FullSync() : file_->Sync());
  // After the sync, so the group it made durable is not kept waiting; the
  // next groups write into these zeros.
  RefillZerosAhead();
  return Status::OK();
}

void WalWriter::RefillZerosAhead() {
  if (!zero_ahead_ || ahead_ >= kZeroAheadRefill) return;
  Status s = file_->ZeroAhead(kZeroAheadBytes, &ahead_);
  if (!s.ok()) {
    // E.g. a full disk: appends will report it if it matters to them.
    zero_ahead_ = false;
    log::Warn("wal_zero_ahead_failed", {{"file", path_}, {"error", s.ToString()}});
  }
}

Status WalWriter::Close() {
  // The zeros ahead are cut first, so every closed segment ends with its
  // last record; the size change needs fsync, not fdatasync.
  Status s = file_->TrimZerosAhead();
  if (s.ok()) s = file_->FullSync();
  Status c = file_->Close();
  return s.ok() ? c : s;
}

}  // namespace kyrodb::wal
