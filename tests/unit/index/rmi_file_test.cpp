// index-rmi.bin: round trip, and a file that is corrupt, truncated, hostile or
// from another snapshot is refused (or, if accepted, provably harmless: the
// loaded index still answers exactly).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check_index.h"
#include "index/rmi.h"
#include "key_sets.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace kyrodb::index {
namespace {

using testing::Dist;
using testing::MakeKeys;

constexpr uint64_t kSnapshot = 0x5eed5eed12345678ull;

// Recomputes the trailing CRC so that a mutation reaches the structural and
// semantic checks instead of stopping at the checksum.
void FixCrc(std::string* file) {
  const size_t body = file->size() - 4;
  EncodeFixed32(file->data() + body, crc32c::Value(file->data(), body));
}

TEST(RmiFile, RoundTripsOnEveryDistribution) {
  for (Dist dist : testing::kAllDists) {
    SCOPED_TRACE(testing::DistName(dist));
    const auto keys = MakeKeys(dist, 20000, 5);
    auto built = Rmi::Build(keys);
    ASSERT_NE(built, nullptr);
    const std::string file = built->Serialize(kSnapshot);
    std::unique_ptr<Rmi> loaded;
    ASSERT_TRUE(Rmi::Deserialize(file, keys, kSnapshot, &loaded).ok());
    ASSERT_NE(loaded, nullptr);
    EXPECT_EQ(loaded->Serialize(kSnapshot), file);
    EXPECT_EQ(loaded->stats().leaves, built->stats().leaves);
    EXPECT_EQ(loaded->stats().max_error, built->stats().max_error);
    EXPECT_NEAR(loaded->stats().mean_error, built->stats().mean_error, 1.0);
    testing::ExpectExact(*loaded, keys, 17, 500);
  }
}

TEST(RmiFile, TwoHalfLoadEqualsDeserialize) {
  for (Dist dist : testing::kAllDists) {
    SCOPED_TRACE(testing::DistName(dist));
    const auto keys = MakeKeys(dist, 20000, 6);
    const std::string file = Rmi::Build(keys)->Serialize(kSnapshot);
    std::unique_ptr<Rmi> whole;
    ASSERT_TRUE(Rmi::Deserialize(file, keys, kSnapshot, &whole).ok());
    std::unique_ptr<Rmi> halves;
    ASSERT_TRUE(Rmi::DeserializeUnverified(file, keys, kSnapshot, &halves).ok());
    double sum = 0;
    for (size_t begin = 0; begin < keys.size(); begin += 3001) {
      ASSERT_TRUE(halves->VerifyKeys(begin, begin + 3001, &sum).ok());
    }
    EXPECT_DOUBLE_EQ(sum / static_cast<double>(keys.size()), whole->stats().mean_error);
    EXPECT_EQ(halves->Serialize(kSnapshot), file);
    testing::ExpectExact(*halves, keys, 18, 300);
  }
}

TEST(RmiFile, BadModelPassesTheFirstHalfAndFailsTheKeyCheck) {
  // A leaf whose window misses its keys, with a valid checksum: the cheap half
  // cannot see it, the key check must, in whichever chunk holds the leaf.
  const auto keys = MakeKeys(Dist::kUniform, 5000, 11);
  std::string file = Rmi::Build(keys, {.keys_per_leaf = 100})->Serialize(kSnapshot);
  const uint64_t buckets = DecodeFixed64(file.data() + 64);
  const uint64_t leaves = DecodeFixed64(file.data() + 72);
  const size_t leaf = 80 + (buckets + 1) * 4 + 16 * (leaves - 2);  // the last real leaf
  EncodeFixed32(file.data() + leaf + 8, 0);   // slope 0
  EncodeFixed32(file.data() + leaf + 12, 0);  // err_lo = err_hi = 0
  FixCrc(&file);
  std::unique_ptr<Rmi> loaded;
  ASSERT_TRUE(Rmi::DeserializeUnverified(file, keys, kSnapshot, &loaded).ok());
  double sum = 0;
  EXPECT_TRUE(loaded->VerifyKeys(0, 2500, &sum).ok());
  const Status s = loaded->VerifyKeys(2500, keys.size(), &sum);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  std::unique_ptr<Rmi> whole;
  EXPECT_TRUE(Rmi::Deserialize(file, keys, kSnapshot, &whole).IsCorruption());
  EXPECT_EQ(whole, nullptr);
}

TEST(RmiFile, RoundTripsTinySets) {
  for (const std::vector<uint64_t>& keys :
       {std::vector<uint64_t>{}, {0}, {testing::kMaxU64}, {0, testing::kMaxU64}, {4, 5, 6}}) {
    auto built = Rmi::Build(keys);
    ASSERT_NE(built, nullptr);
    std::unique_ptr<Rmi> loaded;
    const Status s = Rmi::Deserialize(built->Serialize(1), keys, 1, &loaded);
    ASSERT_TRUE(s.ok()) << s.ToString();
    testing::ExpectExact(*loaded, keys, 3, 100);
  }
}

TEST(RmiFile, WrongSnapshotOrKeysAreRejected) {
  const auto keys = MakeKeys(Dist::kUniform, 5000, 6);
  const std::string file = Rmi::Build(keys)->Serialize(kSnapshot);
  std::unique_ptr<Rmi> loaded;

  Status s = Rmi::Deserialize(file, keys, kSnapshot + 1, &loaded);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("snapshot"), std::string::npos) << s.message();

