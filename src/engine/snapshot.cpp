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

// Writes of 4 MiB: the page cache then holds the new snapshot in 2 MiB
// folios (a kernel with large folios sizes them by the write), which it maps
// into readers with one TLB entry each. With 1 MiB writes it held 1 MiB
// folios and mapped 4 KiB pages: GETs 8-11 % slower (docs/BENCHMARKS.md).
constexpr size_t kFlushBytes = 4 << 20;

// Footer byte layout (all little-endian):
//   0 magic[8] | 8 version u32 (1 or 2) | 12 flags u32 | 16 count u64 | 24 last_offset u64
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

std::string EncodeFooter(uint32_t version, const Footer& f) {
  std::string out;
  out.append(kSnapshotMagic, sizeof kSnapshotMagic);
  PutFixed32(&out, version);
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

template <typename T>
std::span<const char> AsBytes(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

uint32_t ExtendCrc(uint32_t crc, std::span<const char> bytes) {
  return crc32c::Extend(crc, bytes.data(), bytes.size());
}

// Bytes of the version-2 positions section for n keys: bases, deltas and the
// padding to a multiple of 8. No overflow for n <= 2^64 / 20.
uint64_t PositionsBytesV2(uint64_t n) {
  return 8 * (n / kSnapshotBlockKeys + 1) + (4 * (n + 1) + 7) / 8 * 8;
}

}  // namespace

SnapshotWriter::SnapshotWriter(FileSystem* fs, std::string dir, SnapshotFormat format)
    : fs_(fs), dir_(std::move(dir)), format_(format) {}

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
  // This value ends at position j = count + 1, which starts a block every
  // 16th time (delta 0, a new base).
  const size_t j = keys_.size() + 1;
  const uint64_t end = values_bytes_ + value.size();
  const bool block_start = j % kSnapshotBlockKeys == 0;
  const uint64_t delta = block_start ? 0 : end - bases_.back();
  if (delta > UINT32_MAX) {
    // Unreachable while values are at most 256 MiB: 15 of them stay under 4 GiB.
    const size_t first = j / kSnapshotBlockKeys * kSnapshotBlockKeys;
    return Status::InvalidArgument("snapshot: the values of entries " + std::to_string(first) + ".." +
                                   std::to_string(j - 1) + " total " + std::to_string(delta) +
                                   " bytes, more than a u32 position delta holds");
  }
  if (block_start) bases_.push_back(end);
  deltas_.push_back(static_cast<uint32_t>(delta));
  keys_.push_back(key);
  offsets_.push_back(offset);
  values_bytes_ = end;
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
  f.crc_keys = ExtendCrc(0, AsBytes(keys_));
  f.crc_offsets = ExtendCrc(0, AsBytes(offsets_));
  // The positions section: u64 positions (v1), or bases, deltas and padding
  // to a multiple of 8 (v2), one checksum over all of it.
  std::vector<uint64_t> positions64;
  std::vector<std::span<const char>> positions;
  if (format_ == SnapshotFormat::kV1) {
    positions64.reserve(deltas_.size());
    for (size_t i = 0; i < deltas_.size(); ++i) positions64.push_back(bases_[i / kSnapshotBlockKeys] + deltas_[i]);
    positions.push_back(AsBytes(positions64));
  } else {
    positions = {AsBytes(bases_), AsBytes(deltas_), {zeros, deltas_.size() % 2 * 4}};
  }
  for (std::span<const char> part : positions) f.crc_positions = ExtendCrc(f.crc_positions, part);
  KYRODB_RETURN_IF_ERROR(Flush());
  KYRODB_RETURN_IF_ERROR(file_->Append(AsBytes(keys_)));
  KYRODB_RETURN_IF_ERROR(file_->Append(AsBytes(offsets_)));
  for (std::span<const char> part : positions) KYRODB_RETURN_IF_ERROR(file_->Append(part));
  KYRODB_RETURN_IF_ERROR(file_->Append(EncodeFooter(static_cast<uint32_t>(format_), f)));
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
  file->PreferHugePages();
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
  const uint32_t version = DecodeFixed32(f + 8);
  if (version < kSnapshotOldestVersion || version > kSnapshotVersion) {
    return bad("unsupported format version " + std::to_string(version));
  }
  const bool v1 = version == 1;
  Footer ft;
  ft.count = DecodeFixed64(f + 16);
  ft.last_offset = DecodeFixed64(f + 24);
  ft.values_bytes = DecodeFixed64(f + 32);
  ft.created_unix_ms = static_cast<int64_t>(DecodeFixed64(f + 40));
  ft.crc_values = DecodeFixed32(f + 48);
  ft.crc_keys = DecodeFixed32(f + 52);
  ft.crc_offsets = DecodeFixed32(f + 56);
  ft.crc_positions = DecodeFixed32(f + 60);

  // Bound every size before any arithmetic can overflow: n is at most the
  // arrays' bytes over a key's least cost (24 in v1, 20 in v2), so no product
  // below can wrap whatever the footer says.
  const uint64_t body = size - kSnapshotFooterSize;
  if (ft.values_bytes % 8 != 0 || ft.values_bytes > body) return bad("values section size is invalid");
  const uint64_t arrays = body - ft.values_bytes;
  const uint64_t count = ft.count;
  const bool sizes_match = v1 ? count <= arrays / 24 && arrays - 24 * count == 8
                              : count <= arrays / 20 && arrays - 16 * count == PositionsBytesV2(count);
  if (!sizes_match) return bad("section sizes do not match the key count " + std::to_string(ft.count));
  const size_t n = ft.count;
  const size_t blocks = n / kSnapshotBlockKeys + 1;  // v2 bases
  const char* keys = base + ft.values_bytes;
  const char* offsets = keys + n * 8;
  const char* positions = offsets + n * 8;
  const char* deltas = positions + blocks * 8;  // v2
  const uint64_t deltas_bytes = (n + 1) * 4;
  const uint64_t positions_bytes = v1 ? (n + 1) * 8 : PositionsBytesV2(n);
  if (reinterpret_cast<uintptr_t>(keys) % alignof(uint64_t) != 0) return bad("key array is misaligned");

  auto snap = std::shared_ptr<Snapshot>(new Snapshot());
  snap->keys_ = reinterpret_cast<const uint64_t*>(keys);
  snap->offsets_ = reinterpret_cast<const uint64_t*>(offsets);
  if (v1) {
    snap->positions64_ = reinterpret_cast<const uint64_t*>(positions);
  } else {
    snap->bases_ = reinterpret_cast<const uint64_t*>(positions);
    snap->deltas_ = reinterpret_cast<const uint32_t*>(deltas);
  }
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
                              {positions, positions_bytes, ft.crc_positions, "positions"}};
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
  // A multiple of the block size, so every range starts a block.
  constexpr size_t kRuleChunkKeys = 1u << 20;
  static_assert(kRuleChunkKeys % kSnapshotBlockKeys == 0);
  struct RuleChunk {
    size_t failed_at = SIZE_MAX;
    const char* rule = nullptr;
  };
  std::vector<RuleChunk> rule_chunks((n + kRuleChunkKeys - 1) / kRuleChunkKeys);
  const Snapshot& view = *snap;
  // Position j, or the rule it breaks. In v2 a block start must have delta 0
  // and a base inside the values section, checked before any base is added
  // to: base + delta is then at most the file size plus 2^32 and cannot wrap.
  auto position = [&](size_t j, uint64_t* pos) -> const char* {
    if (v1) {
      *pos = view.positions64_[j];
      return nullptr;
    }
    const uint64_t block_base = view.bases_[j / kSnapshotBlockKeys];
    if (j % kSnapshotBlockKeys == 0) {
      if (block_base > ft.values_bytes) return "value position base runs past the values section at index ";
      if (view.deltas_[j] != 0) return "value position delta is not zero at block start, index ";
    }
    *pos = block_base + view.deltas_[j];
    return nullptr;
  };
  auto check_rules = [&](size_t c) {
    const size_t begin = c * kRuleChunkKeys;
    const size_t end = std::min(n, begin + kRuleChunkKeys);
    // A failure here is also the previous range's (its last position), or
    // the first-position rule's for range 0, so it is never the one reported;
    // it only keeps this range from adding an unchecked base.
    uint64_t prev = 0;
    if (const char* rule = position(begin, &prev)) {
      rule_chunks[c] = {begin, rule};
      return;
    }
    for (size_t i = begin; i < end; ++i) {
      const char* rule = nullptr;
      size_t at = i;
      uint64_t next = 0;
      if (i > 0 && view.keys_[i] <= view.keys_[i - 1]) {
        rule = "keys out of order at index ";
      } else if ((rule = position(i + 1, &next)) != nullptr) {
        at = i + 1;
      } else if (next < prev) {
        rule = "value positions decrease at index ";
      } else if (view.offsets_[i] == 0 || view.offsets_[i] > ft.last_offset) {
        rule = "write offset out of range at index ";
      }
      if (rule != nullptr) {
        rule_chunks[c] = {at, rule};
        return;
      }
      prev = next;
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
  if (!v1) {
    if (std::any_of(deltas + deltas_bytes, f, [](char b) { return b != 0; })) {
      return bad("positions padding is not zero");
    }
  }
  const bool first_is_zero = v1 ? view.positions64_[0] == 0 : view.bases_[0] == 0 && view.deltas_[0] == 0;
  if (!first_is_zero) return bad("first value position is not 0");
  for (const RuleChunk& c : rule_chunks) {
    if (c.rule != nullptr) return bad(c.rule + std::to_string(c.failed_at));
  }
  uint64_t last = 0;
  if (position(n, &last) != nullptr || last > ft.values_bytes) {
    return bad("value positions run past the values section");
  }

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
