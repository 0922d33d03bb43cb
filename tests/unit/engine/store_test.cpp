#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <pthread.h>

#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "engine/wal_format.h"
#include "engine/wal_log.h"
#include "engine/wal_reader.h"
#include "kyrodb/verify.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "test_util.h"

namespace kyrodb {
namespace {

using test::DeleteSync;
using test::OpenStore;
using test::GetOr;
using test::PutSync;
using test::ScratchDir;
using test::TestOptions;
using test::WriteSync;

TEST(Store, PutGetOverwriteDeleteAndOffsets) {
  ScratchDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  EXPECT_EQ(store->LastOffset(), 0u);
  auto a = PutSync(*store, 1, "one");
  ASSERT_TRUE(a.status.ok());
  EXPECT_EQ(a.offset, 1u);
  auto b = PutSync(*store, 1, "uno");
  EXPECT_EQ(b.offset, 2u);
  EXPECT_EQ(GetOr(*store, 1), "uno");
  ValueRef v;
  ASSERT_TRUE(store->Get(1, &v).ok());
  EXPECT_EQ(v.offset, 2u);

  auto d = DeleteSync(*store, 1);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.offset, 3u);
  EXPECT_EQ(GetOr(*store, 1), "<absent>");
  // Deleting what is absent is NotFound and takes no offset.
  EXPECT_TRUE(DeleteSync(*store, 1).status.IsNotFound());
  EXPECT_TRUE(DeleteSync(*store, 99).status.IsNotFound());
  EXPECT_EQ(PutSync(*store, 2, "two").offset, 4u);
  EXPECT_EQ(store->LastOffset(), 4u);
}

TEST(WalPipeline, AutoPipelinesOnlyWithMoreThanTwoCpusAndOnlyPoliciesThatSync) {
  for (FsyncPolicy policy : {FsyncPolicy::kData, FsyncPolicy::kAlways}) {
    EXPECT_FALSE(UseWalPipeline(policy, WalPipeline::kAuto, 1));
    EXPECT_FALSE(UseWalPipeline(policy, WalPipeline::kAuto, 2));
    EXPECT_TRUE(UseWalPipeline(policy, WalPipeline::kAuto, 3));
    EXPECT_TRUE(UseWalPipeline(policy, WalPipeline::kOn, 1));
    EXPECT_FALSE(UseWalPipeline(policy, WalPipeline::kOff, 64));
  }
  for (FsyncPolicy policy : {FsyncPolicy::kInterval, FsyncPolicy::kNone}) {
    EXPECT_FALSE(UseWalPipeline(policy, WalPipeline::kOn, 64));
    EXPECT_FALSE(UseWalPipeline(policy, WalPipeline::kAuto, 64));
  }
  WalPipeline mode = WalPipeline::kOn;
  EXPECT_TRUE(ParseWalPipeline("off", &mode));
  EXPECT_EQ(mode, WalPipeline::kOff);
  EXPECT_FALSE(ParseWalPipeline("yes", &mode));
  EXPECT_EQ(WalPipelineName(WalPipeline::kAuto), "auto");
  EXPECT_GE(UsableCpus(), 1u);
}

// The setting really changes where acknowledgements come from: the completion
// thread when on, the WAL thread itself when off. Either way a write is
// visible to readers by the time its callback runs.
TEST(WalPipeline, CallbacksRunOnTheCompleterWhenOnAndOnTheWalThreadWhenOff) {
  for (WalPipeline mode : {WalPipeline::kOn, WalPipeline::kOff}) {
    ScratchDir dir;
    Options o = TestOptions(dir.path());
    o.wal_pipeline = mode;
    auto store = OpenStore(o);
    std::promise<std::pair<std::string, std::string>> seen;
    store->Put(7, "seven", [&](const Status& s, uint64_t) {
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof(name));
      seen.set_value({s.ToString() + " " + name, GetOr(*store, 7)});
    });
    auto [who, value] = seen.get_future().get();
    EXPECT_EQ(who, mode == WalPipeline::kOn ? "OK kyro-complete" : "OK kyro-wal") << WalPipelineName(mode);
    EXPECT_EQ(value, "seven");
  }
}

