#include "engine/snapshot.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace kyrodb
