// fuzz_snapshot: Snapshot::Open over a whole snapshot.bin, mapped through an
// in-memory FileSystem into an exactly-sized heap block (so ASan sees a read
// one byte past the end, which a page-rounded mmap would hide).
//
// Input: flags u8 | file bytes. Flags bit 0: recompute the section and footer
// checksums first (fuzz_util.h says why), so mutations reach the size, order
// and bounds rules that stand between a buggy writer and an out-of-bounds read.
// Bit 1: rewrite an accepted file as version 1 instead of the current version.
//
// Invariants:
//  - Open fails with Corruption naming the file, or succeeds;
//  - on success every accessor stays in bounds: all keys strictly increasing,
//    every value inside the values section (each byte read under ASan),
//    every write offset in 1..last_offset, file_bytes the input size, and the
//    size is exactly what the version's layout gives for the count;
//  - what Open accepts, SnapshotWriter can write again, and the rewritten
//    file opens to the same entries and last_offset.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/snapshot.h"
#include "fuzz_util.h"

namespace {

using kyrodb::Snapshot;
using kyrodb::Status;

constexpr char kDir[] = "/db";
constexpr char kPath[] = "/db/snapshot.bin";

// Walks every accessor of a snapshot opened from the bytes `file`.
void CheckSnapshot(const Snapshot& snap, std::string_view file) {
  FUZZ_CHECK(snap.file_bytes() == file.size(), "file_bytes %llu, size %zu",
             static_cast<unsigned long long>(snap.file_bytes()), file.size());
  const char* footer = file.data() + file.size() - kyrodb::kSnapshotFooterSize;
  const uint64_t values_bytes = kyrodb::DecodeFixed64(footer + 32);
  const uint32_t version = kyrodb::DecodeFixed32(footer + 8);
  FUZZ_CHECK(version == snap.format_version(), "footer version %u, format_version %u", version,
             snap.format_version());
  // v1: keys, offsets, u64 positions[n + 1]. v2: keys, offsets,
  // u64 bases[n/16 + 1], u32 deltas[n + 1], zero padding to a multiple of 8.
  const uint64_t n = snap.count();
  const uint64_t arrays = version == 1 ? 24 * n + 8 : 16 * n + 8 * (n / 16 + 1) + (4 * (n + 1) + 7) / 8 * 8;
  FUZZ_CHECK(file.size() == values_bytes + arrays + kyrodb::kSnapshotFooterSize,
             "count %zu does not fill the version %u file", snap.count(), version);
  FUZZ_CHECK(snap.keys().size() == snap.count(), "keys() span has the wrong size");
  // The values and arrays live in the mapping, not in `file`; the first value
  // starts at the mapping's first byte, so measure from value_at(0).
  const char* values_begin = snap.count() > 0 ? snap.value_at(0).data() : nullptr;
  for (size_t i = 0; i < snap.count(); ++i) {
    const uint64_t key = snap.key_at(i);
    FUZZ_CHECK(snap.keys()[i] == key, "keys()[%zu] differs from key_at", i);
    if (i > 0) FUZZ_CHECK(snap.key_at(i - 1) < key, "keys not strictly increasing at %zu", i);
    FUZZ_CHECK(snap.offset_at(i) >= 1 && snap.offset_at(i) <= snap.last_offset(), "offset %zu out of range", i);
    const std::string_view v = snap.value_at(i);
    FUZZ_CHECK(v.data() >= values_begin && v.data() + v.size() <= values_begin + values_bytes,
               "value %zu outside the values section", i);
    (void)kyrodb::fuzz::Touch(v);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) kyrodb::fuzz::FixSnapshotCrcs(&file, kyrodb::kSnapshotFooterSize);

  kyrodb::fuzz::MemFileSystem fs;
  fs.Put(kPath, file);
  std::shared_ptr<const Snapshot> snap;
  Status s = Snapshot::Open(&fs, kPath, &snap);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), "status %s", s.ToString().c_str());
    FUZZ_CHECK(s.message().find(kPath) != std::string::npos, "error does not name the file: %s",
               s.message().c_str());
    FUZZ_CHECK(snap == nullptr, "failed Open set *out");
    return 0;
  }
  FUZZ_CHECK(snap != nullptr, "Open succeeded without a snapshot");
  CheckSnapshot(*snap, file);

  // Write the same entries with the real writer and open that file.
  const kyrodb::SnapshotFormat format = data[0] & 2 ? kyrodb::SnapshotFormat::kV1 : kyrodb::SnapshotFormat::kV2;
  kyrodb::SnapshotWriter writer(&fs, kDir, format);
  s = writer.Begin();
  for (size_t i = 0; s.ok() && i < snap->count(); ++i) s = writer.Add(snap->key_at(i), snap->offset_at(i), snap->value_at(i));
  uint64_t bytes = 0;
  if (s.ok()) s = writer.Finish(snap->last_offset(), &bytes);
  FUZZ_CHECK(s.ok(), "rewriting an accepted snapshot failed: %s", s.ToString().c_str());
  std::shared_ptr<const Snapshot> again;
  s = Snapshot::Open(&fs, kPath, &again);
  FUZZ_CHECK(s.ok(), "the rewritten snapshot does not open: %s", s.ToString().c_str());
  const std::string* rewritten = fs.Get(kPath);
  FUZZ_CHECK(rewritten != nullptr && rewritten->size() == bytes, "Finish reported %llu bytes",
             static_cast<unsigned long long>(bytes));
  CheckSnapshot(*again, *rewritten);
  FUZZ_CHECK(again->format_version() == static_cast<uint32_t>(format), "rewritten as version %u",
             again->format_version());
  FUZZ_CHECK(again->count() == snap->count() && again->last_offset() == snap->last_offset(),
             "rewritten snapshot differs in count or last_offset");
  for (size_t i = 0; i < snap->count(); ++i) {
    FUZZ_CHECK(again->key_at(i) == snap->key_at(i) && again->offset_at(i) == snap->offset_at(i) &&
                   again->value_at(i) == snap->value_at(i),
               "rewritten entry %zu differs", i);
  }
  return 0;
}