TEST(Store, ExtremeKeysAndEmptyAndBinaryValues) {
  ScratchDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  const std::string binary("\0\x01\xff\n\r", 5);
  ASSERT_TRUE(PutSync(*store, 0, "").status.ok());
  ASSERT_TRUE(PutSync(*store, ~uint64_t{0}, binary).status.ok());
  EXPECT_EQ(GetOr(*store, 0), "");
  EXPECT_EQ(GetOr(*store, ~uint64_t{0}), binary);
  CheckpointInfo info;
  ASSERT_TRUE(store->Checkpoint(&info).ok());
  EXPECT_EQ(GetOr(*store, 0), "");
  EXPECT_EQ(GetOr(*store, ~uint64_t{0}), binary);
}

TEST(Store, ValueLimitIsEnforcedBeforeWriting) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.max_value_bytes = 10;
  auto store = OpenStore(o);
  EXPECT_TRUE(PutSync(*store, 1, std::string(11, 'x')).status.IsInvalidArgument());
  EXPECT_TRUE(PutSync(*store, 1, std::string(10, 'x')).status.ok());
  EXPECT_EQ(store->LastOffset(), 1u);
}

TEST(Store, RecoversFromWalAloneAndAfterCheckpoints) {
  ScratchDir dir;
  std::map<uint64_t, std::string> expect;
  for (int round = 0; round < 4; ++round) {
    auto store = OpenStore(TestOptions(dir.path()));
    for (const auto& [k, v] : expect) ASSERT_EQ(GetOr(*store, k), v) << "round " << round << " key " << k;
    for (uint64_t k = 0; k < 200; ++k) {
      const uint64_t key = k * 7919 + static_cast<uint64_t>(round);
      std::string value = "r" + std::to_string(round) + "k" + std::to_string(k);
      ASSERT_TRUE(PutSync(*store, key, value).status.ok());
      expect[key] = value;
    }
    const uint64_t victim = expect.begin()->first;
    ASSERT_TRUE(DeleteSync(*store, victim).status.ok());
    expect.erase(victim);
    if (round % 2 == 1) {
      CheckpointInfo info;
      ASSERT_TRUE(store->Checkpoint(&info).ok());
      EXPECT_EQ(info.count, expect.size());
      EXPECT_EQ(info.offset, store->LastOffset());
    }
    store->Close();
  }
  auto store = OpenStore(TestOptions(dir.path()));
  for (const auto& [k, v] : expect) EXPECT_EQ(GetOr(*store, k), v);
  std::vector<ScanEntry> all;
  bool more = true;
  ASSERT_TRUE(store->Scan(0, ~uint64_t{0}, 1u << 20, &all, &more).ok());
  EXPECT_FALSE(more);
  ASSERT_EQ(all.size(), expect.size());
}

