#include "engine/wal_reader.h"

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

// Looks for any valid record starting after `from` whose offset is beyond
// `min_offset`. A match means the damage at `from` is not a torn tail.
bool ValidRecordAfter(std::string_view data, size_t from, uint64_t min_offset, size_t* found) {
  std::vector<Entry> entries;
  for (size_t pos = from + 1; pos + kRecordHeaderSize + kMinPayloadSize <= data.size(); ++pos) {
    std::string_view payload;
    if (!FrameAt(data, pos, &payload)) continue;
    if (!DecodePayload(payload, &entries).ok()) continue;
    if (DecodeFixed64(payload.data() + 1) > min_offset) {
      *found = pos;
      return true;
    }
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
      size_t later = 0;
      if (ValidRecordAfter(data, pos, report->last_offset, &later)) {
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

}  // namespace kyrodb::wal
