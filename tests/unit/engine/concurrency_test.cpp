// Readers, writers and checkpoints at once (run under TSan in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <random>
#include <mutex>
#include <thread>

#include "engine/key_index.h"
#include "engine/memtable.h"
#include "test_util.h"

namespace kyrodb {
namespace {

using test::DeleteSync;
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
          // Absent keys: answered by the key index while it grows.
          ASSERT_EQ(table.Get(k + 1'000'000, ~uint64_t{0}), nullptr);
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

// Readers probing while the writer inserts and grows the table many times
// over: every key published before a reader's acquire is found, with a
// complete item, in whichever table the reader happens to hold.
TEST(KeyIndexConcurrency, ReadersFindEveryPublishedKeyWhileTheTableGrows) {
  struct Item {
    uint64_t key;
    uint64_t check;  // written before the insert: a reader must see it
  };
  constexpr size_t kKeys = 150'000;
  std::vector<Item> items(kKeys);  // stable addresses
  std::mt19937_64 rng(3);
  for (auto& it : items) it.key = rng() | 1;  // odd: even keys are absent
  KeyIndex<Item> index;
  std::atomic<size_t> published{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 pick(t);
      while (!stop.load()) {
        const size_t upto = published.load(std::memory_order_acquire);
        for (int i = 0; i < 256 && upto > 0; ++i) {
          const Item& want = items[pick() % upto];
          const Item* got = index.Find(want.key);
          ASSERT_EQ(got, &want);
          ASSERT_EQ(got->check, ~want.key);
          ASSERT_EQ(index.Find(want.key + 1), nullptr);
        }
      }
    });
  }
  for (size_t i = 0; i < kKeys; ++i) {
    items[i].check = ~items[i].key;
    ASSERT_TRUE(index.Insert(&items[i]));
    published.store(i + 1, std::memory_order_release);
  }
  stop.store(true);
  for (auto& r : readers) r.join();
}

TEST(MemTable, ApplyBatchEqualsOneApplyAtATime) {
  // Random keys from a small space (repeats inside a batch and across
  // batches), batches of every size around the lane count.
  std::mt19937_64 rng(5);
  MemTable one;
  MemTable batched;
  std::map<uint64_t, std::vector<std::pair<uint64_t, std::string>>> model;  // key -> (offset, value)
  uint64_t offset = 0;
  std::vector<std::string> values;
  for (size_t batch : {1u, 2u, 15u, 16u, 17u, 33u, 100u, 1u, 500u}) {
    std::vector<MemTable::Write> writes;
    values.clear();
    values.reserve(batch);
    for (size_t i = 0; i < batch; ++i) {
      const uint64_t key = rng() % 300 == 0 ? ~uint64_t{0} : rng() % 700;
      values.push_back(std::to_string(rng() % 1000));
      const bool deleted = rng() % 7 == 0;
      writes.push_back({key, ++offset, deleted, deleted ? std::string_view() : std::string_view(values.back())});
      one.Apply(key, offset, deleted, writes.back().value);
      model[key].push_back({offset, deleted ? "<deleted>" : values.back()});
    }
    batched.ApplyBatch(writes);
  }
  EXPECT_EQ(batched.entries(), one.entries());
  EXPECT_EQ(batched.keys(), model.size());
  MemTable::Iterator it(&batched);
  it.SeekToFirst();
  for (const auto& [key, versions] : model) {
    ASSERT_TRUE(it.Valid());
    ASSERT_EQ(it.key(), key);
    it.Next();
    for (const auto& [at, value] : versions) {
      const MemTable::Version* v = batched.Get(key, at);
      ASSERT_NE(v, nullptr);
      EXPECT_EQ(v->offset, at);
      EXPECT_EQ(v->deleted ? "<deleted>" : std::string(v->value()), value);
    }
    EXPECT_EQ(batched.Get(key, versions.front().first - 1), nullptr);
  }
  EXPECT_FALSE(it.Valid());
  EXPECT_EQ(batched.Get(701, offset), nullptr);
}