TEST(Store, RecoversWhatACrashLeavesWithZerosAheadAndTrimsThem) {
  // A copy of the directory taken while the store runs is what kill -9
  // leaves: the newest WAL segment ends in the zeros written ahead.
  ScratchDir dir;
  ScratchDir crashed;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    for (uint64_t k = 1; k <= 50; ++k) ASSERT_TRUE(PutSync(*store, k, "v" + std::to_string(k)).status.ok());
    std::vector<uint64_t> seqs;
    ASSERT_TRUE(wal::ListSegments(PosixFileSystem(), dir.path(), &seqs).ok());
    ASSERT_FALSE(seqs.empty());
    const std::string newest = wal::SegmentName(seqs.back());
    const std::string bytes = test::ReadAll(dir.path() + "/" + newest);
    ASSERT_EQ(bytes.back(), '\0') << "no zeros written ahead";
    for (uint64_t seq : seqs) {
      const std::string name = wal::SegmentName(seq);
      test::WriteAll(crashed.path() + "/" + name, test::ReadAll(dir.path() + "/" + name));
    }
    store->Close();
  }
  {
    // verify names the records of the open segment and the zeros after them.
    std::string report;
    ASSERT_TRUE(VerifyDataDir(crashed.path(), PosixFileSystem(), &report).ok()) << report;
    EXPECT_NE(report.find("50 records, offsets 1..50, then "), std::string::npos) << report;
    EXPECT_NE(report.find(" zero bytes written ahead"), std::string::npos) << report;
  }
  {
    auto store = OpenStore(TestOptions(crashed.path()));
    for (uint64_t k = 1; k <= 50; ++k) EXPECT_EQ(GetOr(*store, k), "v" + std::to_string(k));
    EXPECT_EQ(store->LastOffset(), 50u);
    store->Close();
  }
  // Recovery cut the zeros: every segment now ends at its last record.
  std::string verify_report;
  Status s = VerifyDataDir(crashed.path(), PosixFileSystem(), &verify_report);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << verify_report;
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(wal::ListSegments(PosixFileSystem(), crashed.path(), &seqs).ok());
  for (uint64_t seq : seqs) {
    wal::SegmentReport r;
    ASSERT_TRUE(wal::ReadSegment(PosixFileSystem(), crashed.path() + "/" + wal::SegmentName(seq),
                                 [](const wal::Entry&) { return Status::OK(); }, &r)
                    .ok());
    EXPECT_FALSE(r.zero_tail) << wal::SegmentName(seq);
    EXPECT_FALSE(r.tail_torn) << wal::SegmentName(seq);
  }
}

TEST(Store, OffsetsNeverGoBackAcrossRestartAndCheckpoint) {
  ScratchDir dir;
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenStore(TestOptions(dir.path()));
    EXPECT_EQ(store->LastOffset(), last);
    auto r = PutSync(*store, 5, "x");
    EXPECT_EQ(r.offset, last + 1);
    last = r.offset;
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
    // The checkpoint removed every WAL record: the snapshot must carry the offset.
    r = PutSync(*store, 6, "y");
    EXPECT_EQ(r.offset, last + 1);
    last = r.offset;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
  }
}

TEST(Store, BatchIsAllOrNothingAndGetsConsecutiveOffsets) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.max_value_bytes = 8;
  auto store = OpenStore(o);
  auto bad = WriteSync(*store, {{WriteOp::Type::kPut, 1, "ok"}, {WriteOp::Type::kPut, 2, std::string(9, 'x')}});
  EXPECT_TRUE(bad.status.IsInvalidArgument());
  EXPECT_EQ(GetOr(*store, 1), "<absent>");
  EXPECT_EQ(store->LastOffset(), 0u);
  auto good = WriteSync(*store, {{WriteOp::Type::kPut, 1, "a"}, {WriteOp::Type::kPut, 2, "b"},
                                 {WriteOp::Type::kDelete, 1, ""}});
  ASSERT_TRUE(good.status.ok());
  EXPECT_EQ(good.offset, 1u);
  EXPECT_EQ(store->LastOffset(), 3u);
  EXPECT_EQ(GetOr(*store, 1), "<absent>");
  EXPECT_EQ(GetOr(*store, 2), "b");
  store.reset();
  store = OpenStore(o);
  EXPECT_EQ(GetOr(*store, 2), "b");
  EXPECT_EQ(store->LastOffset(), 3u);
}

