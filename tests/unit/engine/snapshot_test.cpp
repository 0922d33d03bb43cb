#include "engine/snapshot.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <functional>
#include <random>

#include "engine/parallel.h"
#include "util/coding.h"
#include "util/crc32c.h"

#include "test_util.h"

namespace kyrodb {
namespace {

using test::ReadAll;
using test::ScratchDir;
using test::WriteAll;

using Kvs = std::vector<std::pair<uint64_t, std::string>>;

std::string WriteSnapshot(const ScratchDir& dir, const Kvs& kv, uint64_t last_offset,
                          SnapshotFormat format = SnapshotFormat::kV2) {
  SnapshotWriter w(PosixFileSystem(), dir.path(), format);
  EXPECT_TRUE(w.Begin().ok());
  uint64_t offset = 1;
  for (const auto& [k, v] : kv) EXPECT_TRUE(w.Add(k, offset++, v).ok());
  uint64_t bytes = 0;
  EXPECT_TRUE(w.Finish(last_offset, &bytes).ok());
  EXPECT_EQ(bytes, ReadAll(SnapshotWriter::FinalPath(dir.path())).size());
  return SnapshotWriter::FinalPath(dir.path());
}

uint64_t RoundUp8(uint64_t x) { return (x + 7) / 8 * 8; }

// The exact file size each version gives n keys and `values` value bytes.
uint64_t SizeV1(uint64_t values, uint64_t n) { return RoundUp8(values) + 24 * n + 8 + kSnapshotFooterSize; }
uint64_t SizeV2(uint64_t values, uint64_t n) {
  return RoundUp8(values) + 16 * n + 8 * ((n >> 4) + 1) + RoundUp8(4 * (n + 1)) + kSnapshotFooterSize;
}

// n keys 3i + 1 (none at 0, so a test can move one down), offsets i + 1,
// values of 0 to 22 bytes, every fifth one empty.
Kvs MakeKvs(size_t n) {
  Kvs kv;
  for (size_t i = 0; i < n; ++i) {
    kv.emplace_back(3 * i + 1, i % 5 == 0 ? std::string() : std::string(i % 23, static_cast<char>('a' + i % 26)));
  }
  return kv;
}

uint64_t ValueBytes(const Kvs& kv) {
  uint64_t bytes = 0;
  for (const auto& [k, v] : kv) bytes += v.size();
  return bytes;
}

// Byte offsets of a version-2 file's sections, from its footer.
struct V2Layout {
  explicit V2Layout(const std::string& file) {
    const char* f = file.data() + file.size() - kSnapshotFooterSize;
    n = DecodeFixed64(f + 16);
    values = DecodeFixed64(f + 32);
    keys = values;
    offsets = keys + 8 * n;
    bases = offsets + 8 * n;
    deltas = bases + 8 * ((n >> 4) + 1);
    padding = deltas + 4 * (n + 1);
    footer = file.size() - kSnapshotFooterSize;
  }
  uint64_t base(const std::string& file, size_t b) const { return DecodeFixed64(file.data() + bases + 8 * b); }
  uint32_t delta(const std::string& file, size_t i) const { return DecodeFixed32(file.data() + deltas + 4 * i); }
  void set_base(std::string* file, size_t b, uint64_t v) const { EncodeFixed64(file->data() + bases + 8 * b, v); }
  void set_delta(std::string* file, size_t i, uint32_t v) const { EncodeFixed32(file->data() + deltas + 4 * i, v); }
  uint64_t position(const std::string& file, size_t i) const { return base(file, i >> 4) + delta(file, i); }