TEST(MemTableConcurrency, ReadersSeeCompleteVersionsWhileBatchesAreApplied) {
  MemTable table;
  std::atomic<uint64_t> published{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const uint64_t upto = published.load(std::memory_order_acquire);
        for (uint64_t off = 1; off <= upto; off += 37) {
          const uint64_t k = (off * 7919) % 100003;
          const MemTable::Version* v = table.Get(k, upto);
          ASSERT_NE(v, nullptr) << k;
          ASSERT_EQ(v->value(), std::to_string(k));
        }
        MemTable::Iterator it(&table);
        uint64_t prev = 0;
        for (it.SeekToFirst(); it.Valid(); it.Next()) {
          ASSERT_TRUE(prev == 0 || it.key() > prev);
          prev = it.key();
        }
      }
    });
  }
  std::vector<std::string> values;
  std::vector<MemTable::Write> writes;
  uint64_t off = 0;
  while (off < 20000) {
    values.clear();
    writes.clear();
    values.reserve(40);
    for (int i = 0; i < 40 && off < 20000; ++i) {
      ++off;
      const uint64_t k = (off * 7919) % 100003;  // scattered, never repeated
      values.push_back(std::to_string(k));
      writes.push_back({k, off, false, values.back()});
    }
    table.ApplyBatch(writes);
    published.store(off, std::memory_order_release);
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

// Passes everything to the real file system, but a WAL sync can be held at a
// gate, and syncs are counted: lets a test look at the store while a group is
// written but not yet durable, or durable while an earlier group still answers.
class GateFs final : public FileSystem {
 public:
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  uint64_t syncs() const { return syncs_.load(); }
  // Waits until a sync is held at the gate.
  bool WaitHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return held_ > 0; });
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    std::unique_ptr<WritableFile> f;
    KYRODB_RETURN_IF_ERROR(base_->NewWritableFile(path, &f));
    *out = std::make_unique<File>(this, std::move(f));
    return Status::OK();
  }
  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    std::unique_ptr<WritableFile> f;
    KYRODB_RETURN_IF_ERROR(base_->NewAppendableFile(path, &f));
    *out = std::make_unique<File>(this, std::move(f));
    return Status::OK();
  }
  Status LockFile(const std::string& p, std::unique_ptr<FileLock>* out) override { return base_->LockFile(p, out); }
  Status ReadFile(const std::string& p, std::string* out) override { return base_->ReadFile(p, out); }
  Status MapFile(const std::string& p, std::unique_ptr<MappedFile>* out) override { return base_->MapFile(p, out); }
  Status FileExists(const std::string& p, bool* e) override { return base_->FileExists(p, e); }
  Status FileSize(const std::string& p, uint64_t* s) override { return base_->FileSize(p, s); }
  Status ListDir(const std::string& d, std::vector<std::string>* n) override { return base_->ListDir(d, n); }
  Status CreateDirIfMissing(const std::string& d) override { return base_->CreateDirIfMissing(d); }
  Status Rename(const std::string& from, const std::string& to) override { return base_->Rename(from, to); }
  Status RemoveFile(const std::string& p) override { return base_->RemoveFile(p); }
  Status Truncate(const std::string& p, uint64_t size) override { return base_->Truncate(p, size); }
  Status SyncDir(const std::string& d) override { return base_->SyncDir(d); }

 private:
  void Gate() {
    std::unique_lock<std::mutex> lock(mu_);
    ++held_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --held_;
  }

  class File final : public WritableFile {
   public:
    File(GateFs* fs, std::unique_ptr<WritableFile> f) : fs_(fs), f_(std::move(f)) {}
    Status Append(std::span<const char> d) override { return f_->Append(d); }
    Status Sync() override {
      fs_->Gate();
      Status s = f_->Sync();
      fs_->syncs_.fetch_add(1);
      return s;
    }
    Status FullSync() override { return f_->FullSync(); }
    Status Close() override { return f_->Close(); }
    uint64_t Size() const override { return f_->Size(); }

   private:
    GateFs* fs_;
    std::unique_ptr<WritableFile> f_;
  };

  FileSystem* base_ = PosixFileSystem();
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;  // guarded by mu_
  int held_ = 0;      // guarded by mu_
  std::atomic<uint64_t> syncs_{0};
};

TEST(GroupCommitPipeline, NothingIsVisibleOrAnsweredBeforeItsSync) {
  ScratchDir dir;
  GateFs fs;
  Options o = TestOptions(dir.path());
  o.fs = &fs;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(o, &store).ok());
  ASSERT_TRUE(PutSync(*store, 1, "one").status.ok());

  fs.Close();
  std::promise<uint64_t> acked;
  store->Put(2, "two", [&](const Status& s, uint64_t offset) {
    EXPECT_TRUE(s.ok());
    acked.set_value(offset);
  });
  ASSERT_TRUE(fs.WaitHeld());
  // Written, not durable: invisible and unanswered.
  auto answer = acked.get_future();
  ValueRef v;
  EXPECT_TRUE(store->Get(2, &v).IsNotFound());
  EXPECT_EQ(store->LastOffset(), 1u);
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  fs.Open();
  EXPECT_EQ(answer.get(), 2u);
  ASSERT_TRUE(store->Get(2, &v).ok());
  EXPECT_EQ(v.data, "two");
}

TEST(GroupCommitPipeline, NextGroupSyncsWhileTheOneBeforeAnswersInOrder) {
  ScratchDir dir;
  Options o = TestOptions(dir.path());
  o.wal_pipeline = WalPipeline::kOn;  // the overlap this test pins exists only with the completer
  GateFs fs;
  o.fs = &fs;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(o, &store).ok());

  // The first write's callback blocks: its group is durable and published,
  // the answers stall, and the writer must go on to sync the next group.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> in_first;
  std::atomic<int> order{0};
  std::promise<int> first_done;
  store->Put(10, "ten", [&](const Status& s, uint64_t) {
    EXPECT_TRUE(s.ok());
    in_first.set_value();
    released.wait();
    first_done.set_value(order.fetch_add(1));
  });
  in_first.get_future().wait();
  EXPECT_EQ(store->LastOffset(), 1u);
  const uint64_t syncs = fs.syncs();
  std::promise<int> second_done;
  store->Put(11, "eleven", [&](const Status& s, uint64_t offset) {
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(offset, 2u);
    second_done.set_value(order.fetch_add(1));
  });
  for (int i = 0; i < 1000 && fs.syncs() == syncs; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GT(fs.syncs(), syncs) << "the second group was not synced while the first answered";
  // Durable, but not applied or published before the group ahead of it is done.
  ValueRef v;
  EXPECT_TRUE(store->Get(11, &v).IsNotFound());
  EXPECT_EQ(store->LastOffset(), 1u);
  release.set_value();
  EXPECT_EQ(first_done.get_future().get(), 0);
  EXPECT_EQ(second_done.get_future().get(), 1);
  ASSERT_TRUE(store->Get(11, &v).ok());
  EXPECT_EQ(store->LastOffset(), 2u);
  // A delete waits for everything before it to be applied, then finds its key.
  EXPECT_TRUE(DeleteSync(*store, 11).status.ok());
  EXPECT_TRUE(store->Get(11, &v).IsNotFound());
}

}  // namespace
}  // namespace kyrodb
