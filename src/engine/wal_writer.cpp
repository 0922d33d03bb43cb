#include "engine/wal_writer.h"

#include "engine/wal_format.h"

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

Status WalWriter::Append(std::string_view records) { return file_->Append({records.data(), records.size()}); }

Status WalWriter::Sync(bool full) { return full ? file_->FullSync() : file_->Sync(); }

Status WalWriter::Close() {
  Status s = file_->Sync();
  Status c = file_->Close();
  return s.ok() ? c : s;
}

}  // namespace kyrodb::wal
