#include "engine/snapshot.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iterator>

#include "engine/parallel.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace kyrodb {
namespace {

constexpr size_t kFlushBytes = 1 << 20;

// Footer byte layout (all little-endian):
//   0 magic[8] | 8 version u32 | 12 flags u32 | 16 count u64 | 24 last_offset u64
//  32 values_bytes u64 | 40 created_unix_ms i64 | 48 crc values u32 | 52 crc keys u32
//  56 crc offsets u32 | 60 crc positions u32 | 64 reserved u64 | 72 crc footer[0,72) u32 | 76 zero u32
struct Footer {
  uint64_t count = 0;
  uint64_t last_offset = 0;
  uint64_t values_bytes = 0;
  int64_t created_unix_ms = 0;
  uint32_t crc_values = 0, crc_keys = 0, crc_offsets = 0, crc_positions = 0;
  uint32_t crc_footer = 0;
};

std::string EncodeFooter(const Footer& f) {
  std::string out;
  out.append(kSnapshotMagic, sizeof kSnapshotMagic);
  PutFixed32(&out, kSnapshotVersion);
  PutFixed32(&out, 0);
  PutFixed64(&out, f.count);
  PutFixed64(&out, f.last_offset);
  PutFixed64(&out, f.values_bytes);
  PutFixed64(&out, static_cast<uint64_t>(f.created_unix_ms));
  PutFixed32(&out, f.crc_values);
  PutFixed32(&out, f.crc_keys);
  PutFixed32(&out, f.crc_offsets);
  PutFixed32(&out, f.crc_positions);
  PutFixed64(&out, 0);
  PutFixed32(&out, crc32c::Value(out.data(), out.size()));
  PutFixed32(&out, 0);
  return out;
}

uint32_t CrcOfArray(const std::vector<uint64_t>& v) {
  return crc32c::Value(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(uint64_t));
}

}  // namespace