  uint64_t n, values, keys, offsets, bases, deltas, padding, footer;
};

void SealFooter(std::string* file) {
  char* f = file->data() + file->size() - kSnapshotFooterSize;
  EncodeFixed32(f + 72, crc32c::Value(f, 72));
}

// Recomputes every section checksum (the positions section runs from the
// offsets to the footer in both versions) and then the footer's, so that what
// rejects an edited file is the rule behind the checksums. The footer's count
// and values_bytes must fit the file.
void Reseal(std::string* file) {
  const char* b = file->data();
  char* f = file->data() + file->size() - kSnapshotFooterSize;
  const uint64_t n = DecodeFixed64(f + 16);
  const uint64_t values = DecodeFixed64(f + 32);
  const char* positions = b + values + 16 * n;
  EncodeFixed32(f + 48, crc32c::Value(b, values));
  EncodeFixed32(f + 52, crc32c::Value(b + values, 8 * n));
  EncodeFixed32(f + 56, crc32c::Value(b + values + 8 * n, 8 * n));
  EncodeFixed32(f + 60, crc32c::Value(positions, static_cast<size_t>(f - positions)));
  SealFooter(file);
}

// Opens `bytes` written to `path`; the status, with the snapshot dropped.
Status OpenBytes(const std::string& path, const std::string& bytes) {
  WriteAll(path, bytes);
  std::shared_ptr<const Snapshot> snap;
  return Snapshot::Open(PosixFileSystem(), path, &snap);
}

void ExpectRejected(const std::string& path, const std::string& bytes, const std::string& why) {
  const Status s = OpenBytes(path, bytes);
  EXPECT_TRUE(s.IsCorruption()) << why << ": " << s.ToString();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
}

TEST(Snapshot, RoundTripInPlace) {
  ScratchDir dir;
  std::vector<std::pair<uint64_t, std::string>> kv = {
      {0, ""}, {7, "seven"}, {1u << 20, std::string(3000, 'x')}, {~uint64_t{0}, std::string("\0\1", 2)}};
  const std::string path = WriteSnapshot(dir, kv, 10);
  std::shared_ptr<const Snapshot> snap;
  ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).ok());
  ASSERT_EQ(snap->count(), kv.size());
  EXPECT_EQ(snap->last_offset(), 10u);
  for (size_t i = 0; i < kv.size(); ++i) {
    EXPECT_EQ(snap->key_at(i), kv[i].first);
    EXPECT_EQ(snap->value_at(i), kv[i].second);
    EXPECT_EQ(snap->offset_at(i), i + 1);
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(snap->keys().data()) % 8, 0u);
  bool tmp_exists = true;
  ASSERT_TRUE(PosixFileSystem()->FileExists(SnapshotWriter::TempPath(dir.path()), &tmp_exists).ok());
  EXPECT_FALSE(tmp_exists);
}

TEST(Snapshot, EmptySnapshotIsValid) {
  ScratchDir dir;
  const std::string path = WriteSnapshot(dir, {}, 0);
  std::shared_ptr<const Snapshot> snap;
  ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).ok());
  EXPECT_EQ(snap->count(), 0u);
}

TEST(Snapshot, V2RoundTripsAcrossBlockBoundaries) {
  for (size_t n : {0u, 1u, 2u, 15u, 16u, 17u, 31u, 32u, 33u, 100u}) {
    for (bool empty_values : {false, true}) {
      ScratchDir dir;
      Kvs kv = MakeKvs(n);
      if (empty_values) {
        for (auto& [k, v] : kv) v.clear();
      }
      const std::string path = WriteSnapshot(dir, kv, n + 5);
      EXPECT_EQ(ReadAll(path).size(), SizeV2(ValueBytes(kv), n)) << n;
      std::shared_ptr<const Snapshot> snap;
      const Status s = Snapshot::Open(PosixFileSystem(), path, &snap);
      ASSERT_TRUE(s.ok()) << n << " " << s.ToString();
      EXPECT_EQ(snap->format_version(), 2u);
      ASSERT_EQ(snap->count(), n);
      EXPECT_EQ(snap->last_offset(), n + 5);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(snap->key_at(i), kv[i].first) << n << " " << i;
        EXPECT_EQ(snap->offset_at(i), i + 1) << n << " " << i;
        EXPECT_EQ(snap->value_at(i), kv[i].second) << n << " " << i;
      }
    }
  }
}

TEST(Snapshot, TouchAndPrefetchOfAnEntryStayInsideTheFile) {
  // An index's guess may be anywhere; an unclamped touch this far past the
  // arrays would fault.
  Snapshot::Empty()->TouchEntry(0);
  Snapshot::Empty()->TouchEntry(size_t{1} << 40);
  for (SnapshotFormat format : {SnapshotFormat::kV1, SnapshotFormat::kV2}) {
    for (size_t n : {0u, 1u, 17u}) {
      ScratchDir dir;
      std::shared_ptr<const Snapshot> snap;
      ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), WriteSnapshot(dir, MakeKvs(n), n, format), &snap).ok());
      for (size_t i : {size_t{0}, n, n + 1, size_t{1} << 30, size_t{1} << 40, ~size_t{0}}) {
        snap->TouchEntry(i);
        snap->PrefetchEntry(i);
      }
      for (size_t i = 0; i < n; ++i) snap->TouchEntry(i);
    }
  }
}

