// ReadLog and Subscribe: the change stream a follower or cache consumes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/wal_format.h"
#include "test_util.h"

namespace kyrodb {
namespace {

using test::DeleteSync;
using test::OpenStore;
using test::PutSync;
using test::ScratchDir;
using test::TestOptions;
using test::WriteSync;

TEST(ReadLog, ReturnsRangeAcrossSegmentsAndRestartThenReportsCompaction) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.wal_segment_bytes = 4096;
  {
    auto store = OpenStore(o);
    for (uint64_t k = 1; k <= 100; ++k) ASSERT_TRUE(PutSync(*store, k, std::string(60, 'a')).status.ok());
  }
  auto store = OpenStore(o);
  ASSERT_TRUE(DeleteSync(*store, 7).status.ok());  // offset 101
  std::vector<LogEntry> out;
  uint64_t first = 0;
  ASSERT_TRUE(store->ReadLog(90, 200, 1000, &out, &first).ok());
  EXPECT_EQ(first, 1u);
  ASSERT_EQ(out.size(), 12u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].offset, 90 + i);
  EXPECT_EQ(out.back().type, WriteOp::Type::kDelete);
  EXPECT_EQ(out.back().key, 7u);
  ASSERT_TRUE(store->ReadLog(1, 200, 5, &out, &first).ok());
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[4].offset, 5u);

  CheckpointInfo info;
  ASSERT_TRUE(store->Checkpoint(&info).ok());
  ASSERT_TRUE(PutSync(*store, 500, "after").status.ok());  // offset 102
  ASSERT_TRUE(store->ReadLog(1, 200, 1000, &out, &first).ok());
  EXPECT_EQ(first, 102u);  // everything older now lives only in the snapshot
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, "after");
}

// Flips a byte inside the first record of segment `seq`, which recovery
// already accepted: only a ReadLog that opens the segment can notice.
void DamageFirstRecord(const ScratchDir& dir, uint64_t seq) {
  const std::string path = dir.file(wal::SegmentName(seq));
  std::string bytes = test::ReadAll(path);
  ASSERT_GT(bytes.size(), wal::kSegmentHeaderSize + 20);
  bytes[wal::kSegmentHeaderSize + 12] ^= 0x20;
  test::WriteAll(path, bytes);
}

uint64_t NewestSegment(const ScratchDir& dir) {
  uint64_t newest = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    uint64_t seq = 0;
    if (wal::ParseSegmentName(entry.path().filename().string(), &seq)) newest = std::max(newest, seq);
  }
  return newest;
}

TEST(ReadLog, StartsAtTheSegmentHoldingStartAndStopsAtTheLimit) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.wal_segment_bytes = 4096;  // ~45 puts of 60 bytes per segment
  auto store = OpenStore(o);
  for (uint64_t k = 1; k <= 400; ++k) ASSERT_TRUE(PutSync(*store, k, std::string(60, 'v')).status.ok());
  ASSERT_GT(store->Stats().wal_segments, 5u);
  // Damage the oldest segment and the one before the newest: a read that
  // starts after the first and stops before the second never opens either.
  const uint64_t late = NewestSegment(dir) - 1;
  DamageFirstRecord(dir, 1);
  DamageFirstRecord(dir, late);
  std::vector<LogEntry> out;
  uint64_t first = 0;
  ASSERT_TRUE(store->ReadLog(150, 1000, 20, &out, &first).ok());
  EXPECT_EQ(first, 1u);
  ASSERT_EQ(out.size(), 20u);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].offset, 150 + i);
  ASSERT_TRUE(store->ReadLog(150, 170, 1000, &out, &first).ok());
  ASSERT_EQ(out.size(), 20u);
  EXPECT_EQ(out.back().offset, 169u);
  // Reads that reach either damaged segment say so, naming the file.
  Status s = store->ReadLog(1, 1000, 10, &out, &first);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(wal::SegmentName(1)), std::string::npos) << s.message();
  s = store->ReadLog(150, 1000, 1000, &out, &first);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(wal::SegmentName(late)), std::string::npos) << s.message();
}

TEST(ReadLog, SeeksInSegmentsFoundByRecoveryAndInTheOneItStarted) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.wal_segment_bytes = 4096;
  {
    auto store = OpenStore(o);
    for (uint64_t k = 1; k <= 400; ++k) ASSERT_TRUE(PutSync(*store, k, std::string(60, 'v')).status.ok());
  }
  auto store = OpenStore(o);
  ASSERT_TRUE(PutSync(*store, 999, "new").status.ok());  // offset 401, in the segment recovery started
  DamageFirstRecord(dir, 1);
  std::vector<LogEntry> out;
  uint64_t first = 0;
  EXPECT_TRUE(store->ReadLog(2, 1000, 5, &out, &first).IsCorruption());  // segment 1 holds it
  for (uint64_t start : {60u, 61u, 62u, 200u, 399u, 400u, 401u, 402u}) {
    const Status s = store->ReadLog(start, 1000, 5, &out, &first);
    ASSERT_TRUE(s.ok()) << start << ": " << s.ToString();
    EXPECT_EQ(first, 1u);
    ASSERT_EQ(out.size(), std::min<uint64_t>(5, start <= 401 ? 402 - start : 0)) << start;
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].offset, start + i);
    if (!out.empty() && out.back().offset == 401) {
      EXPECT_EQ(out.back().value, "new");
    }
  }
}

TEST(Subscribe, DeliversEveryLaterWriteInOrderWithoutGapsAgainstReadLog) {
  ScratchDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  for (uint64_t k = 0; k < 10; ++k) ASSERT_TRUE(PutSync(*store, k, "old").status.ok());
  std::atomic<int> notified{0};
  auto sub = store->Subscribe(1 << 20, [&] { notified.fetch_add(1); });
  EXPECT_EQ(sub->first_offset(), 11u);
  // Writers racing the subscription: everything >= first_offset arrives live.
  std::thread writer([&] {
    for (uint64_t k = 0; k < 200; ++k) ASSERT_TRUE(PutSync(*store, 1000 + k, std::to_string(k)).status.ok());
    ASSERT_TRUE(WriteSync(*store, {{WriteOp::Type::kPut, 1, "b1"}, {WriteOp::Type::kPut, 2, "b2"}}).status.ok());
  });
  writer.join();
  std::vector<LogEntry> got;
  sub->Drain(&got);
  ASSERT_EQ(got.size(), 202u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].offset, sub->first_offset() + i);
  EXPECT_EQ(got.back().value, "b2");
  EXPECT_GT(notified.load(), 0);
  EXPECT_FALSE(sub->Dropped());
}

TEST(Subscribe, SlowSubscriberIsDroppedAndNeverBlocksWriters) {
  ScratchDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  auto slow = store->Subscribe(4096, [] {});
  for (uint64_t k = 0; k < 200; ++k) ASSERT_TRUE(PutSync(*store, k, std::string(100, 'x')).status.ok());
  EXPECT_TRUE(slow->Dropped());
  std::vector<LogEntry> got;
  slow->Drain(&got);
  EXPECT_TRUE(got.empty());
  slow.reset();  // unsubscribing after the drop is fine
  ASSERT_TRUE(PutSync(*store, 1, "y").status.ok());
}

}  // namespace
}  // namespace kyrodb
