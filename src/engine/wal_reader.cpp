#include "engine/wal_reader.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "util/coding.h"
#include "util/crc32c.h"

namespace kyrodb::wal {
namespace {

// Checks the frame at `pos`; on success sets `payload` and returns true.
bool FrameAt(std::string_view data, size_t pos, std::string_view* payload) {
  if (data.size() - pos < kRecordHeaderSize) return false;
  const uint32_t length = DecodeFixed32(data.data() + pos);
  if (length < kMinPayloadSize || length > kMaxPayloadSize) return false;
  if (data.size() - pos - kRecordHeaderSize < length) return false;
  const uint32_t stored = DecodeFixed32(data.data() + pos + 4);
  uint32_t crc = crc32c::Value(data.data() + pos, 4);
  crc = crc32c::Extend(crc, data.data() + pos + kRecordHeaderSize, length);
  if (crc != stored) return false;
  *payload = data.substr(pos + kRecordHeaderSize, length);
  return true;
}

// Cheap checks before a checksum: a plausible type byte and an offset that
// could follow `min_offset` within this segment. Keeps the scan below
// linear-ish on hostile tails (a CRC over every claimed length is quadratic).
bool Plausible(std::string_view data, size_t pos, uint64_t min_offset) {
  if (data.size() - pos < kRecordHeaderSize + kMinPayloadSize) return false;
  const auto type = static_cast<uint8_t>(data[pos + kRecordHeaderSize]) & ~kHasIdempotencyKey;
  if (type < 1 || type > 4) return false;
  const uint64_t offset = DecodeFixed64(data.data() + pos + kRecordHeaderSize + 1);
  // Every offset costs at least 13 bytes of the segment (a batch item), so
  // no real record can be further ahead than the segment is long.
  return offset > min_offset && offset - min_offset <= data.size() / 13 + 1;
}

// Where the written bytes end: the index after the last non-zero byte. The
// zeros after it are the writer's zeros ahead (WalWriter) or nothing at all;
// a record cut by a crash ends at the latest there.
size_t WrittenEnd(std::string_view data) {
  size_t end = data.size();
  while (end > 0 && data[end - 1] == 0) --end;
  return end;
}

// True when the records from `pos` on parse one after another up to the end
// of what was written (`written_end`), the last one possibly cut short by it
// (a torn tail of its own).
bool ChainReachesEnd(std::string_view data, size_t pos, size_t written_end) {
  std::vector<Entry> entries;
  while (pos < data.size()) {
    std::string_view payload;
    if (!FrameAt(data, pos, &payload) || !DecodePayload(payload, &entries).ok()) {
      if (pos + kRecordHeaderSize > written_end) return true;
      const uint32_t length = DecodeFixed32(data.data() + pos);
      return length >= kMinPayloadSize && length <= kMaxPayloadSize &&
             pos + kRecordHeaderSize + uint64_t{length} > written_end;
    }
    pos += kRecordHeaderSize + payload.size();
  }
  return true;
}

// Looks for a valid record after the bad one at `from` that starts a chain of
// valid records running to the end of the file. A match means the damage at
// `from` is not a torn tail. The chain rule matters: a value is client bytes
// and may hold a well-formed record, which a crash cutting that write must
// not turn into "corruption" (found by fuzz_wal_segment); such a record is
// followed by the rest of the value, not by a chain of records.
bool ValidRecordAfter(std::string_view data, size_t from, uint64_t min_offset, size_t written_end, size_t* found) {
  std::vector<Entry> entries;
  for (size_t pos = from + 1; pos + kRecordHeaderSize + kMinPayloadSize <= data.size(); ++pos) {
    if (!Plausible(data, pos, min_offset)) continue;
    std::string_view payload;
    if (!FrameAt(data, pos, &payload)) continue;
    if (!DecodePayload(payload, &entries).ok()) continue;
    if (!ChainReachesEnd(data, pos, written_end)) continue;
    *found = pos;
    return true;
  }
  return false;
}

}  // namespace

Status ReadSegment(FileSystem* fs, const std::string& path, const EntryVisitor& visit, SegmentReport* report) {
  *report = SegmentReport{};
  std::string contents;
  KYRODB_RETURN_IF_ERROR(fs->ReadFile(path, &contents));
  const std::string_view data(contents);
  report->file_bytes = data.size();

  Status header = DecodeSegmentHeader(data, &report->seq);
  if (!header.ok()) {
    // A crash while creating the segment leaves a short or partial header.
    // Anything longer than a header with a bad header is not a torn write.
    report->header_torn = true;
    if (data.size() > kSegmentHeaderSize) {
      return Status::Corruption(path + ": byte 0: " + header.message());
    }
    return Status::OK();
  }

  size_t pos = kSegmentHeaderSize;
  report->valid_bytes = pos;
  std::vector<Entry> entries;
  while (pos < data.size()) {
    std::string_view payload;
    bool good = FrameAt(data, pos, &payload) && DecodePayload(payload, &entries).ok();
    if (!good) {
      const size_t written_end = WrittenEnd(data);
      if (pos >= written_end) {
        // Only zeros from here on, written ahead: the writer stopped here.
        report->zero_tail = true;
        return Status::OK();
      }
      size_t later = 0;
      if (ValidRecordAfter(data, pos, report->last_offset, written_end, &later)) {
        return Status::Corruption(path + ": bad record at byte " + std::to_string(pos) +
                                  " is followed by a valid record at byte " + std::to_string(later));
      }
      report->tail_torn = true;
      return Status::OK();
    }
    for (const Entry& e : entries) {
      KYRODB_RETURN_IF_ERROR(visit(e));
    }
    const bool carry = !entries.empty() && entries.front().kind == Entry::Kind::kIdempotencyCarry;
    if (!entries.empty() && !carry) {
      if (report->first_offset == 0) report->first_offset = entries.front().offset;
      report->last_offset = entries.back().offset;
    }
    ++report->records;
    pos += kRecordHeaderSize + payload.size();
    report->valid_bytes = pos;
  }
  return Status::OK();
}

Status ScanSegment(FileSystem* fs, const std::string& path, const std::function<bool(const Entry&)>& visit,
                   uint64_t* bad_at) {
  *bad_at = 0;
  std::unique_ptr<MappedFile> file;
  KYRODB_RETURN_IF_ERROR(fs->MapFile(path, &file));
  const std::string_view data(file->data(), file->size());
  uint64_t seq = 0;
  // A segment is listed only once its header is durable (and recovery
  // removes a torn one), so a bad header here is damage.
  Status header = DecodeSegmentHeader(data, &seq);
  if (!header.ok()) return Status::Corruption(path + ": byte 0: " + header.message());
  size_t pos = kSegmentHeaderSize;
  std::vector<Entry> entries;
  while (pos < data.size()) {
    std::string_view payload;
    if (!FrameAt(data, pos, &payload) || !DecodePayload(payload, &entries).ok()) {
      *bad_at = pos;
      return Status::OK();
    }
    for (const Entry& e : entries) {
      if (!visit(e)) return Status::OK();
    }
    pos += kRecordHeaderSize + payload.size();
  }
  return Status::OK();
}

}  // namespace kyrodb::wal
