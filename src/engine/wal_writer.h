// WalWriter: appends framed records to the current WAL segment.
//
// Not thread-safe: only the group-commit thread owns it. A new segment is made
// durable (header synced, directory synced) before any record goes in, so an
// acknowledged record can never sit in a file whose name a crash forgets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kyrodb/fs.h"
#include "kyrodb/options.h"

namespace kyrodb::wal {

class WalWriter {
 public:
  static Status Create(FileSystem* fs, const std::string& dir, uint64_t seq, std::unique_ptr<WalWriter>* out);

  // Appends already-framed records (see wal_format.h).
  Status Append(std::string_view records);
  // Makes everything appended durable: fdatasync, or fsync when `full`.
  Status Sync(bool full);
  // Syncs and closes the file.
  Status Close();

  uint64_t seq() const { return seq_; }
  uint64_t size() const { return file_->Size(); }
  const std::string& path() const { return path_; }

 private:
  WalWriter(uint64_t seq, std::string path, std::unique_ptr<WritableFile> file)
      : seq_(seq), path_(std::move(path)), file_(std::move(file)) {}

  uint64_t seq_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
};

}  // namespace kyrodb::wal