TEST(Store, ScanMergesDeltaAndBaseInOrder) {
  ScratchDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  for (uint64_t k = 10; k < 20; ++k) ASSERT_TRUE(PutSync(*store, k, "base" + std::to_string(k)).status.ok());
  CheckpointInfo info;
  ASSERT_TRUE(store->Checkpoint(&info).ok());
  ASSERT_TRUE(PutSync(*store, 12, "new12").status.ok());
  ASSERT_TRUE(DeleteSync(*store, 13).status.ok());
  ASSERT_TRUE(PutSync(*store, 5, "delta5").status.ok());
  ASSERT_TRUE(PutSync(*store, 25, "delta25").status.ok());

  std::vector<ScanEntry> out;
  bool more = false;
  ASSERT_TRUE(store->Scan(0, 100, 100, &out, &more).ok());
  std::vector<uint64_t> keys;
  for (const auto& e : out) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<uint64_t>{5, 10, 11, 12, 14, 15, 16, 17, 18, 19, 25}));
  EXPECT_EQ(out[3].value.data, "new12");
  EXPECT_FALSE(more);

  ASSERT_TRUE(store->Scan(11, 15, 2, &out, &more).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, 11u);
  EXPECT_EQ(out[1].key, 12u);
  EXPECT_TRUE(more);
  ASSERT_TRUE(store->Scan(14, 15, 10, &out, &more).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(more);
  ASSERT_TRUE(store->Scan(15, 15, 10, &out, &more).ok());
  EXPECT_TRUE(out.empty());
  // An open end reaches the largest key; an explicit end never can.
  ASSERT_TRUE(PutSync(*store, ~uint64_t{0}, "max").status.ok());
  ASSERT_TRUE(store->Scan(20, std::nullopt, 10, &out, &more).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].key, ~uint64_t{0});
  EXPECT_EQ(out[1].value.data, "max");
  ASSERT_TRUE(store->Scan(20, ~uint64_t{0}, 10, &out, &more).ok());
  ASSERT_EQ(out.size(), 1u);
}

TEST(Store, TornWalTailIsTruncatedAndMidLogCorruptionRefusesToStart) {
  ScratchDir dir;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    for (uint64_t k = 1; k <= 10; ++k) ASSERT_TRUE(PutSync(*store, k, "v" + std::to_string(k)).status.ok());
  }
  const std::string seg = dir.file(wal::SegmentName(1));
  const std::string full = test::ReadAll(seg);
  // Torn tail: cut the last record in half.
  test::WriteAll(seg, full.substr(0, full.size() - 3));
  {
    auto store = OpenStore(TestOptions(dir.path()));
    EXPECT_EQ(GetOr(*store, 9), "v9");
    EXPECT_EQ(GetOr(*store, 10), "<absent>");
    EXPECT_EQ(store->LastOffset(), 9u);
    EXPECT_EQ(PutSync(*store, 10, "again").offset, 10u);
  }
  // Damage the first record of segment 1 while later records stay valid.
  std::string bad = test::ReadAll(seg);
  bad[wal::kSegmentHeaderSize + 12] ^= 0x40;
  test::WriteAll(seg, bad);
  std::unique_ptr<Store> store;
  Status s = Store::Open(TestOptions(dir.path()), &store);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(seg), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("byte 24"), std::string::npos) << s.message();
}

TEST(Store, SegmentsRotateAndCheckpointRemovesCoveredOnes) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.wal_segment_bytes = 4096;
  auto store = OpenStore(o);
  for (uint64_t k = 0; k < 300; ++k) ASSERT_TRUE(PutSync(*store, k, std::string(50, 'a')).status.ok());
  EXPECT_GT(store->Stats().wal_segments, 3u);
  CheckpointInfo info;
  ASSERT_TRUE(store->Checkpoint(&info).ok());
  EXPECT_GT(info.wal_segments_removed, 3u);
  EXPECT_EQ(store->Stats().wal_segments, 1u);
  store.reset();
  store = OpenStore(o);
  for (uint64_t k = 0; k < 300; ++k) ASSERT_EQ(GetOr(*store, k), std::string(50, 'a'));
}

