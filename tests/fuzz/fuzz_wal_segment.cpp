// fuzz_wal_segment: wal::ReadSegment over a whole segment file, read through
// an in-memory FileSystem, exactly as recovery reads it; and wal::ScanSegment
// (Store::ReadLog's walk of a live log) over the same bytes.
//
// Input: flags u8 | segment bytes. Flags bit 0: recompute the header crc and
// every record crc along the chain of length fields first (fuzz_util.h says
// why), so mutations reach the payload decoder and the torn-tail rules.
// Flags bits 1-7: when not 0, a second ScanSegment stops after that many
// entries.
//
// Invariants:
//  - the result is OK or Corruption (the file system never fails here);
//  - the report adds up: file_bytes is the input size, valid_bytes <= it,
//    a clean end (no torn header or tail) means valid_bytes == file_bytes,
//    records and offsets agree with what the visitor saw;
//  - every visited value is readable (ASan checks each byte);
//  - truncating the file to valid_bytes, as recovery does after a torn tail,
//    reads back cleanly with the same records: recovery is idempotent;
//  - ScanSegment agrees with ReadSegment: a bad header is Corruption naming
//    the file; otherwise it visits the same entries up to the first bad
//    record and reports that record's byte (0 for a clean end), and a walk
//    stopped after k entries saw exactly the first k.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wal_reader.h"
#include "fuzz_util.h"