  std::vector<uint64_t> fewer(keys.begin(), keys.end() - 1);
  EXPECT_TRUE(Rmi::Deserialize(file, fewer, kSnapshot, &loaded).IsCorruption());

  // Same count and range, different keys in between: the key check catches it.
  std::vector<uint64_t> other = keys;
  for (size_t i = 1; i + 1 < other.size(); ++i) other[i] = other[0] + i;
  s = Rmi::Deserialize(file, other, kSnapshot, &loaded);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(loaded, nullptr);
}

TEST(RmiFile, EverySingleByteCorruptionIsRejected) {
  const auto keys = MakeKeys(Dist::kLognormal, 300, 7);
  const std::string file = Rmi::Build(keys, {.keys_per_leaf = 8})->Serialize(kSnapshot);
  ASSERT_LT(file.size(), 64u * 1024) << "keep this test fast";
  for (size_t i = 0; i < file.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      std::string bad = file;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      std::unique_ptr<Rmi> loaded;
      const Status s = Rmi::Deserialize(bad, keys, kSnapshot, &loaded);
      ASSERT_TRUE(s.IsCorruption()) << "byte " << i << " ^ " << int{flip} << " accepted";
      ASSERT_EQ(loaded, nullptr);
    }
  }
}

TEST(RmiFile, EverySingleByteCorruptionOfALogRouterFileIsRejected) {
  const auto keys = MakeKeys(Dist::kLognormal, 2000, 17);
  auto rmi = Rmi::Build(keys, {.router_bits = 8, .keys_per_leaf = 16});
  ASSERT_TRUE(rmi->stats().log_router);
  const std::string file = rmi->Serialize(kSnapshot);
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    std::unique_ptr<Rmi> loaded;
    ASSERT_TRUE(Rmi::Deserialize(bad, keys, kSnapshot, &loaded).IsCorruption()) << "byte " << i;
  }
}

TEST(RmiFile, EveryTruncationAndExtensionIsRejected) {
  const auto keys = MakeKeys(Dist::kNormal, 300, 8);
  const std::string file = Rmi::Build(keys)->Serialize(kSnapshot);
  for (size_t len = 0; len < file.size(); ++len) {
    std::unique_ptr<Rmi> loaded;
    ASSERT_TRUE(Rmi::Deserialize(std::string_view(file).substr(0, len), keys, kSnapshot, &loaded).IsCorruption())
        << "truncated to " << len;
  }
  std::unique_ptr<Rmi> loaded;
  EXPECT_TRUE(Rmi::Deserialize(file + std::string(16, '\0'), keys, kSnapshot, &loaded).IsCorruption());
}

TEST(RmiFile, HostileHeaderFieldsAreRejectedWithoutHugeAllocations) {
  const auto keys = MakeKeys(Dist::kUniform, 1000, 9);
  const std::string file = Rmi::Build(keys)->Serialize(kSnapshot);
  struct Field {
    size_t offset;
    uint64_t value;
    bool wide;
  };
  for (const Field f : {Field{64, ~uint64_t{0}, true}, Field{72, ~uint64_t{0}, true}, Field{72, 0, true},
                        Field{72, uint64_t{1} << 40, true}, Field{64, uint64_t{1} << 40, true},
                        Field{56, 64, false}, Field{56, 0xFFFFFFFF, false}, Field{48, 1, false},
                        Field{48, 7, false}, Field{60, 3, false}, Field{52, 99, false},
                        Field{24, 1u << 31, true}, Field{32, 0, true}, Field{40, ~uint64_t{0}, true},
                        Field{8, 2, false}, Field{12, 0xFFFFFFFF, false}}) {
    std::string bad = file;
    if (f.wide) {
      EncodeFixed64(bad.data() + f.offset, f.value);
    } else {
      EncodeFixed32(bad.data() + f.offset, static_cast<uint32_t>(f.value));
    }
    FixCrc(&bad);
    std::unique_ptr<Rmi> loaded;
    const Status s = Rmi::Deserialize(bad, keys, kSnapshot, &loaded);
    EXPECT_TRUE(s.IsCorruption()) << "offset " << f.offset << " = " << f.value;
  }
}

TEST(RmiFile, MutationsWithValidChecksumAreRejectedOrHarmless) {
  // The checksum catches accidents; this covers a file written by a buggy or
  // different build (or on purpose): whatever the loader accepts must still
  // answer exactly.
  const int rounds = testing::Rounds(400);
  std::mt19937_64 rng(12);
  const auto keys = MakeKeys(Dist::kClusters, 2000, 10);
  const std::string file = Rmi::Build(keys, {.keys_per_leaf = 4})->Serialize(kSnapshot);
  int accepted = 0;
  for (int r = 0; r < rounds; ++r) {
    std::string bad = file;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (bad.size() - 4);
      bad[at] = rng() % 2 ? static_cast<char>(rng()) : static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
    }
    FixCrc(&bad);
    std::unique_ptr<Rmi> loaded;
    const Status s = Rmi::Deserialize(bad, keys, kSnapshot, &loaded);
    if (s.ok()) {
      ++accepted;
      ASSERT_NE(loaded, nullptr);
      testing::ExpectExact(*loaded, keys, r, 200);
      if (HasFailure()) return;
    } else {
      ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    }
  }
  // Some edits (an error bound made wider, say) are legitimately harmless.
  RecordProperty("accepted_mutations", accepted);
}

}  // namespace
}  // namespace kyrodb::index
