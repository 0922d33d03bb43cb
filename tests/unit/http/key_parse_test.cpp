// SPEC §1 key rules for keys written as text (paths, queries, JSON strings).
#include "http/key_parse.h"

#include <gtest/gtest.h>

#include <string>

namespace kyrodb::http {
namespace {

uint64_t MustParse(const std::string& text) {
  uint64_t key = 0;
  std::string error;
  EXPECT_TRUE(ParseKey(text, "key", &key, &error)) << text << ": " << error;
  return key;
}

std::string ErrorFor(const std::string& text) {
  uint64_t key = 12345;
  std::string error;
  EXPECT_FALSE(ParseKey(text, "key", &key, &error)) << "accepted " << text << " as " << key;
  EXPECT_EQ(key, 12345u) << "a rejected key must not be written";
  return error;
}

TEST(KeyParse, FullRange) {
  EXPECT_EQ(MustParse("0"), 0u);
  EXPECT_EQ(MustParse("1"), 1u);
  EXPECT_EQ(MustParse("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(MustParse("18446744073709551614"), 18446744073709551614ull);
  EXPECT_EQ(MustParse("007"), 7u) << "leading zeros are still decimal";
}

TEST(KeyParse, EachProblemIsNamed) {
  EXPECT_NE(ErrorFor("").find("empty"), std::string::npos);
  EXPECT_NE(ErrorFor("-1").find("negative"), std::string::npos);
  EXPECT_NE(ErrorFor("-0").find("negative"), std::string::npos);
  EXPECT_NE(ErrorFor("+1").find("sign"), std::string::npos);
  EXPECT_NE(ErrorFor("1.5").find("fraction"), std::string::npos);
  EXPECT_NE(ErrorFor("1.0").find("fraction"), std::string::npos);
  EXPECT_NE(ErrorFor("1e3").find("exponent"), std::string::npos);
  EXPECT_NE(ErrorFor("1E3").find("exponent"), std::string::npos);
  EXPECT_NE(ErrorFor("18446744073709551616").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorFor("99999999999999999999999").find("out of range"), std::string::npos);
  EXPECT_NE(ErrorFor(" 1").find("whitespace"), std::string::npos);
  EXPECT_NE(ErrorFor("1 ").find("whitespace"), std::string::npos);
  EXPECT_NE(ErrorFor("1\t").find("whitespace"), std::string::npos);
  EXPECT_NE(ErrorFor("abc").find("decimal integer"), std::string::npos);
  EXPECT_NE(ErrorFor("0x10").find("decimal integer"), std::string::npos);
  EXPECT_NE(ErrorFor("1a").find("decimal integer"), std::string::npos);
  EXPECT_NE(ErrorFor("e").find("decimal integer"), std::string::npos);
  EXPECT_NE(ErrorFor(std::string("1\0", 2)).find("decimal integer"), std::string::npos);
}

TEST(KeyParse, MessageNamesFieldAndQuotesInput) {
  uint64_t key = 0;
  std::string error;
  ASSERT_FALSE(ParseKey("x1", "start", &key, &error));
  EXPECT_EQ(error, "invalid start \"x1\": must be a decimal integer");
  // Long input is shortened in the message.
  ASSERT_FALSE(ParseKey(std::string(10000, '9'), "key", &key, &error));
  EXPECT_LT(error.size(), 200u);
  EXPECT_NE(error.find("out of range"), std::string::npos);
}

}  // namespace
}  // namespace kyrodb::http