TEST(Store, CorruptSnapshotRefusesToStartAndBadIndexFileIsRebuilt) {
  ScratchDir dir;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    for (uint64_t k = 0; k < 100; ++k) ASSERT_TRUE(PutSync(*store, k * 3, "v").status.ok());
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
  }
  std::string index = test::ReadAll(dir.file("index-rmi.bin"));
  index[index.size() / 2] ^= 0x5a;
  test::WriteAll(dir.file("index-rmi.bin"), index);
  {
    auto store = OpenStore(TestOptions(dir.path()));
    for (uint64_t k = 0; k < 100; ++k) ASSERT_EQ(GetOr(*store, k * 3), "v");
    EXPECT_EQ(GetOr(*store, 1), "<absent>");
  }
  std::string snap = test::ReadAll(dir.file("snapshot.bin"));
  snap[10] ^= 0x01;
  test::WriteAll(dir.file("snapshot.bin"), snap);
  std::unique_ptr<Store> store;
  Status s = Store::Open(TestOptions(dir.path()), &store);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("snapshot.bin"), std::string::npos);
}

TEST(Store, IndexWithBadModelAndValidChecksumIsRebuiltAfterStart) {
  // The index file's key check runs after start; until it has passed, reads
  // must not trust the index. Here it fails (a leaf's window misses its keys
  // but the CRC is right): every read stays exact throughout, and the index
  // is rebuilt and saved.
  ScratchDir dir;
  const uint64_t n = 5000;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    std::vector<WriteOp> ops;
    for (uint64_t k = 0; k < n; ++k) ops.push_back({WriteOp::Type::kPut, k * 7, std::to_string(k)});
    ASSERT_TRUE(WriteSync(*store, std::move(ops)).status.ok());
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
  }
  const std::string good_index = test::ReadAll(dir.file("index-rmi.bin"));
  std::string index = good_index;
  const uint64_t buckets = DecodeFixed64(index.data() + 64);
  const uint64_t leaves = DecodeFixed64(index.data() + 72);
  ASSERT_GE(leaves, 2u);
  for (uint64_t j = 0; j < leaves; ++j) {
    char* leaf = index.data() + 80 + (buckets + 1) * 4 + 16 * j;
    EncodeFixed32(leaf + 8, 0);   // slope 0
    EncodeFixed32(leaf + 12, 0);  // no error window
  }
  EncodeFixed32(index.data() + index.size() - 4, crc32c::Value(index.data(), index.size() - 4));
  test::WriteAll(dir.file("index-rmi.bin"), index);

  auto store = OpenStore(TestOptions(dir.path()));
  const uint64_t generation = store->Stats().index_generation;
  auto check_all = [&] {
    for (uint64_t k = 0; k < n; ++k) {
      ASSERT_EQ(GetOr(*store, k * 7), std::to_string(k)) << k;
      ASSERT_EQ(GetOr(*store, k * 7 + 3), "<absent>") << k;
    }
    std::vector<ScanEntry> page;
    bool more = false;
    ASSERT_TRUE(store->Scan(7 * 100 + 1, std::nullopt, 3, &page, &more).ok());
    ASSERT_EQ(page.size(), 3u);
    EXPECT_EQ(page[0].key, 7u * 101);
  };
  check_all();
  for (int i = 0; i < 500 && store->Stats().index_generation == generation; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(store->Stats().index_generation, generation);
  check_all();
  EXPECT_EQ(test::ReadAll(dir.file("index-rmi.bin")), good_index);
}

TEST(Store, GoodIndexFileIsTrustedAfterItsKeyCheck) {
  ScratchDir dir;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    for (uint64_t k = 0; k < 300; ++k) ASSERT_TRUE(PutSync(*store, k * 2, "x").status.ok());
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
  }
  auto store = OpenStore(TestOptions(dir.path()));
  const uint64_t generation = store->Stats().index_generation;
  for (int i = 0; i < 500 && !store->Stats().index_verified; ++i) {
    for (uint64_t k = 0; k < 300; ++k) ASSERT_EQ(GetOr(*store, k * 2), "x");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(store->Stats().index_verified);
  // Verified in place: no rebuild, no new generation.
  EXPECT_EQ(store->Stats().index_generation, generation);
  for (uint64_t k = 0; k < 600; ++k) ASSERT_EQ(GetOr(*store, k), k % 2 == 0 ? "x" : "<absent>");
}

