// ReadLog and Subscribe: the change stream a follower or cache consumes.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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
