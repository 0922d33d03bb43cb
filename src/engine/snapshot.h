// snapshot.bin: every live key with its newest value, sorted, checksummed.
//
// Layout (docs/FORMATS.md, "Snapshot"): the values first, so the writer can
// stream them, then the three fixed-width arrays the reader indexes directly
// in the mapped file, then a fixed footer:
//
//   values   : value bytes back to back, zero-padded to a multiple of 8
//   keys     : u64[count], strictly increasing   (8-byte aligned: the index
//              reads them in place)
//   offsets  : u64[count], offset of the write that produced each value
//   positions: u64[count + 1], value i is values[positions[i], positions[i+1])
//   footer   : 80 bytes, see kFooterSize
//
// The base generation reads values straight from the mapping, so a restart
// does not copy them onto the heap: 24 bytes per key plus the values.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kyrodb/fs.h"

namespace kyrodb {

inline constexpr char kSnapshotMagic[8] = {'K', 'Y', 'R', 'O', 'S', 'N', 'P', '1'};
inline constexpr uint32_t kSnapshotVersion = 1;
inline constexpr size_t kSnapshotFooterSize = 80;

// Streams a snapshot into a temp file and installs it atomically:
// write -> fsync -> rename over snapshot.bin -> fsync the directory.
// Not thread-safe.
class SnapshotWriter {
 public:
  SnapshotWriter(FileSystem* fs, std::string dir);

  Status Begin();
  // Entries must come in strictly increasing key order.
  Status Add(uint64_t key, uint64_t offset, std::string_view value);
  // `last_offset`: the newest write the snapshot contains (recovery replays
  // only WAL records after it). On success snapshot.bin is the new file.
  Status Finish(uint64_t last_offset, uint64_t* file_bytes);

  static std::string TempPath(const std::string& dir) { return dir + "/snapshot.bin.tmp"; }
  static std::string FinalPath(const std::string& dir) { return dir + "/snapshot.bin"; }

 private:
  Status Flush();

  FileSystem* fs_;
  std::string dir_;
  std::unique_ptr<WritableFile> file_;
  std::string buffer_;
  std::vector<uint64_t> keys_;
  std::vector<uint64_t> offsets_;
  std::vector<uint64_t> positions_{0};
  uint64_t values_bytes_ = 0;
  uint32_t values_crc_ = 0;
};

// A loaded, validated snapshot, read in place from the mapped file.
// Immutable and thread-safe.
class Snapshot {
 public:
  // The state of an empty store (no snapshot file yet).
  static std::shared_ptr<const Snapshot> Empty();

  // Maps and validates `path`: footer, sizes, every section checksum, key
  // order and value bounds. Any problem is Corruption naming the file.
  static Status Open(FileSystem* fs, const std::string& path, std::shared_ptr<const Snapshot>* out);

  size_t count() const { return count_; }
  std::span<const uint64_t> keys() const { return {keys_, count_}; }
  uint64_t key_at(size_t i) const { return keys_[i]; }
  uint64_t offset_at(size_t i) const { return offsets_[i]; }
  std::string_view value_at(size_t i) const {
    return {values_ + positions_[i], static_cast<size_t>(positions_[i + 1] - positions_[i])};
  }

  uint64_t last_offset() const { return last_offset_; }
  uint64_t file_bytes() const { return file_bytes_; }
  int64_t created_unix_ms() const { return created_unix_ms_; }
  // Identifies this exact file; index-rmi.bin records it to prove it matches.
  uint64_t id() const { return id_; }

  // Asks the kernel to read the whole mapping ahead.
  void Prefetch() const;

 private:
  Snapshot() = default;

  std::unique_ptr<MappedFile> file_;
  size_t count_ = 0;
  const char* values_ = "";
  const uint64_t* keys_ = nullptr;
  const uint64_t* offsets_ = nullptr;
  const uint64_t* positions_ = nullptr;
  uint64_t last_offset_ = 0;
  uint64_t file_bytes_ = 0;
  int64_t created_unix_ms_ = 0;
  uint64_t id_ = 0;
};

}  // namespace kyrodb
