#include "engine/snapshot.h"

#include <gtest/gtest.h>

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

std::string WriteSnapshot(const ScratchDir& dir, const std::vector<std::pair<uint64_t, std::string>>& kv,
                          uint64_t last_offset) {
  SnapshotWriter w(PosixFileSystem(), dir.path());
  EXPECT_TRUE(w.Begin().ok());
  uint64_t offset = 1;
  for (const auto& [k, v] : kv) EXPECT_TRUE(w.Add(k, offset++, v).ok());
  uint64_t bytes = 0;
  EXPECT_TRUE(w.Finish(last_offset, &bytes).ok());
  EXPECT_EQ(bytes, ReadAll(SnapshotWriter::FinalPath(dir.path())).size());
  return SnapshotWriter::FinalPath(dir.path());
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

TEST(Snapshot, EveryFlippedByteAndEveryTruncationIsRejected) {
  ScratchDir dir;
  const std::string path = WriteSnapshot(dir, {{1, "a"}, {2, "bb"}, {40, "cccc"}, {41, ""}}, 4);
  const std::string good = ReadAll(path);
  std::shared_ptr<const Snapshot> snap;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    WriteAll(path, bad);
    Status s = Snapshot::Open(PosixFileSystem(), path, &snap);
    // The padding bytes after the values are covered by the values checksum,
    // and the footer's reserved words by the footer checksum: nothing is exempt.
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

TEST(Snapshot, LargeFileIsCheckedInChunksAndDamageInAnyChunkIsFound) {
  // More than one checksum chunk (8 MiB) per section and more than one rule
  // chunk (2^20 positions): the chunked, parallel check must still see a
  // flipped byte anywhere and name the section it is in.
  ScratchDir dir;
  const size_t n = (size_t{1} << 20) + 300;
  SnapshotWriter w(PosixFileSystem(), dir.path());
  ASSERT_TRUE(w.Begin().ok());
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(w.Add(i * 5 + 1, i + 1, "0123456789").ok());
  uint64_t bytes = 0;
  ASSERT_TRUE(w.Finish(n, &bytes).ok());
  const std::string path = SnapshotWriter::FinalPath(dir.path());
  const std::string good = ReadAll(path);
  std::shared_ptr<const Snapshot> snap;
  ASSERT_TRUE(Snapshot::Open(PosixFileSystem(), path, &snap).ok());
  ASSERT_EQ(snap->count(), n);
  EXPECT_EQ(snap->key_at(n - 1), (n - 1) * 5 + 1);
  EXPECT_EQ(snap->value_at(n - 1), "0123456789");
  snap.reset();

  const uint64_t values = ((n * 10) + 7) / 8 * 8;
  struct Flip {
    uint64_t at;
    const char* section;
  };
  for (const Flip f : {Flip{3, "values"}, Flip{(8u << 20) + 5, "values"}, Flip{values - 1, "values"},
                       Flip{values + 8 * n - 3, "keys"}, Flip{values + 8 * n + (8u << 20) + 1, "offsets"},
                       Flip{values + 24 * n + 7, "positions"}}) {
    std::string bad = good;
    bad[f.at] ^= 0x10;
    WriteAll(path, bad);
    const Status s = Snapshot::Open(PosixFileSystem(), path, &snap);
    ASSERT_TRUE(s.IsCorruption()) << f.at;
    EXPECT_NE(s.message().find(std::string(f.section) + " checksum mismatch"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace kyrodb