TEST(Snapshot, Version1FilesStillOpenAndReadTheSame) {
  for (size_t n : {0u, 1u, 16u, 17u, 33u}) {
    ScratchDir dir1, dir2;
    const Kvs kv = MakeKvs(n);
    const std::string path1 = WriteSnapshot(dir1, kv, n, SnapshotFormat::kV1);
    const std::string path2 = WriteSnapshot(dir2, kv, n);
    EXPECT_EQ(ReadAll(path1).size(), SizeV1(ValueBytes(kv), n));
    EXPECT_EQ(DecodeFixed32(ReadAll(path1).data() + ReadAll(path1).size() - kSnapshotFooterSize + 8), 1u);
    std::shared_ptr<const Snapshot> v1, v2;
    ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path1, &v1).ok());
    ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path2, &v2).ok());
    EXPECT_EQ(v1->format_version(), 1u);
    EXPECT_EQ(v2->format_version(), 2u);
    ASSERT_EQ(v1->count(), v2->count());
    EXPECT_EQ(v1->last_offset(), v2->last_offset());
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(v1->key_at(i), v2->key_at(i));
      EXPECT_EQ(v1->offset_at(i), v2->offset_at(i));
      EXPECT_EQ(v1->value_at(i), kv[i].second);
      EXPECT_EQ(v2->value_at(i), kv[i].second);
    }
  }
}

TEST(Snapshot, AStoreOpensAVersion1DirectoryAndItsNextCheckpointWritesVersion2) {
  ScratchDir dir;
  const std::string path = SnapshotWriter::FinalPath(dir.path());
  {
    auto store = test::OpenStore(test::TestOptions(dir.path()));
    for (uint64_t k = 1; k <= 40; ++k) ASSERT_TRUE(test::PutSync(*store, k, std::string(k % 7, 'x')).status.ok());
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
  }
  {  // Rewrite the same entries as version 1, as an older build left them.
    std::shared_ptr<const Snapshot> v2;
    ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &v2).ok());
    SnapshotWriter w(PosixFileSystem(), dir.path(), SnapshotFormat::kV1);
    ASSERT_TRUE(w.Begin().ok());
    for (size_t i = 0; i < v2->count(); ++i) ASSERT_TRUE(w.Add(v2->key_at(i), v2->offset_at(i), v2->value_at(i)).ok());
    uint64_t bytes = 0;
    ASSERT_TRUE(w.Finish(v2->last_offset(), &bytes).ok());
  }
  std::shared_ptr<const Snapshot> snap;
  ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).ok());
  ASSERT_EQ(snap->format_version(), 1u);
  {
    auto store = test::OpenStore(test::TestOptions(dir.path()));
    for (uint64_t k = 1; k <= 40; ++k) EXPECT_EQ(test::GetOr(*store, k), std::string(k % 7, 'x')) << k;
    ASSERT_TRUE(test::PutSync(*store, 41, "new").status.ok());
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
  }
  ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).ok());
  EXPECT_EQ(snap->format_version(), 2u);
  EXPECT_EQ(snap->count(), 41u);
  auto store = test::OpenStore(test::TestOptions(dir.path()));
  for (uint64_t k = 1; k <= 40; ++k) EXPECT_EQ(test::GetOr(*store, k), std::string(k % 7, 'x')) << k;
  EXPECT_EQ(test::GetOr(*store, 41), "new");
}

TEST(Snapshot, EveryFlippedByteAndEveryTruncationIsRejected) {
  for (SnapshotFormat format : {SnapshotFormat::kV1, SnapshotFormat::kV2}) {
    ScratchDir dir;
    // 4 keys: v2 has 4 bytes of padding after the 5 deltas.
    const std::string path = WriteSnapshot(dir, {{1, "a"}, {2, "bb"}, {40, "cccc"}, {41, ""}}, 4, format);
    const std::string good = ReadAll(path);
    std::shared_ptr<const Snapshot> snap;
    for (size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      WriteAll(path, bad);
      Status s = Snapshot::Open(PosixFileSystem(), path, &snap);
      // The padding bytes after the values are covered by the values checksum,
      // those after the deltas by the positions checksum, and the footer's
      // reserved words by the footer checksum: nothing is exempt.
      EXPECT_TRUE(s.IsCorruption()) << "flip at byte " << i;
      EXPECT_NE(s.message().find(path), std::string::npos);
    }
    for (size_t len = 0; len < good.size(); ++len) {
      WriteAll(path, good.substr(0, len));
      EXPECT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).IsCorruption()) << "length " << len;
    }
    WriteAll(path, good + "x");
    EXPECT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).IsCorruption());
  }
}

