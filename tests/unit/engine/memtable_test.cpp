#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "engine/memtable.h"

namespace kyrodb {
namespace {

// The process's anonymous resident memory, in KiB (Linux).
int64_t RssAnonKib() {
  std::ifstream status("/proc/self/status");
  std::string field;
  while (status >> field) {
    if (field == "RssAnon:") {
      int64_t kib = 0;
      status >> kib;
      return kib;
    }
  }
  return -1;
}

// A delta is dropped at every checkpoint; its memory must leave the process
// with it, not stay on the heap for the next one. The second round matters:
// glibc's malloc serves 1 MiB blocks from its heap once the first such block
// has been freed, and while other allocations made meanwhile (in the server:
// requests, answers) still live above them, it keeps their pages.
TEST(MemTable, DroppingATableGivesItsMemoryBackToTheKernel) {
  if (RssAnonKib() < 0) GTEST_SKIP() << "no RssAnon in /proc/self/status";
  const std::string value(1024, 'v');
  constexpr uint64_t kKeys = 64 * 1024;  // 64 MiB of values
  for (int round = 0; round < 2; ++round) {
    auto table = std::make_unique<MemTable>();
    std::vector<std::unique_ptr<std::string>> others;
    for (uint64_t k = 0; k < kKeys; ++k) {
      table->Apply(k * 7, k + 1, false, value);
      if (k % 256 == 0) others.push_back(std::make_unique<std::string>(200, 'o'));
    }
    const int64_t full = RssAnonKib();
    table.reset();
    const int64_t after = RssAnonKib();
    others.clear();
    EXPECT_GE(full - after, 48 * 1024) << "round " << round << ": " << full << " KiB with the table, " << after
                                       << " KiB after dropping it";
  }
}

// memory_usage() counts every byte the table holds, from its first write:
// the values (here 200 KB, well inside the first 1 MiB arena block) and the
// key index. It once missed the first block, counted by the head node's
// allocation before the counter was initialized (which then reset it).
TEST(MemTable, MemoryUsageCountsTheFirstBlock) {
  MemTable table;
  const std::string value(1000, 'v');
  for (uint64_t k = 0; k < 200; ++k) table.Apply(k, k + 1, false, value);
  EXPECT_GE(table.memory_usage(), 200u * 1000);
}

// Get finds every key and version through the key index, at sizes around
// its first growths, and from the list once the index is off: hits, misses
// next to hits, and older versions by offset.
TEST(MemTable, GetFindsEveryVersionAcrossTheIndexsGrowths) {
  constexpr size_t kGrowsAt = KeyIndex<int>::kMinSlots / 2;
  for (bool refused : {false, true}) {
    for (size_t n : {size_t{0}, size_t{1}, kGrowsAt - 1, kGrowsAt, kGrowsAt + 1, 4 * kGrowsAt + 1, size_t{20000}}) {
      MemTable table;
      for (uint64_t i = 0; i < n; ++i) {
        // `refused`: the index stops halfway, as if it had refused a node.
        if (refused && i == n / 2) table.DisableIndexForTesting();
        table.Apply(i * 3 + 1, i + 1, false, std::to_string(i));
      }
      for (uint64_t i = 0; i < n; ++i) table.Apply(i * 3 + 1, n + i + 1, i % 2 == 0, "new");
      for (uint64_t i = 0; i < n; ++i) {
        const uint64_t k = i * 3 + 1;
        const MemTable::Version* v = table.Get(k, ~uint64_t{0});
        ASSERT_NE(v, nullptr) << n << " " << k;
        EXPECT_EQ(v->deleted, i % 2 == 0);
        const MemTable::Version* old = table.Get(k, n);
        ASSERT_NE(old, nullptr) << n << " " << k;
        EXPECT_EQ(old->value(), std::to_string(i));
        EXPECT_EQ(table.Get(k, 0), nullptr);
        EXPECT_EQ(table.Get(k - 1, ~uint64_t{0}), nullptr);
        EXPECT_EQ(table.Get(k + 1, ~uint64_t{0}), nullptr);
      }
      EXPECT_EQ(table.Get(~uint64_t{0}, ~uint64_t{0}), nullptr);
      EXPECT_EQ(table.keys(), n);
      EXPECT_EQ(table.indexed(), !(refused && n > 0));
    }
  }
}

}  // namespace
}  // namespace kyrodb
