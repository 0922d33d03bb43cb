#include "util/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace kyrodb::crc32c {
namespace {

// Known answers from RFC 3720 (iSCSI) B.4 and the common "123456789" check value.
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Value(std::string("123456789")), 0xE3069283u);
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Value(ascending), 0x46DD794Eu);
  EXPECT_EQ(Value(std::string()), 0u);
}

TEST(Crc32c, PortableAndHardwareAgreeAndExtendComposes) {
  std::mt19937_64 rng(42);
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 1000u, 4097u}) {
    std::string data(len, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    uint32_t whole = ExtendPortable(0, data.data(), data.size());
    if (HardwareAvailable()) {
      EXPECT_EQ(ExtendHardware(0, data.data(), data.size()), whole) << len;
    }
    size_t cut = len / 3;
    uint32_t parts = Extend(Extend(0, data.data(), cut), data.data() + cut, len - cut);
    EXPECT_EQ(parts, whole) << len;
  }
}

TEST(Crc32c, DetectsEverySingleBitFlip) {
  std::string data = "kyrodb write-ahead log record payload";
  uint32_t good = Value(data);
  for (size_t i = 0; i < data.size() * 8; ++i) {
    std::string bad = data;
    bad[i / 8] = static_cast<char>(bad[i / 8] ^ (1 << (i % 8)));
    EXPECT_NE(Value(bad), good) << "bit " << i;
  }
}

}  // namespace
}  // namespace kyrodb::crc32c
