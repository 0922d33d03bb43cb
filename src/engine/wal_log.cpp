#include "engine/wal_log.h"

#include <algorithm>

namespace kyrodb::wal {

Status ListSegments(FileSystem* fs, const std::string& dir, std::vector<uint64_t>* seqs) {
  std::vector<std::string> names;
  KYRODB_RETURN_IF_ERROR(fs->ListDir(dir, &names));
  seqs->clear();
  for (const std::string& name : names) {
    uint64_t seq = 0;
    if (ParseSegmentName(name, &seq)) seqs->push_back(seq);
  }
  std::sort(seqs->begin(), seqs->end());
  return Status::OK();
}

Status WalkLog(FileSystem* fs, const std::string& dir, uint64_t snapshot_offset,
               const std::function<void(const Entry&)>& apply,
               const std::function<void(std::string_view key, uint64_t offset)>& idempotency,
               const std::function<Status(const SegmentVisit&)>& segment_done, LogWalk* walk) {
  std::vector<uint64_t> seqs;
  KYRODB_RETURN_IF_ERROR(ListSegments(fs, dir, &seqs));
  *walk = LogWalk{};
  walk->last_offset = snapshot_offset;
  walk->max_seq = seqs.empty() ? 0 : seqs.back();
  uint64_t prev = 0;  // offset of the previous entry in the log, 0 before the first

  for (size_t i = 0; i < seqs.size(); ++i) {
    SegmentVisit visit;
    visit.path = dir + "/" + SegmentName(seqs[i]);
    visit.last = i + 1 == seqs.size();
    auto on_entry = [&](const Entry& e) -> Status {
      if (!e.idempotency_key.empty() && idempotency) idempotency(e.idempotency_key, e.offset);
      if (e.kind == Entry::Kind::kIdempotencyCarry) return Status::OK();  // no write, no offset of its own
      // A gap means a segment (or part of one) is missing: no replay can make up for it.
      if (prev != 0 && e.offset != prev + 1) {
        return Status::Corruption(visit.path + ": record offset " + std::to_string(e.offset) +
                                  " does not follow " + std::to_string(prev));
      }
      if (prev == 0 && e.offset > snapshot_offset + 1) {
        return Status::Corruption(visit.path + ": log starts at offset " + std::to_string(e.offset) +
                                  " but the snapshot ends at " + std::to_string(snapshot_offset));
      }
      prev = e.offset;
      if (e.offset <= snapshot_offset) return Status::OK();  // already in the snapshot
      apply(e);
      walk->last_offset = e.offset;
      ++walk->entries_after_snapshot;
      return Status::OK();
    };
    KYRODB_RETURN_IF_ERROR(ReadSegment(fs, visit.path, on_entry, &visit.report));
    // Every segment but the last was synced before the next one was created,
    // so damage there is corruption, not a torn write.
    if ((visit.report.header_torn || visit.report.tail_torn) && !visit.last) {
      return Status::Corruption(visit.path + ": damaged at byte " + std::to_string(visit.report.valid_bytes) +
                                " but it is not the last segment");
    }
    KYRODB_RETURN_IF_ERROR(segment_done(visit));
  }
  return Status::OK();
}

}  // namespace kyrodb::wal