TEST(Snapshot, V2RuleViolationsAreRejectedBehindValidChecksums) {
  // 34 keys: three blocks (bases at positions 0, 16 and 32) and, with 35
  // deltas, 4 bytes of padding. Every edit below is resealed, so the rule
  // named in the message is what rejects it.
  ScratchDir dir;
  Kvs kv = MakeKvs(34);
  for (auto& [k, v] : kv) v += "v";  // every value non-empty: deltas grow within a block
  const std::string path = WriteSnapshot(dir, kv, 34);
  const std::string good = ReadAll(path);
  const V2Layout l(good);
  ASSERT_EQ(l.n, 34u);
  ASSERT_EQ(l.footer - l.padding, 4u);
  {
    std::string same = good;
    Reseal(&same);
    ASSERT_EQ(same, good);  // the helper reproduces the writer's checksums
  }
  struct Case {
    const char* what;
    std::function<void(std::string*)> edit;
  };
  const uint64_t values = l.values;
  const Case cases[] = {
      {"value position delta is not zero at block start, index 16", [&](std::string* f) { l.set_delta(f, 16, 1); }},
      {"value position delta is not zero at block start, index 32",
       [&](std::string* f) { l.set_delta(f, 32, l.delta(*f, 33)); }},
      {"value position base runs past the values section at index 16",
       [&](std::string* f) { l.set_base(f, 1, values + 8); }},
      // A base that would wrap when a delta is added: caught before the add.
      {"value position base runs past the values section at index 32",
       [&](std::string* f) {
         l.set_base(f, 2, ~uint64_t{0} - 3);
         l.set_delta(f, 33, 10);
       }},
      {"value positions decrease at index 4", [&](std::string* f) { l.set_delta(f, 5, l.delta(*f, 4) - 1); }},
      {"value positions decrease at index 15",
       [&](std::string* f) { l.set_base(f, 1, l.position(*f, 15) - 1); }},
      {"value positions decrease at index 33",
       [&](std::string* f) { l.set_delta(f, 34, 0); }},
      {"first value position is not 0", [&](std::string* f) { l.set_delta(f, 0, 1); }},
      {"first value position is not 0", [&](std::string* f) { l.set_base(f, 0, 8); }},
      {"value positions run past the values section",
       [&](std::string* f) { l.set_delta(f, 34, static_cast<uint32_t>(values - l.base(*f, 2) + 1)); }},
      {"positions padding is not zero", [&](std::string* f) { (*f)[l.padding + 3] = 1; }},
      {"keys out of order at index 10",
       [&](std::string* f) { EncodeFixed64(f->data() + l.keys + 80, kv[9].first); }},
      {"write offset out of range at index 3", [&](std::string* f) { EncodeFixed64(f->data() + l.offsets + 24, 0); }},
      {"unsupported format version 3", [&](std::string* f) { EncodeFixed32(f->data() + l.footer + 8, 3); }},
      {"unsupported format version 0", [&](std::string* f) { EncodeFixed32(f->data() + l.footer + 8, 0); }},
  };
  for (const Case& c : cases) {
    std::string bad = good;
    c.edit(&bad);
    Reseal(&bad);
    ExpectRejected(path, bad, c.what);
  }
}

TEST(Snapshot, WrongSizesAndHostileCountsAreRejected) {
  ScratchDir dir;
  const std::string path = WriteSnapshot(dir, MakeKvs(34), 34);
  const std::string good = ReadAll(path);
  const V2Layout l(good);
  const std::string sizes = "section sizes do not match the key count";
  auto footer_edit = [&](std::string bytes, size_t at, uint64_t value, bool wide) {
    char* f = bytes.data() + bytes.size() - kSnapshotFooterSize;
    if (wide) {
      EncodeFixed64(f + at, value);
    } else {
      EncodeFixed32(f + at, static_cast<uint32_t>(value));
    }
    SealFooter(&bytes);
    return bytes;
  };
  // Eight more bytes of positions, or the padding dropped.
  std::string longer = good;
  longer.insert(l.footer, 8, '\0');
  SealFooter(&longer);
  ExpectRejected(path, longer, sizes);
  std::string shorter = good;
  shorter.erase(l.padding, 4);
  SealFooter(&shorter);
  ExpectRejected(path, shorter, sizes);
  // Counts one off, and counts whose sizes would wrap a u64 if multiplied
  // before they were bounded.
  for (uint64_t count : {uint64_t{33}, uint64_t{35}, uint64_t{1} << 59, uint64_t{1} << 60, uint64_t{1} << 62,
                         (~uint64_t{0}) / 16, (~uint64_t{0}) / 20, ~uint64_t{0}}) {
    ExpectRejected(path, footer_edit(good, 16, count, true), sizes);
  }
  // The other version's layout for the same bytes.
  ExpectRejected(path, footer_edit(good, 8, 1, false), sizes);
  ScratchDir dir1;
  const std::string v1 = ReadAll(WriteSnapshot(dir1, MakeKvs(34), 34, SnapshotFormat::kV1));
  ExpectRejected(path, footer_edit(v1, 8, 2, false), sizes);
  for (uint64_t count : {uint64_t{1} << 61, (~uint64_t{0}) / 24, ~uint64_t{0}}) {
    ExpectRejected(path, footer_edit(v1, 16, count, true), sizes);
  }
}