TEST(Store, AutomaticCheckpointWhenDeltaPassesThreshold) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.rebuild_delta_entries = 50;
  auto store = OpenStore(o);
  for (uint64_t k = 0; k < 60; ++k) ASSERT_TRUE(PutSync(*store, k, "x").status.ok());
  for (int i = 0; i < 500 && store->Stats().base_keys == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(store->Stats().base_keys, 50u);
  for (uint64_t k = 0; k < 60; ++k) EXPECT_EQ(GetOr(*store, k), "x");
}

// kyrodb_store_delta_bytes as a scrape would read it from `registry`.
double DeltaBytesGauge(prometheus::Registry& registry) {
  for (const auto& family : registry.Collect()) {
    if (family.name == "kyrodb_store_delta_bytes") return family.metric.at(0).gauge.value;
  }
  ADD_FAILURE() << "no kyrodb_store_delta_bytes";
  return -1;
}

TEST(Store, DeltaBytesGaugeGrowsWithWritesDropsAtCheckpointAndCountsReplay) {
  ScratchDir dir;
  const std::string value(1000, 'v');
  {
    prometheus::Registry registry;
    Options o = TestOptions(dir.path());
    o.registry = &registry;
    auto store = OpenStore(o);
    const double empty = DeltaBytesGauge(registry);
    for (uint64_t k = 0; k < 1000; ++k) ASSERT_TRUE(PutSync(*store, k, value).status.ok());
    const double full = DeltaBytesGauge(registry);
    // The values alone are 1 MB; entries and the key index come on top.
    EXPECT_GE(full - empty, 1000.0 * 1000) << "empty " << empty << ", after 1000 writes " << full;
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
    EXPECT_LE(DeltaBytesGauge(registry), empty) << "the folded delta is still counted";
    for (uint64_t k = 0; k < 100; ++k) ASSERT_TRUE(PutSync(*store, k, value).status.ok());
    EXPECT_GE(DeltaBytesGauge(registry), 100.0 * 1000);
  }
  // Reopened, the 100 writes after the checkpoint are replayed into the delta.
  prometheus::Registry registry;
  Options o = TestOptions(dir.path());
  o.registry = &registry;
  auto store = OpenStore(o);
  EXPECT_GE(DeltaBytesGauge(registry), 100.0 * 1000);
}

TEST(Verify, ReportsHealthyTornAndCorruptStores) {
  ScratchDir dir;
  {
    auto store = OpenStore(TestOptions(dir.path()));
    for (uint64_t k = 0; k < 20; ++k) ASSERT_TRUE(PutSync(*store, k, "v").status.ok());
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());
    for (uint64_t k = 20; k < 30; ++k) ASSERT_TRUE(PutSync(*store, k, "v").status.ok());
  }
  std::string report;
  ASSERT_TRUE(VerifyDataDir(dir.path(), PosixFileSystem(), &report).ok()) << report;
  EXPECT_NE(report.find("20 keys"), std::string::npos) << report;
  EXPECT_NE(report.find("last offset 30"), std::string::npos) << report;

  uint64_t newest = 0;
  for (uint64_t seq = 1; seq < 10; ++seq) {
    bool exists = false;
    ASSERT_TRUE(PosixFileSystem()->FileExists(dir.file(wal::SegmentName(seq)), &exists).ok());
    if (exists) newest = seq;
  }
  ASSERT_NE(newest, 0u);
  const std::string seg = dir.file(wal::SegmentName(newest));
  std::string bytes = test::ReadAll(seg);
  test::WriteAll(seg, bytes.substr(0, bytes.size() - 2));
  report.clear();
  ASSERT_TRUE(VerifyDataDir(dir.path(), PosixFileSystem(), &report).ok()) << report;
  EXPECT_NE(report.find("torn tail"), std::string::npos) << report;

  std::string snap = test::ReadAll(dir.file("snapshot.bin"));
  snap[0] ^= 1;
  test::WriteAll(dir.file("snapshot.bin"), snap);
  report.clear();
  EXPECT_TRUE(VerifyDataDir(dir.path(), PosixFileSystem(), &report).IsCorruption());
  EXPECT_NE(report.find("FAIL"), std::string::npos) << report;
}

