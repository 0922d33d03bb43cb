// snapshot.bin: every live key with its newest value, sorted, checksummed.
//
// Layout (docs/FORMATS.md, "snapshot.bin"): the values first, so the writer
// can stream them, then the fixed-width arrays the reader indexes directly in
// the mapped file, then a fixed footer. Version 2, written since it exists:
//
//   values   : value bytes back to back, zero-padded to a multiple of 8
//   keys     : u64[n], strictly increasing   (8-byte aligned: the index reads
//              them in place)
//   offsets  : u64[n], offset of the write that produced each value
//   bases    : u64[n/16 + 1], the position of every 16th value
//   deltas   : u32[n + 1], position i = bases[i / 16] + deltas[i]; value i is
//              values[position i, position i + 1)
//   padding  : zero to a multiple of 8 (4 bytes when n + 1 is odd)
//   footer   : 80 bytes, see kSnapshotFooterSize
//
// Version 1 (still read, so existing data directories open) stores positions
// as u64[n + 1] instead of bases, deltas and padding.
//
// The base generation reads values straight from the mapping, so a restart
// does not copy them onto the heap: 20.5 bytes per key (v1: 24) plus the
// values. Blocks of 16 keep a u32 delta enough: a value is at most 256 MiB
// (KYRODB_MAX_VALUE_BYTES), so a delta, the sum of at most 15 values, is
// under 4 GiB; the writer still refuses a delta that does not fit.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kyrodb/fs.h"
#include "util/touch.h"

namespace kyrodb {

inline constexpr char kSnapshotMagic[8] = {'K', 'Y', 'R', 'O', 'S', 'N', 'P', '1'};
// The version SnapshotWriter writes; Snapshot::Open reads 1 and 2.
inline constexpr uint32_t kSnapshotVersion = 2;
inline constexpr uint32_t kSnapshotOldestVersion = 1;
inline constexpr size_t kSnapshotFooterSize = 80;
// Keys per position base in version 2.
inline constexpr size_t kSnapshotBlockKeys = 16;

// What SnapshotWriter writes. kV1 exists so tests can prove version-1 files
// still load; the engine always writes kV2.
enum class SnapshotFormat : uint32_t { kV1 = 1, kV2 = 2 };

// Streams a snapshot into a temp file and installs it atomically:
// write -> fsync -> rename over snapshot.bin -> fsync the directory.
// Not thread-safe.
class SnapshotWriter {
 public:
  SnapshotWriter(FileSystem* fs, std::string dir, SnapshotFormat format = SnapshotFormat::kV2);

  Status Begin();
  // Entries must come in strictly increasing key order. InvalidArgument, and
  // nothing of the entry added, if the values since the last block start
  // (every 16th entry) would reach 4 GiB, past what a u32 delta holds (kV1
  // too: it shares the bookkeeping).
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
  // Positions as the v2 file stores them: 20.5 bytes a key on the heap while
  // a checkpoint runs, not 24.
  std::vector<uint64_t> bases_{0};
  std::vector<uint32_t> deltas_{0};
  SnapshotFormat format_;
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
  // On the GET path: one well-predicted branch on the format, then two
  // adjacent deltas and (usually) one base, all in the mapping.
  std::string_view value_at(size_t i) const {
    uint64_t begin, end;
    if (positions64_ != nullptr) [[unlikely]] {
      begin = positions64_[i];
      end = positions64_[i + 1];
    } else {
      begin = bases_[i / kSnapshotBlockKeys] + deltas_[i];
      end = bases_[(i + 1) / kSnapshotBlockKeys] + deltas_[i + 1];
    }
    return {values_ + begin, static_cast<size_t>(end - begin)};
  }

  // Loads (and drops) what value_at(i) and offset_at(i) read, clamping i
  // into range, so that their cache misses run while the caller does
  // independent work (the index search). Loads, not prefetch instructions:
  // on the AMD EPYC VM of docs/BENCHMARKS.md prefetches into the mapping
  // saved nothing where these loads saved ~110 ns a lookup
  // (bench/base_lookup, BM_PositionsPrefetched against BM_PositionsTouched).
  void TouchEntry(size_t i) const { EntryLines(i, [](const void* p) { Touch(p); }); }
  // The same lines through __builtin_prefetch; for that benchmark.
  void PrefetchEntry(size_t i) const { EntryLines(i, [](const void* p) { __builtin_prefetch(p); }); }

  uint64_t last_offset() const { return last_offset_; }
  uint64_t file_bytes() const { return file_bytes_; }
  // The file's format version, 1 or 2; 2 for Empty().
  uint32_t format_version() const { return positions64_ != nullptr ? 1 : 2; }
  int64_t created_unix_ms() const { return created_unix_ms_; }
  // Identifies this exact file; index-rmi.bin records it to prove it matches.
  uint64_t id() const { return id_; }

  // Asks the kernel to read the whole mapping ahead.
  void Prefetch() const;

 private:
  Snapshot() = default;

  template <class Fn>
  void EntryLines(size_t i, Fn&& fn) const {
    if (count_ == 0) return;
    i = i < count_ ? i : count_ - 1;
    if (positions64_ != nullptr) [[unlikely]] {
      fn(positions64_ + i);
    } else {
      fn(bases_ + i / kSnapshotBlockKeys);
      fn(deltas_ + i);
    }
    fn(offsets_ + i);
  }

  std::unique_ptr<MappedFile> file_;
  size_t count_ = 0;
  const char* values_ = "";
  const uint64_t* keys_ = nullptr;
  const uint64_t* offsets_ = nullptr;
  const uint64_t* positions64_ = nullptr;  // version 1 only
  const uint64_t* bases_ = nullptr;        // version 2 only
  const uint32_t* deltas_ = nullptr;       // version 2 only
  uint64_t last_offset_ = 0;
  uint64_t file_bytes_ = 0;
  int64_t created_unix_ms_ = 0;
  uint64_t id_ = 0;
};

}  // namespace kyrodb