SnapshotWriter::SnapshotWriter(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

Status SnapshotWriter::Begin() {
  buffer_.reserve(kFlushBytes * 2);
  return fs_->NewWritableFile(TempPath(dir_), &file_);
}

Status SnapshotWriter::Flush() {
  if (buffer_.empty()) return Status::OK();
  Status s = file_->Append(buffer_);
  buffer_.clear();
  return s;
}

Status SnapshotWriter::Add(uint64_t key, uint64_t offset, std::string_view value) {
  keys_.push_back(key);
  offsets_.push_back(offset);
  values_bytes_ += value.size();
  positions_.push_back(values_bytes_);
  values_crc_ = crc32c::Extend(values_crc_, value.data(), value.size());
  buffer_.append(value);
  if (buffer_.size() >= kFlushBytes) return Flush();
  return Status::OK();
}

Status SnapshotWriter::Finish(uint64_t last_offset, uint64_t* file_bytes) {
  Footer f;
  // Pad so the key array that follows is 8-byte aligned in the mapping.
  const uint64_t pad = (8 - values_bytes_ % 8) % 8;
  const char zeros[8] = {};
  buffer_.append(zeros, pad);
  values_crc_ = crc32c::Extend(values_crc_, zeros, pad);
  f.values_bytes = values_bytes_ + pad;
  f.count = keys_.size();
  f.last_offset = last_offset;
  f.created_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  f.crc_values = values_crc_;
  f.crc_keys = CrcOfArray(keys_);
  f.crc_offsets = CrcOfArray(offsets_);
  f.crc_positions = CrcOfArray(positions_);
  KYRODB_RETURN_IF_ERROR(Flush());
  for (const auto* array : {&keys_, &offsets_, &positions_}) {
    KYRODB_RETURN_IF_ERROR(file_->Append({reinterpret_cast<const char*>(array->data()), array->size() * 8}));
  }
  KYRODB_RETURN_IF_ERROR(file_->Append(EncodeFooter(f)));
  *file_bytes = file_->Size();
  KYRODB_RETURN_IF_ERROR(file_->FullSync());
  KYRODB_RETURN_IF_ERROR(file_->Close());
  KYRODB_RETURN_IF_ERROR(fs_->Rename(TempPath(dir_), FinalPath(dir_)));
  return fs_->SyncDir(dir_);
}

std::shared_ptr<const Snapshot> Snapshot::Empty() {
  static const std::shared_ptr<const Snapshot> empty(new Snapshot());
  return empty;
}

Status Snapshot::Open(FileSystem* fs, const std::string& path, std::shared_ptr<const Snapshot>* out) {
  std::unique_ptr<MappedFile> file;
  KYRODB_RETURN_IF_ERROR(fs->MapFile(path, &file));
  const char* base = file->data();
  const uint64_t size = file->size();
  auto bad = [&](const std::string& why) { return Status::Corruption(path + ": " + why); };

  if (size < kSnapshotFooterSize) return bad("file is shorter than the footer");
  const char* f = base + size - kSnapshotFooterSize;
  if (std::memcmp(f, kSnapshotMagic, sizeof kSnapshotMagic) != 0) return bad("bad magic number in footer");
  if (DecodeFixed32(f + 72) != crc32c::Value(f, 72)) return bad("footer checksum mismatch");
  // The checksum cannot cover its own trailing word: demand the zero it must be.
  if (DecodeFixed32(f + 76) != 0) return bad("footer trailing word is not zero");
  if (DecodeFixed32(f + 12) != 0) return bad("unknown footer flags");
  if (DecodeFixed32(f + 8) != kSnapshotVersion) {
    return bad("unsupported format version " + std::to_string(DecodeFixed32(f + 8)));
  }
  Footer ft;
  ft.count = DecodeFixed64(f + 16);
  ft.last_offset = DecodeFixed64(f + 24);
  ft.values_bytes = DecodeFixed64(f + 32);
  ft.created_unix_ms = static_cast<int64_t>(DecodeFixed64(f + 40));
  ft.crc_values = DecodeFixed32(f + 48);
  ft.crc_keys = DecodeFixed32(f + 52);
  ft.crc_offsets = DecodeFixed32(f + 56);
  ft.crc_positions = DecodeFixed32(f + 60);

  // Bound every size before any arithmetic can overflow.
  const uint64_t body = size - kSnapshotFooterSize;
  if (ft.values_bytes % 8 != 0 || ft.values_bytes > body) return bad("values section size is invalid");
  const uint64_t arrays = body - ft.values_bytes;
  if (arrays % 8 != 0 || arrays / 8 < 1 || (arrays / 8 - 1) % 3 != 0 || (arrays / 8 - 1) / 3 != ft.count) {
    return bad("section sizes do not match the key count " + std::to_string(ft.count));
  }
  const size_t n = ft.count;
  const char* keys = base + ft.values_bytes;
  const char* offsets = keys + n * 8;
  const char* positions = offsets + n * 8;
  if (reinterpret_cast<uintptr_t>(keys) % alignof(uint64_t) != 0) return bad("key array is misaligned");

  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->keys_ = reinterpret_cast<const uint64_t*>(keys);
  snap->offsets_ = reinterpret_cast<const uint64_t*>(offsets);
  snap->positions_ = reinterpret_cast<const uint64_t*>(positions);
  snap->values_ = base;

  // Reading every byte is most of a restart's work (880 MB at 10M keys of 64
  // bytes), so it is split into chunks spread over the cores: each chunk's
  // CRC32C is joined into its section's with Crc32cCombine, and each range of
  // positions is checked against the rules below. Nothing is served until
  // every chunk is done; failures are reported exactly as a serial pass would
  // (sections in file order, then the lowest failing position).
  struct Section {
    const char* data;
    uint64_t bytes;
    uint32_t expected;
    const char* name;
  };
  const Section sections[] = {{base, ft.values_bytes, ft.crc_values, "values"},
                              {keys, n * 8, ft.crc_keys, "keys"},
                              {offsets, n * 8, ft.crc_offsets, "offsets"},
                              {positions, (n + 1) * 8, ft.crc_positions, "positions"}};
  struct CrcChunk {
    size_t section;
    uint64_t begin, bytes;
    uint32_t crc = 0;
  };
  constexpr uint64_t kCrcChunkBytes = 8u << 20;
  std::vector<CrcChunk> crc_chunks;
  for (size_t s = 0; s < std::size(sections); ++s) {
    uint64_t begin = 0;
    do {
      const uint64_t bytes = std::min(kCrcChunkBytes, sections[s].bytes - begin);
      crc_chunks.push_back({s, begin, bytes});
      begin += bytes;
    } while (begin < sections[s].bytes);
  }
  // Rule checks, by ranges of positions: the first failure in each range.
  constexpr size_t kRuleChunkKeys = 1u << 20;
  struct RuleChunk {
    size_t failed_at = SIZE_MAX;
    const char* rule = nullptr;
  };
  std::vector<RuleChunk> rule_chunks((n + kRuleChunkKeys - 1) / kRuleChunkKeys);
  const Snapshot& view = *snap;
  auto check_rules = [&](size_t c) {
    const size_t end = std::min(n, (c + 1) * kRuleChunkKeys);
    for (size_t i = c * kRuleChunkKeys; i < end; ++i) {
      const char* rule = nullptr;
      if (i > 0 && view.keys_[i] <= view.keys_[i - 1]) {
        rule = "keys out of order at index ";
      } else if (view.positions_[i + 1] < view.positions_[i]) {
        rule = "value positions decrease at index ";
      } else if (view.offsets_[i] == 0 || view.offsets_[i] > ft.last_offset) {
        rule = "write offset out of range at index ";
      }
      if (rule != nullptr) {
        rule_chunks[c] = {i, rule};
        return;
      }
    }
  };
  ParallelFor(crc_chunks.size() + rule_chunks.size(), 0, [&](size_t t) {
    if (t < crc_chunks.size()) {
      CrcChunk& c = crc_chunks[t];
      c.crc = crc32c::Value(sections[c.section].data + c.begin, c.bytes);
    } else {
      check_rules(t - crc_chunks.size());
    }
  });
  uint32_t crc = 0;
  for (size_t t = 0; t < crc_chunks.size(); ++t) {
    const CrcChunk& c = crc_chunks[t];
    crc = c.begin == 0 ? c.crc : Crc32cCombine(crc, c.crc, c.bytes);
    const bool section_done = t + 1 == crc_chunks.size() || crc_chunks[t + 1].section != c.section;
    if (section_done && crc != sections[c.section].expected) {
      return bad(std::string(sections[c.section].name) + " checksum mismatch");
    }
  }
  // Checksums prove the bytes are what was written; these rules prove what was
  // written is usable, so a buggy writer cannot make a reader index out of bounds.
  if (snap->positions_[0] != 0) return bad("first value position is not 0");
  for (const RuleChunk& c : rule_chunks) {
    if (c.rule != nullptr) return bad(c.rule + std::to_string(c.failed_at));
  }
  if (snap->positions_[n] > ft.values_bytes) return bad("value positions run past the values section");

  snap->file_ = std::move(file);
  snap->count_ = n;
  snap->last_offset_ = ft.last_offset;
  snap->file_bytes_ = size;
  snap->created_unix_ms_ = ft.created_unix_ms;
  snap->id_ = (static_cast<uint64_t>(DecodeFixed32(f + 72)) << 32) | ft.crc_keys;
  *out = std::move(snap);
  return Status::OK();
}

void Snapshot::Prefetch() const {
  if (file_) file_->Prefetch();
}

}  // namespace kyrodb
