// Readers, writers and checkpoints at once (run under TSan in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/memtable.h"
#include "test_util.h"

namespace kyrodb {
namespace {

using test::PutSync;
using test::ScratchDir;
using test::TestOptions;

TEST(MemTableConcurrency, ReadersSeeCompleteVersionsWhileOneWriterInserts) {
  MemTable table;
  std::atomic<uint64_t> published{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const uint64_t upto = published.load(std::memory_order_acquire);
        for (uint64_t k = 1; k <= upto; k += 37) {
          const MemTable::Version* v = table.Get(k, upto);
          ASSERT_NE(v, nullptr) << k;
          ASSERT_EQ(v->value(), std::to_string(k));
        }
        MemTable::Iterator it(&table);
        uint64_t prev = 0;
        for (it.SeekToFirst(); it.Valid(); it.Next()) {
          ASSERT_GT(it.key(), prev);
          prev = it.key();
        }
      }
    });
  }
  for (uint64_t k = 1; k <= 20000; ++k) {
    table.Apply(k, k, false, std::to_string(k));
    published.store(k, std::memory_order_release);
  }
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(table.keys(), 20000u);
}

TEST(StoreConcurrency, WritersReadersAndCheckpointsAgree) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.rebuild_delta_entries = 500;  // background checkpoints during the test
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(o, &store).ok());
  constexpr int kWriters = 4;
  constexpr uint64_t kPerWriter = 600;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done[kWriters] = {};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t i = 1; i <= kPerWriter; ++i) {
        const uint64_t key = i * kWriters + static_cast<uint64_t>(w);
        auto r = PutSync(*store, key, std::to_string(key));
        ASSERT_TRUE(r.status.ok()) << r.status.ToString();
        done[w].store(i, std::memory_order_release);
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop.load()) {
      for (int w = 0; w < kWriters; ++w) {
        const uint64_t upto = done[w].load(std::memory_order_acquire);
        for (uint64_t i = 1; i <= upto; i += 13) {
          const uint64_t key = i * kWriters + static_cast<uint64_t>(w);
          ValueRef v;
          ASSERT_TRUE(store->Get(key, &v).ok()) << key;
          ASSERT_EQ(v.data, std::to_string(key));
        }
      }
      std::vector<ScanEntry> out;
      bool more = false;
      ASSERT_TRUE(store->Scan(0, ~uint64_t{0}, 100000, &out, &more).ok());
      for (size_t i = 1; i < out.size(); ++i) ASSERT_LT(out[i - 1].key, out[i].key);
    }
  });
  threads.emplace_back([&] {
    while (!stop.load()) {
      CheckpointInfo info;
      ASSERT_TRUE(store->Checkpoint(&info).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[static_cast<size_t>(w)].join();
  stop.store(true);
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(store->LastOffset(), kWriters * kPerWriter);
  store.reset();
  ASSERT_TRUE(Store::Open(o, &store).ok());
  for (uint64_t key = kWriters; key < (kPerWriter + 1) * kWriters; ++key) {
    ValueRef v;
    ASSERT_TRUE(store->Get(key, &v).ok()) << key;
  }
}

}  // namespace
}  // namespace kyrodb
