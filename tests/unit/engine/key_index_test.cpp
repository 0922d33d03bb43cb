// KeyIndex: every inserted key found, no other, across the growths of the
// table; its memory bound; and an address it cannot hold refused.
#include "engine/key_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <unordered_set>
#include <vector>

namespace kyrodb {
namespace {

struct Item {
  uint64_t key;
};

TEST(KeyIndex, AnEmptyIndexHoldsNothing) {
  KeyIndex<Item> index;
  for (uint64_t k : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}}) EXPECT_EQ(index.Find(k), nullptr);
  EXPECT_EQ(index.size(), 0u);
}

// Dense, strided and random keys, checked after every growth boundary: each
// inserted key finds its own item, and keys next to them find nothing. At
// 100k keys many pairs share a 16-bit tag, so the key comparison behind a
// matching tag is exercised too.
TEST(KeyIndex, FindsEveryInsertedKeyAndNoOther) {
  std::mt19937_64 rng(11);
  const std::vector<std::pair<const char*, uint64_t (*)(uint64_t, std::mt19937_64&)>> shapes = {
      {"dense", [](uint64_t i, std::mt19937_64&) { return i; }},
      {"strided", [](uint64_t i, std::mt19937_64&) { return i << 20; }},
      {"random", [](uint64_t, std::mt19937_64& r) { return r() | 1; }},  // odd: even keys are absent
  };
  for (const auto& [name, key_of] : shapes) {
    KeyIndex<Item> index;
    std::deque<Item> items;  // stable addresses
    std::unordered_set<uint64_t> keys;
    size_t next_check = 1;
    for (uint64_t i = 0; i < 100'000; ++i) {
      const uint64_t k = key_of(i, rng);
      if (!keys.insert(k).second) continue;
      items.push_back({k});
      ASSERT_TRUE(index.Insert(&items.back()));
      if (items.size() == next_check || items.size() == next_check + 1) {
        for (const Item& it : items) ASSERT_EQ(index.Find(it.key), &it) << name << " " << it.key;
        if (items.size() == next_check + 1) next_check *= 2;
      }
    }
    EXPECT_EQ(index.size(), items.size());
    for (const Item& it : items) ASSERT_EQ(index.Find(it.key), &it) << name;
    size_t found_absent = 0;
    for (uint64_t i = 0; i < 200'000; ++i) {
      const uint64_t k = std::string_view(name) == "random" ? rng() & ~uint64_t{1} : key_of(200'000 + i, rng);
      if (keys.count(k) == 0 && index.Find(k) != nullptr) ++found_absent;
    }
    EXPECT_EQ(found_absent, 0u) << name;
  }
}

// The live table is between a quarter and half full and the retired ones sum
// to less than it: at most 64 bytes a key right after a growth, at most 32
// just before the next (when the key count is a power of two).
TEST(KeyIndex, CostsAtMostSixtyFourBytesAKeyAndThirtyTwoBeforeAGrowth) {
  KeyIndex<Item> index;
  const size_t first = index.bytes();
  EXPECT_LE(first, 4096u + 64);
  std::deque<Item> items;
  for (uint64_t k = 0; k < 300'000; ++k) {
    items.push_back({k * 7});
    ASSERT_TRUE(index.Insert(&items.back()));
    const size_t n = items.size();
    if (n <= KeyIndex<Item>::kMinSlots / 2) {
      ASSERT_EQ(index.bytes(), first) << n;  // no growth before half full
    } else {
      ASSERT_LE(index.bytes(), 64 * n) << n;
      if ((n & (n - 1)) == 0) {
        ASSERT_LE(index.bytes(), 32 * n) << n;
      }
    }
  }
}

// An address above 48 bits has no room for the tag: refused, nothing stored
// (the item is never read, so a made-up address is safe here).
TEST(KeyIndex, RefusesAnAddressItCannotHold) {
  KeyIndex<Item> index;
  Item real{5};
  ASSERT_TRUE(index.Insert(&real));
  const auto* high = reinterpret_cast<const Item*>(uintptr_t{1} << 50);
  EXPECT_FALSE(index.Insert(high));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.Find(5), &real);
}

}  // namespace
}  // namespace kyrodb