TEST(SnapshotWriter, RefusesAPositionDeltaPastU32) {
  // Values are at most 256 MiB, so this cannot happen through the store; the
  // writer must still refuse it, before reading a byte of the value: the
  // 4 GiB below is address space that is never touched.
  const size_t big = size_t{1} << 32;
  void* mem = ::mmap(nullptr, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) GTEST_SKIP() << "cannot reserve 4 GiB of address space";
  ScratchDir dir;
  SnapshotWriter w(PosixFileSystem(), dir.path());
  ASSERT_TRUE(w.Begin().ok());
  ASSERT_TRUE(w.Add(1, 1, "a").ok());
  // 1 + (2^32 - 1) bytes since the block start at position 0.
  const Status s = w.Add(2, 2, std::string_view(static_cast<const char*>(mem), big - 1));
  ::munmap(mem, big);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("more than a u32 position delta holds"), std::string::npos) << s.message();
  // Nothing of the refused entry was added.
  ASSERT_TRUE(w.Add(2, 2, "b").ok());
  uint64_t bytes = 0;
  ASSERT_TRUE(w.Finish(2, &bytes).ok());
  std::shared_ptr<const Snapshot> snap;
  ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), SnapshotWriter::FinalPath(dir.path()), &snap).ok());
  ASSERT_EQ(snap->count(), 2u);
  EXPECT_EQ(snap->value_at(1), "b");
}

TEST(ParallelCrc, CombineMatchesOneSerialPass) {
  std::mt19937_64 rng(7);
  std::string data(100000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const uint32_t whole = crc32c::Value(data);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{4095}, size_t{50000}, data.size() - 1,
                     data.size()}) {
    const uint32_t a = crc32c::Value(data.data(), cut);
    const uint32_t b = crc32c::Value(data.data() + cut, data.size() - cut);
    EXPECT_EQ(Crc32cCombine(a, b, data.size() - cut), whole) << "cut at " << cut;
  }
}

TEST(ParallelCrc, ChunkedEqualsSerialAcrossChunkBoundaries) {
  // 8 MiB chunks: cover one chunk, a chunk and a byte, and several with a tail.
  std::mt19937_64 rng(8);
  std::string data((3u << 23) + 13, '\0');
  for (size_t i = 0; i < data.size(); i += 8) EncodeFixed64(data.data() + std::min(i, data.size() - 8), rng());
  for (size_t n : {size_t{0}, size_t{5}, size_t{1} << 23, (size_t{1} << 23) + 1, data.size()}) {
    for (size_t threads : {size_t{1}, size_t{2}, size_t{5}}) {
      EXPECT_EQ(ParallelCrc32c(data.data(), n, threads), crc32c::Value(data.data(), n)) << n << " " << threads;
    }
  }
}