namespace {

using kyrodb::Status;
using kyrodb::wal::Entry;
using kyrodb::wal::SegmentReport;

constexpr char kPath[] = "/db/wal.0000000000000001";

// What recovery keeps of one entry; compared across the two reads.
struct Seen {
  Entry::Kind kind;
  kyrodb::WriteOp::Type type;
  uint64_t offset;
  uint64_t key;
  std::string value;
  std::string idem;
  bool operator==(const Seen&) const = default;
};

Status Read(kyrodb::fuzz::MemFileSystem* fs, std::vector<Seen>* seen, SegmentReport* report) {
  seen->clear();
  return kyrodb::wal::ReadSegment(
      fs, kPath,
      [&](const Entry& e) {
        seen->push_back({e.kind, e.type, e.offset, e.key, std::string(e.value), std::string(e.idempotency_key)});
        return Status::OK();
      },
      report);
}

// ScanSegment visiting at most `stop` entries (0 = all).
Status Scan(kyrodb::fuzz::MemFileSystem* fs, size_t stop, std::vector<Seen>* seen, uint64_t* bad_at) {
  seen->clear();
  return kyrodb::wal::ScanSegment(
      fs, kPath,
      [&](const Entry& e) {
        seen->push_back({e.kind, e.type, e.offset, e.key, std::string(e.value), std::string(e.idempotency_key)});
        return stop == 0 || seen->size() < stop;
      },
      bad_at);
}

// Checks ScanSegment against what ReadSegment made of the same file: `read`
// is its status, `seen` the entries it visited (up to a mid-log bad record
// too), `report` its report.
void CheckScan(kyrodb::fuzz::MemFileSystem* fs, size_t stop, const Status& read, const std::vector<Seen>& seen,
               const SegmentReport& report) {
  std::vector<Seen> scanned;
  uint64_t bad_at = 1;
  Status s = Scan(fs, 0, &scanned, &bad_at);
  if (report.header_torn) {
    FUZZ_CHECK(s.IsCorruption(), "ScanSegment over a bad header: %s", s.ToString().c_str());
    FUZZ_CHECK(s.message().find(kPath) != std::string::npos, "error does not name the file: %s",
               s.message().c_str());
    return;
  }
  FUZZ_CHECK(s.ok(), "ScanSegment failed where ReadSegment read the header: %s", s.ToString().c_str());
  FUZZ_CHECK(scanned == seen, "ScanSegment saw %zu entries, ReadSegment %zu", scanned.size(), seen.size());
  if (!read.ok()) {  // a bad record in the middle: ScanSegment stops at it
    FUZZ_CHECK(bad_at >= kyrodb::wal::kSegmentHeaderSize, "mid-log damage, ScanSegment bad_at %llu",
               static_cast<unsigned long long>(bad_at));
  } else {
    // ScanSegment stops at the first byte that is no record: a torn tail's,
    // or the first of the zeros written ahead.
    const uint64_t want = report.tail_torn || report.zero_tail ? report.valid_bytes : 0;
    FUZZ_CHECK(bad_at == want, "ScanSegment bad_at %llu, ReadSegment's first bad byte %llu",
               static_cast<unsigned long long>(bad_at), static_cast<unsigned long long>(want));
  }
  if (stop == 0) return;
  const std::vector<Seen> all = scanned;
  const uint64_t all_bad_at = bad_at;
  s = Scan(fs, stop, &scanned, &bad_at);
  FUZZ_CHECK(s.ok(), "stopped ScanSegment failed: %s", s.ToString().c_str());
  if (stop <= all.size()) {
    FUZZ_CHECK(scanned.size() == stop && std::equal(scanned.begin(), scanned.end(), all.begin()),
               "stopped after %zu of %zu entries, wanted the first %zu", scanned.size(), all.size(), stop);
    FUZZ_CHECK(bad_at == 0, "a stopped walk reports bad_at %llu", static_cast<unsigned long long>(bad_at));
  } else {
    FUZZ_CHECK(scanned == all && bad_at == all_bad_at, "a stop beyond the last entry changed the walk");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (flags & 1) {
    kyrodb::fuzz::FixWalSegmentCrcs(&file, kyrodb::wal::kSegmentHeaderSize, kyrodb::wal::kRecordHeaderSize,
                                    kyrodb::wal::kMaxPayloadSize, kyrodb::wal::kMinPayloadSize);
  }
  kyrodb::fuzz::MemFileSystem fs;
  fs.Put(kPath, file);

  std::vector<Seen> seen;
  SegmentReport report;
  Status s = Read(&fs, &seen, &report);
  CheckScan(&fs, flags >> 1, s, seen, report);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), "status %s", s.ToString().c_str());
    FUZZ_CHECK(s.message().find(kPath) != std::string::npos, "error does not name the file: %s",
               s.message().c_str());
    return 0;
  }

  FUZZ_CHECK(report.file_bytes == file.size(), "file_bytes %llu, size %zu",
             static_cast<unsigned long long>(report.file_bytes), file.size());
  if (report.header_torn) {
    FUZZ_CHECK(file.size() <= kyrodb::wal::kSegmentHeaderSize, "torn header in a %zu-byte file", file.size());
    FUZZ_CHECK(report.records == 0 && seen.empty() && !report.tail_torn, "records after a torn header");
    return 0;
  }
  FUZZ_CHECK(report.valid_bytes >= kyrodb::wal::kSegmentHeaderSize && report.valid_bytes <= report.file_bytes,
             "valid_bytes %llu of %llu", static_cast<unsigned long long>(report.valid_bytes),
             static_cast<unsigned long long>(report.file_bytes));
  FUZZ_CHECK(!(report.tail_torn && report.zero_tail), "both a torn tail and a zero tail");
  if (report.zero_tail) {
    FUZZ_CHECK(report.valid_bytes < report.file_bytes, "zero tail with nothing after valid_bytes");
    for (size_t i = report.valid_bytes; i < file.size(); ++i) {
      FUZZ_CHECK(file[i] == 0, "zero tail holds a non-zero byte at %zu", i);
    }
  } else if (!report.tail_torn) {
    FUZZ_CHECK(report.valid_bytes == report.file_bytes, "clean end but valid_bytes %llu of %llu",
               static_cast<unsigned long long>(report.valid_bytes), static_cast<unsigned long long>(report.file_bytes));
  } else {
    FUZZ_CHECK(report.valid_bytes < report.file_bytes, "torn tail with nothing after valid_bytes");
  }
  bool any_write = false;
  uint64_t first = 0;
  uint64_t last = 0;
  for (const Seen& e : seen) {
    (void)kyrodb::fuzz::Touch(e.value);
    if (e.kind != Entry::Kind::kWrite) continue;
    if (!any_write) first = e.offset;
    any_write = true;
    last = e.offset;
  }
  // 0 means "none" in the report, so a first record at offset 0 is not
  // comparable (real logs start at 1).
  if (first != 0) {
    FUZZ_CHECK(report.first_offset == first, "first_offset %llu, first write seen %llu",
               static_cast<unsigned long long>(report.first_offset), static_cast<unsigned long long>(first));
  }
  FUZZ_CHECK(report.last_offset == last, "last_offset %llu, last write seen %llu",
             static_cast<unsigned long long>(report.last_offset), static_cast<unsigned long long>(last));

  // Recovery truncates a torn tail and reads again: that must be clean and
  // yield the same entries.
  const std::vector<Seen> before = seen;
  const SegmentReport first_report = report;
  fs.Put(kPath, std::string_view(file).substr(0, report.valid_bytes));
  s = Read(&fs, &seen, &report);
  FUZZ_CHECK(s.ok(), "re-read after truncation to valid_bytes failed: %s", s.ToString().c_str());
  FUZZ_CHECK(!report.tail_torn && !report.header_torn && !report.zero_tail,
             "truncated file still reports a torn or zero end");
  FUZZ_CHECK(report.valid_bytes == first_report.valid_bytes && report.records == first_report.records,
             "truncated re-read: %llu records in %llu bytes, first read %llu in %llu",
             static_cast<unsigned long long>(report.records), static_cast<unsigned long long>(report.valid_bytes),
             static_cast<unsigned long long>(first_report.records),
             static_cast<unsigned long long>(first_report.valid_bytes));
  FUZZ_CHECK(seen == before, "truncated re-read yields different entries");
  FUZZ_CHECK(report.seq == first_report.seq, "sequence number changed");
  return 0;
}
