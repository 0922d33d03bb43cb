// ReadMostlyPtr: pins see what was published, keep an old object alive while
// held, and nothing else does: not a thread's slot after a Publish, not a
// thread that outlives the pointer. The stress test runs under TSan in CI
// (label `concurrency`).
#include "util/read_mostly_ptr.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

namespace kyrodb {
namespace {

struct Object {
  static constexpr uint64_t kAlive = 0x600dF00dCafeULL;
  explicit Object(uint64_t v) : value(v) {}
  ~Object() { magic = 0; }
  uint64_t value;
  uint64_t magic = kAlive;
};

TEST(ReadMostlyPtr, EmptyUntilPublished) {
  ReadMostlyPtr<Object> ptr;
  std::shared_ptr<const void> pin = std::make_shared<int>(1);
  EXPECT_EQ(ptr.Pin(&pin), nullptr);
  EXPECT_EQ(pin, nullptr);
  EXPECT_EQ(ptr.Load(), nullptr);
  ptr.Publish(std::make_shared<const Object>(7));
  const Object* o = ptr.Pin(&pin);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->value, 7u);
  EXPECT_NE(pin, nullptr);
  EXPECT_EQ(ptr.Load()->value, 7u);
}

TEST(ReadMostlyPtr, APinKeepsTheOldObjectAliveAndNothingElseDoes) {
  auto first = std::make_shared<const Object>(1);
  std::weak_ptr<const Object> watch = first;
  ReadMostlyPtr<Object> ptr(std::move(first));

  std::shared_ptr<const void> pin;
  const Object* old = ptr.Pin(&pin);  // this thread's slot now caches it too
  ASSERT_NE(old, nullptr);
  ptr.Publish(std::make_shared<const Object>(2));
  EXPECT_FALSE(watch.expired()) << "a held pin must keep its object";
  EXPECT_EQ(old->value, 1u);

  std::shared_ptr<const void> pin2;
  EXPECT_EQ(ptr.Pin(&pin2)->value, 2u);
  pin.reset();
  EXPECT_TRUE(watch.expired()) << "the thread's slot must not keep a replaced object";
}

TEST(ReadMostlyPtr, AnIdleThreadDoesNotKeepAReplacedObject) {
  auto first = std::make_shared<const Object>(1);
  std::weak_ptr<const Object> watch = first;
  ReadMostlyPtr<Object> ptr(std::move(first));
  std::latch pinned(1), published(1);
  std::thread reader([&] {
    std::shared_ptr<const void> pin;
    EXPECT_EQ(ptr.Pin(&pin)->value, 1u);
    pin.reset();
    pinned.count_down();
    published.wait();  // idle, its slot untouched, while the main thread checks
  });
  pinned.wait();
  ptr.Publish(std::make_shared<const Object>(2));
  EXPECT_TRUE(watch.expired());
  published.count_down();
  reader.join();
}

TEST(ReadMostlyPtr, ThreadsThatOutliveThePointerDoNotKeepItsObject) {
  auto object = std::make_shared<const Object>(1);
  std::weak_ptr<const Object> watch = object;
  auto ptr = std::make_unique<ReadMostlyPtr<Object>>(std::move(object));
  std::latch pinned(1), destroyed(1);
  std::thread reader([&] {
    std::shared_ptr<const void> pin;
    EXPECT_EQ(ptr->Pin(&pin)->value, 1u);
    pin.reset();
    pinned.count_down();
    destroyed.wait();
  });
  pinned.wait();
  ptr.reset();
  EXPECT_TRUE(watch.expired());
  destroyed.count_down();
  reader.join();
}

TEST(ReadMostlyPtr, OneThreadAlternatingBetweenPointersGetsEachOnesObject) {
  ReadMostlyPtr<Object> a(std::make_shared<const Object>(1));
  ReadMostlyPtr<Object> b(std::make_shared<const Object>(2));
  std::shared_ptr<const void> pa, pb;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.Pin(&pa)->value, 1u);
    EXPECT_EQ(b.Pin(&pb)->value, 2u);
  }
  a.Publish(std::make_shared<const Object>(3));
  EXPECT_EQ(a.Pin(&pa)->value, 3u);
  EXPECT_EQ(b.Pin(&pb)->value, 2u);
}

// Readers pin and read while a writer publishes: every object read is alive,
// and each reader sees the published values in order, never an older one
// after a newer.
TEST(ReadMostlyPtr, ReadersRacingPublishesSeeLiveObjectsInOrder) {
  ReadMostlyPtr<Object> ptr(std::make_shared<const Object>(0));
  constexpr uint64_t kPublishes = 3000;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, pins{0};
  constexpr int kReaders = 3;
  std::latch started(kReaders);
  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&] {
      uint64_t last = 0, local = 0;
      std::vector<std::shared_ptr<const void>> held(4);  // some pins live across publishes
      while (!stop.load(std::memory_order_relaxed)) {
        std::shared_ptr<const void>& pin = held[local % held.size()];
        const Object* o = ptr.Pin(&pin);
        if (o == nullptr || o->magic != Object::kAlive || o->value < last) bad.fetch_add(1);
        if (o != nullptr) last = o->value;
        if (local++ == 0) started.count_down();
      }
      pins.fetch_add(local);
    });
  }
  started.wait();  // on 2 busy cores a reader may otherwise start after the last publish
  for (uint64_t v = 1; v <= kPublishes; ++v) {
    ptr.Publish(std::make_shared<const Object>(v));
    if (v % 64 == 0) std::this_thread::yield();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GE(pins.load(), static_cast<uint64_t>(kReaders));
  std::shared_ptr<const void> pin;
  EXPECT_EQ(ptr.Pin(&pin)->value, kPublishes);
}

}  // namespace
}  // namespace kyrodb