TEST(ParallelFor, RunsEveryTaskOnce) {
  for (size_t threads : {size_t{0}, size_t{1}, size_t{3}, size_t{64}}) {
    std::vector<std::atomic<int>> hits(1000);
    ParallelFor(hits.size(), threads, [&](size_t i) { hits[i].fetch_add(1); });
    for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
  ParallelFor(0, 4, [](size_t) { FAIL(); });
}

// Writes keys 1, 6, 11, ... (n of them) with offsets 1..n and the value
// "0123456789" each; returns the installed file's path.
std::string WriteTenByteValues(const ScratchDir& dir, size_t n, SnapshotFormat format) {
  SnapshotWriter w(PosixFileSystem(), dir.path(), format);
  EXPECT_TRUE(w.Begin().ok());
  for (size_t i = 0; i < n; ++i) EXPECT_TRUE(w.Add(i * 5 + 1, i + 1, "0123456789").ok());
  uint64_t bytes = 0;
  EXPECT_TRUE(w.Finish(n, &bytes).ok());
  return SnapshotWriter::FinalPath(dir.path());
}

TEST(Snapshot, LargeFileIsCheckedInChunksAndDamageInAnyChunkIsFound) {
  // More than one checksum chunk (8 MiB) per section and more than one rule
  // chunk (2^20 positions): the chunked, parallel check must still see a
  // flipped byte anywhere and name the section it is in.
  const size_t n = (size_t{1} << 20) + 300;
  const uint64_t values = ((n * 10) + 7) / 8 * 8;
  for (SnapshotFormat format : {SnapshotFormat::kV1, SnapshotFormat::kV2}) {
    ScratchDir dir;
    const std::string path = WriteTenByteValues(dir, n, format);
    const std::string good = ReadAll(path);
    ASSERT_EQ(good.size(), format == SnapshotFormat::kV1 ? SizeV1(n * 10, n) : SizeV2(n * 10, n));
    std::shared_ptr<const Snapshot> snap;
    ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).ok());
    ASSERT_EQ(snap->count(), n);
    EXPECT_EQ(snap->key_at(n - 1), (n - 1) * 5 + 1);
    EXPECT_EQ(snap->value_at(n - 1), "0123456789");
    EXPECT_EQ(snap->value_at(size_t{1} << 20), "0123456789");
    snap.reset();

    struct Flip {
      uint64_t at;
      const char* section;
    };
    // Into the u64 positions (v1) or the bases, then (v2) into the deltas.
    const uint64_t positions = values + 16 * n;
    const uint64_t deltas = positions + 8 * ((n >> 4) + 1);
    for (const Flip f : {Flip{3, "values"}, Flip{(8u << 20) + 5, "values"}, Flip{values - 1, "values"},
                         Flip{values + 8 * n - 3, "keys"}, Flip{values + 8 * n + (8u << 20) + 1, "offsets"},
                         Flip{positions + 7, "positions"},
                         Flip{format == SnapshotFormat::kV1 ? good.size() - kSnapshotFooterSize - 1 : deltas + 4 * n,
                              "positions"}}) {
      std::string bad = good;
      bad[f.at] ^= 0x10;
      WriteAll(path, bad);
      const Status s = Snapshot::Open(PosixFileSystem(), path, &snap);
      ASSERT_TRUE(s.IsCorruption()) << f.at;
      EXPECT_NE(s.message().find(std::string(f.section) + " checksum mismatch"), std::string::npos) << s.message();
    }
  }
}

TEST(Snapshot, RuleFailuresAcrossChunksAreReportedAsOneSerialPassWould) {
  // Rules are checked in ranges of 2^20 positions in parallel; the message
  // must name the lowest failing index whichever range finishes first, and a
  // block starting exactly at a range boundary is checked by both ranges.
  const size_t n = (size_t{1} << 20) + 300;
  ScratchDir dir;
  const std::string path = WriteTenByteValues(dir, n, SnapshotFormat::kV2);
  const std::string good = ReadAll(path);
  const V2Layout l(good);
  // Position i + 1 below position i (neither a block start): "decrease at index i".
  auto decrease_at = [&](std::string* f, size_t i) { l.set_delta(f, i + 1, l.delta(*f, i) - 1); };
  const size_t boundary = size_t{1} << 20;
  {
    std::string bad = good;
    decrease_at(&bad, boundary + 200);
    decrease_at(&bad, boundary + 37);
    Reseal(&bad);
    ExpectRejected(path, bad, "value positions decrease at index " + std::to_string(boundary + 37));
    decrease_at(&bad, boundary - 50);
    Reseal(&bad);
    ExpectRejected(path, bad, "value positions decrease at index " + std::to_string(boundary - 50));
  }
  {
    std::string bad = good;
    l.set_base(&bad, boundary / 16, l.values + 8);
    Reseal(&bad);
    ExpectRejected(path, bad, "value position base runs past the values section at index " + std::to_string(boundary));
  }
  {
    std::string bad = good;
    l.set_delta(&bad, boundary, 3);
    Reseal(&bad);
    ExpectRejected(path, bad,
                   "value position delta is not zero at block start, index " + std::to_string(boundary));
  }
}

}  // namespace
}  // namespace kyrodb
