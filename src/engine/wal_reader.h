// Reads one WAL segment and classifies its end.
//
// Zeros from the end of the last record to the end of the file are the
// writer's zeros ahead (WalWriter), a clean end: `zero_tail`, not torn.
//
// Recovery's rule (SPEC §4): a torn or garbage tail — a bad record with no
// valid record after it — is cut off; a bad record followed by a valid one is
// corruption in the middle of the log, which refuses to start and names the
// file and byte offset. Nothing is ever skipped silently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/wal_format.h"
#include "kyrodb/fs.h"

namespace kyrodb::wal {

struct SegmentReport {
  uint64_t seq = 0;
  uint64_t file_bytes = 0;
  uint64_t valid_bytes = 0;   // bytes up to the end of the last good record
  uint64_t records = 0;
  uint64_t first_offset = 0;  // 0 when the segment holds no record
  uint64_t last_offset = 0;
  bool header_torn = false;   // shorter than a header, or header bytes damaged
  bool tail_torn = false;     // bytes after valid_bytes that form no valid record
  bool zero_tail = false;     // only zeros after valid_bytes: written ahead, not torn
};

// Called for every decoded entry, in log order. A non-ok result stops the read
// and is returned as is.
using EntryVisitor = std::function<Status(const Entry&)>;

// Reads `path`. Returns Corruption (naming path and byte offset) when a bad
// record is followed by a valid one, or when the header is damaged in a file
// that has more than a header's worth of bytes. A torn tail is reported in
// `report`, not as an error: the caller decides whether it may truncate.
Status ReadSegment(FileSystem* fs, const std::string& path, const EntryVisitor& visit, SegmentReport* report);

// For reading history from a live log (Store::ReadLog), not for recovery:
// walks `path`'s records in order through a mapping, so only the pages it
// reaches are read, and stops as soon as `visit` returns false. Sets *bad_at
// to the byte offset of the first record that does not decode, or to 0 when
// the walk reached the end of the file or was stopped; a bad header is
// Corruption. Judging a bad record (torn tail of a group being
// written, or damage) is the caller's: it knows what was acknowledged.
Status ScanSegment(FileSystem* fs, const std::string& path, const std::function<bool(const Entry&)>& visit,
                   uint64_t* bad_at);

}  // namespace kyrodb::wal
