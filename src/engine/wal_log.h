// Walks the whole WAL — every segment in sequence order — enforcing the rules
// that span segments: offsets are contiguous across the log, the log picks up
// where the snapshot ends, and only the last segment may end torn. Shared by
// recovery (which then truncates) and `kyrodb-engine verify` (which reports).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/wal_reader.h"

namespace kyrodb::wal {

struct SegmentVisit {
  std::string path;
  SegmentReport report;
  bool last = false;  // the newest segment: the only one allowed a torn end
};

struct LogWalk {
  uint64_t last_offset = 0;  // newest offset in snapshot + log
  uint64_t max_seq = 0;      // highest segment number seen (0: none)
  uint64_t entries_after_snapshot = 0;
};

// Lists `dir`'s segments (sorted by sequence number).
Status ListSegments(FileSystem* fs, const std::string& dir, std::vector<uint64_t>* seqs);

// Reads every segment. `apply` sees each write newer than `snapshot_offset`,
// in order; `idempotency` (may be empty) sees every idempotency key the log
// holds with the offset it answered, snapshot-covered or not, in log order;
// `segment_done` sees each segment's report after it was read (a torn end of
// a non-last segment is already reported as Corruption).
Status WalkLog(FileSystem* fs, const std::string& dir, uint64_t snapshot_offset,
               const std::function<void(const Entry&)>& apply,
               const std::function<void(std::string_view key, uint64_t offset)>& idempotency,
               const std::function<Status(const SegmentVisit&)>& segment_done, LogWalk* walk);

}  // namespace kyrodb::wal
