// The wire format of the change stream (change_format.h): UTF-8 detection
// decides between "value" and "value_b64", so it must accept exactly UTF-8.
#include "http/change_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

namespace kyrodb::http {
namespace {

TEST(ChangeFormatTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii\n\t"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // UTF-16 surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("a\x80z"));            // stray continuation
}

TEST(ChangeFormatTest, Base64MatchesRfc4648) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xff\x00\x01\xfe", 4)), "/wAB/g==");
}

TEST(ChangeFormatTest, OneObjectPerWrite) {
  LogEntry put{7, WriteOp::Type::kPut, 18446744073709551615ull, "hello"};
  EXPECT_EQ(ChangeJson(put), nlohmann::json::parse(
                                 R"({"offset":7,"op":"put","key":18446744073709551615,"value":"hello"})"));
  LogEntry bin{8, WriteOp::Type::kPut, 1, std::string("\x00\xff", 2)};
  EXPECT_EQ(ChangeJson(bin), nlohmann::json::parse(R"({"offset":8,"op":"put","key":1,"value_b64":"AP8="})"));
  LogEntry del{9, WriteOp::Type::kDelete, 1, ""};
  EXPECT_EQ(ChangeJson(del), nlohmann::json::parse(R"({"offset":9,"op":"delete","key":1})"));

  std::string line;
  AppendChangeLine(put, &line);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(ChangeFormatTest, EventsStayOnOneDataLine) {
  std::string out;
  AppendChangeEvent({5, WriteOp::Type::kPut, 3, "two\nlines\r\n"}, &out);
  EXPECT_EQ(out.rfind("id: 5\nevent: put\ndata: {", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 2), "\n\n");
  // Exactly three lines, then the blank line: newlines in values are escaped.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4);
  EXPECT_EQ(out.find('\r'), std::string::npos);

  out.clear();
  AppendErrorEvent("subscriber_too_slow", "cut off", {{"resume_from", 12}}, &out);
  EXPECT_EQ(out,
            "event: error\ndata: {\"error\":{\"code\":\"subscriber_too_slow\",\"message\":\"cut off\","
            "\"resume_from\":12}}\n\n");
}

}  // namespace
}  // namespace kyrodb::http