test::WriteResult PutKeyed(Store& store, uint64_t key, std::string value, const std::string& idem) {
  WriteOptions wo;
  wo.idempotency_key = idem;
  return test::Wait([&](WriteCallback cb) { store.Put(key, std::move(value), wo, std::move(cb)); });
}

TEST(Store, IdempotentRetriesWriteOnceAcrossRestartAndCheckpoint) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.idempotency_window_keys = 3;
  {
    auto store = OpenStore(o);
    auto first = PutKeyed(*store, 1, "a", "req-1");
    ASSERT_TRUE(first.status.ok());
    auto retry = PutKeyed(*store, 1, "b", "req-1");
    ASSERT_TRUE(retry.status.ok());
    EXPECT_EQ(retry.offset, first.offset);
    EXPECT_EQ(GetOr(*store, 1), "a");
    EXPECT_EQ(store->LastOffset(), 1u);
    // Two retries racing in one group: one write, one offset.
    std::promise<uint64_t> p1, p2;
    WriteOptions wo;
    wo.idempotency_key = "req-2";
    store->Put(2, "x", wo, [&](const Status& s, uint64_t off) { p1.set_value(s.ok() ? off : 0); });
    store->Put(2, "y", wo, [&](const Status& s, uint64_t off) { p2.set_value(s.ok() ? off : 0); });
    const uint64_t o1 = p1.get_future().get(), o2 = p2.get_future().get();
    EXPECT_EQ(o1, 2u);
    EXPECT_EQ(o2, 2u);
    EXPECT_EQ(store->LastOffset(), 2u);
    EXPECT_TRUE(PutKeyed(*store, 3, "v", std::string(65, 'k')).status.IsInvalidArgument());
  }
  {
    auto store = OpenStore(o);  // restart: keys come back from the WAL
    EXPECT_EQ(PutKeyed(*store, 1, "c", "req-1").offset, 1u);
    CheckpointInfo info;
    ASSERT_TRUE(store->Checkpoint(&info).ok());  // removes the segments that held them
  }
  {
    auto store = OpenStore(o);  // ...and from the carry record after a checkpoint
    EXPECT_EQ(PutKeyed(*store, 1, "d", "req-1").offset, 1u);
    EXPECT_EQ(PutKeyed(*store, 2, "z", "req-2").offset, 2u);
    EXPECT_EQ(GetOr(*store, 1), "a");
    EXPECT_EQ(store->LastOffset(), 2u);
    // The window holds 3 keys: two more push req-1 out, and it writes again.
    ASSERT_TRUE(PutKeyed(*store, 5, "e", "req-3").status.ok());
    ASSERT_TRUE(PutKeyed(*store, 6, "f", "req-4").status.ok());
    auto again = PutKeyed(*store, 1, "g", "req-1");
    EXPECT_EQ(again.offset, 5u);
    EXPECT_EQ(GetOr(*store, 1), "g");
  }
}

TEST(Store, ASecondOpenOfTheSameDirectoryIsRefused) {
  ScratchDir dir;
  auto first = OpenStore(TestOptions(dir.path()));
  std::unique_ptr<Store> second;
  Status s = Store::Open(TestOptions(dir.path()), &second);
  ASSERT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find("LOCK"), std::string::npos) << s.message();
  first->Close();
  EXPECT_TRUE(Store::Open(TestOptions(dir.path()), &second).ok());
}

TEST(Store, WritesAfterCloseAreRefused) {
  ScratchDir dir;
  auto store = OpenStore(TestOptions(dir.path()));
  store->Close();
  EXPECT_TRUE(PutSync(*store, 1, "x").status.IsUnavailable());
  EXPECT_FALSE(store->Writable());
}

}  // namespace
}  // namespace kyrodb
