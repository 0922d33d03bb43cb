#include "kyrodb/verify.h"

#include "engine/index_file.h"
#include "engine/snapshot.h"
#include "engine/wal_log.h"

namespace kyrodb {

Status VerifyDataDir(const std::string& dir, FileSystem* fs, std::string* report) {
  auto line = [report](const std::string& text) { *report += text + "\n"; };
  bool exists = false;
  KYRODB_RETURN_IF_ERROR(fs->FileExists(dir, &exists));
  if (!exists) return Status::NotFound("data directory " + dir + " does not exist");

  std::shared_ptr<const Snapshot> snapshot = Snapshot::Empty();
  const std::string snap_path = SnapshotWriter::FinalPath(dir);
  KYRODB_RETURN_IF_ERROR(fs->FileExists(snap_path, &exists));
  if (exists) {
    Status s = Snapshot::Open(fs, snap_path, &snapshot);
    if (!s.ok()) {
      line("FAIL " + s.ToString());
      return s;
    }
    line("ok   " + snap_path + ": " + std::to_string(snapshot->count()) + " keys, offsets up to " +
         std::to_string(snapshot->last_offset()) + ", " + std::to_string(snapshot->file_bytes()) +
         " bytes, format " + std::to_string(snapshot->format_version()) +
         (snapshot->format_version() < kSnapshotVersion ? " (the next checkpoint rewrites it as format " +
                                                               std::to_string(kSnapshotVersion) + ")"
                                                         : std::string()));
  } else {
    line("ok   no snapshot.bin (nothing checkpointed yet)");
  }

  const std::string index_path = IndexPath(dir);
  KYRODB_RETURN_IF_ERROR(fs->FileExists(index_path, &exists));
  if (exists) {
    std::string bytes;
    std::unique_ptr<index::Rmi> rmi;
    Status s = fs->ReadFile(index_path, &bytes);
    if (s.ok()) s = index::Rmi::Deserialize(bytes, snapshot->keys(), snapshot->id(), &rmi);
    if (s.ok()) {
      line("ok   " + index_path + ": " + std::to_string(rmi->stats().leaves) + " leaves, max error " +
           std::to_string(rmi->stats().max_error));
    } else {
      line("WARN " + index_path + " will be rebuilt at start: " + s.ToString());
    }
  } else {
    line("WARN no index-rmi.bin: it will be built at start");
  }

  auto segment_done = [&](const wal::SegmentVisit& v) -> Status {
    const wal::SegmentReport& r = v.report;
    if (r.header_torn) {
      line("WARN " + v.path + ": torn segment header (" + std::to_string(r.file_bytes) +
           " bytes); recovery removes it");
    } else if (r.tail_torn) {
      line("WARN " + v.path + ": " + std::to_string(r.records) + " records, torn tail at byte " +
           std::to_string(r.valid_bytes) + " (" + std::to_string(r.file_bytes - r.valid_bytes) +
           " bytes recovery truncates)");
    } else {
      std::string ok = "ok   " + v.path + ": " + std::to_string(r.records) + " records";
      if (r.records > 0) ok += ", offsets " + std::to_string(r.first_offset) + ".." + std::to_string(r.last_offset);
      if (r.zero_tail) {
        ok += ", then " + std::to_string(r.file_bytes - r.valid_bytes) +
              " zero bytes written ahead (recovery trims them)";
      }
      line(ok);
    }
    return Status::OK();
  };
  wal::LogWalk walk;
  Status s = wal::WalkLog(fs, dir, snapshot->last_offset(), [](const wal::Entry&) {}, {}, segment_done, &walk);
  if (!s.ok()) {
    line("FAIL " + s.ToString());
    return s;
  }
  line("ok   last offset " + std::to_string(walk.last_offset) + " (" + std::to_string(walk.entries_after_snapshot) +
       " writes after the snapshot)");
  return Status::OK();
}

}  // namespace kyrodb
