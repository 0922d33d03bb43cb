// Request body decoding: depth bound, duplicate members, number source text,
// and the typed decoders of the JSON routes.
#include "http/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace kyrodb::http {
namespace {

using nlohmann::json;

TEST(JsonBody, ParsesPlainDocuments) {
  json doc;
  std::string error;
  ASSERT_TRUE(ParseJsonBody(R"({"a": [1, "x", null, true, {"b": -2}]})", &doc, &error)) << error;
  EXPECT_EQ(doc["a"][0], 1);
  EXPECT_EQ(doc["a"][1], "x");
  EXPECT_TRUE(doc["a"][2].is_null());
  EXPECT_EQ(doc["a"][4]["b"], -2);
}

TEST(JsonBody, EmptyAndTruncatedAreErrors) {
  json doc;
  std::string error;
  for (const char* body : {"", "   \n", "{", "{\"key\": 1, \"val", "[1, 2", "nul", "{\"a\":}", "{} {}", "not json"}) {
    EXPECT_FALSE(ParseJsonBody(body, &doc, &error)) << body;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find("[json.exception"), std::string::npos) << "internal ids leak: " << error;
  }
  ASSERT_FALSE(ParseJsonBody("", &doc, &error));
  EXPECT_NE(error.find("empty"), std::string::npos);
}

TEST(JsonBody, NestingIsBounded) {
  json doc;
  std::string error;
  std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJsonBody(ok, &doc, &error)) << error;
  for (size_t depth : {kMaxJsonDepth + 1, size_t{1000}, size_t{200000}}) {
    std::string deep = std::string(depth, '[') + std::string(depth, ']');
    EXPECT_FALSE(ParseJsonBody(deep, &doc, &error));
    EXPECT_NE(error.find("nested deeper than"), std::string::npos) << error;
  }
  std::string objects;
  for (int i = 0; i < 100; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100, '}');
  EXPECT_FALSE(ParseJsonBody(objects, &doc, &error));
}

TEST(JsonBody, DuplicateMembersAreErrors) {
  json doc;
  std::string error;
  EXPECT_FALSE(ParseJsonBody(R"({"key": 1, "key": 2})", &doc, &error));
  EXPECT_NE(error.find("more than once"), std::string::npos);
  EXPECT_TRUE(ParseJsonBody(R"({"a": {"key": 1}, "b": {"key": 2}})", &doc, &error)) << "same name, other objects";
}

TEST(JsonBody, InvalidUtf8IsAnError) {
  json doc;
  std::string error;
  EXPECT_FALSE(ParseJsonBody("{\"value\": \"\xff\xfe\"}", &doc, &error));
}

TEST(JsonBody, KeysFromJson) {
  struct Case {
    const char* json_key;
    bool ok;
    uint64_t key;
    const char* problem;
  };
  const Case cases[] = {
      {"0", true, 0, ""},
      {"18446744073709551615", true, 18446744073709551615ull, ""},
      {"\"18446744073709551615\"", true, 18446744073709551615ull, ""},
      {"\"42\"", true, 42, ""},
      {"-0", true, 0, ""},
      {"18446744073709551616", false, 0, "out of range"},
      {"\"18446744073709551616\"", false, 0, "out of range"},
      {"-1", false, 0, "negative"},
      {"\"-1\"", false, 0, "negative"},
      {"-1.5", false, 0, "negative"},
      {"1.5", false, 0, "fraction"},
      {"1.0", false, 0, "fraction"},
      {"1e3", false, 0, "exponent"},
      {"\"\"", false, 0, "empty"},
      {"\" 1\"", false, 0, "whitespace"},
      {"\"+1\"", false, 0, "sign"},
      {"\"abc\"", false, 0, "decimal integer"},
      {"true", false, 0, "boolean"},
      {"null", false, 0, "null"},
      {"[1]", false, 0, "array"},
      {"{}", false, 0, "object"},
  };
  for (const Case& c : cases) {
    PutItem item;
    DecodeError error;
    std::string body = std::string("{\"key\": ") + c.json_key + ", \"value\": \"v\"}";
    bool ok = DecodePut(body, 100, &item, &error);
    EXPECT_EQ(ok, c.ok) << body << " -> " << error.message;
    if (c.ok) {
      EXPECT_EQ(item.key, c.key) << body;
    } else {
      EXPECT_EQ(error.kind, BodyError::kInvalidKey) << body;
      EXPECT_NE(error.message.find(c.problem), std::string::npos) << body << " -> " << error.message;
    }
  }
}

TEST(JsonBody, PutShape) {
  PutItem item;
  DecodeError error;
  ASSERT_TRUE(DecodePut(R"({"key": 123, "value": "hello", "extra": [1]})", 100, &item, &error));
  EXPECT_EQ(item.key, 123u);
  EXPECT_EQ(item.value, "hello");

  ASSERT_TRUE(DecodePut(R"({"key": 1, "value": "h\u00e9\n\"\u0000"})", 100, &item, &error));
  EXPECT_EQ(item.value, std::string("h\xc3\xa9\n\"\0", 6));

  struct Bad {
    const char* body;
    BodyError kind;
    const char* words;
  };
  const Bad bad[] = {
      {"[1]", BodyError::kBadShape, "object"},
      {R"("text")", BodyError::kBadShape, "object"},
      {R"({"value": "x"})", BodyError::kBadShape, "\"key\""},
      {R"({"key": 1})", BodyError::kBadShape, "\"value\""},
      {R"({"key": 1, "value": 5})", BodyError::kBadShape, "string"},
      {R"({"key": 1, "value": 1.5})", BodyError::kBadShape, "got number"},
      {R"({"key": 1, "value": null})", BodyError::kBadShape, "string"},
      {R"({"key": 1, "value": ")" "0123456789a\"}", BodyError::kValueTooLarge, "KYRODB_MAX_VALUE_BYTES=10"},
      {"{", BodyError::kInvalidJson, "invalid JSON"},
  };
  for (const Bad& b : bad) {
    EXPECT_FALSE(DecodePut(b.body, 10, &item, &error)) << b.body;
    EXPECT_EQ(error.kind, b.kind) << b.body << " -> " << error.message;
    EXPECT_NE(error.message.find(b.words), std::string::npos) << b.body << " -> " << error.message;
  }
  EXPECT_TRUE(DecodePut(R"({"key": 1, "value": "0123456789"})", 10, &item, &error)) << "exactly the limit";
}

// DecodePut decodes the plain shape without a DOM and falls back to the DOM
// for everything else; both must agree on what is valid.
TEST(JsonBody, PutFastPathAndDomAgree) {
  struct Good {
    const char* body;
    uint64_t key;
    const char* value;
  };
  const Good good[] = {
      {R"({"key":7,"value":"v"})", 7, "v"},
      {R"({"value":"v","key":"8"})", 8, "v"},
      {R"( { "key" : -0 , "value" : "" } )", 0, ""},
      {R"({"key":18446744073709551615,"value":"max"})", 18446744073709551615ull, "max"},
      {R"({"key":1,"value":"v","other":{"deep":[1,2]}})", 1, "v"},
  };
  for (const Good& g : good) {
    PutItem item;
    DecodeError error;
    ASSERT_TRUE(DecodePut(g.body, 100, &item, &error)) << g.body << " -> " << error.message;
    EXPECT_EQ(item.key, g.key) << g.body;
    EXPECT_EQ(item.value, g.value) << g.body;
  }
  struct Bad {
    const char* body;
    BodyError kind;
  };
  const Bad bad[] = {
      {R"({"key":1,"key":2,"value":"v"})", BodyError::kInvalidJson},    // duplicate member
      {R"({"key":1,"value":"v","value":"w"})", BodyError::kInvalidJson},
      {R"({"key":1,"value":"v"} x)", BodyError::kInvalidJson},           // trailing bytes
      {R"({"key":-1,"value":"v"})", BodyError::kInvalidKey},
      {R"({"key":"0x10","value":"v"})", BodyError::kInvalidKey},
      {R"({"key":1e3,"value":"v"})", BodyError::kInvalidKey},
      {R"({"key":18446744073709551616,"value":"v"})", BodyError::kInvalidKey},
      {R"({"key":1,"value":"v"}{"key":2,"value":"w"})", BodyError::kInvalidJson},
  };
  for (const Bad& b : bad) {
    PutItem item;
    DecodeError error;
    EXPECT_FALSE(DecodePut(b.body, 100, &item, &error)) << b.body;
    EXPECT_EQ(error.kind, b.kind) << b.body << " -> " << error.message;
  }
}

TEST(JsonBody, BatchPutValidatesEveryItem) {
  std::vector<PutItem> items;
  DecodeError error;
  ASSERT_TRUE(DecodeBatchPut(R"({"items": [{"key": 1, "value": "a"}, {"key": "2", "value": "b"}]})", 10, 5, &items,
                             &error));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].key, 2u);
  EXPECT_EQ(items[1].value, "b");

  items.clear();
  EXPECT_FALSE(DecodeBatchPut(R"({"items": [{"key": 1, "value": "a"}, {"key": -1, "value": "b"}]})", 10, 5, &items,
                              &error));
  EXPECT_TRUE(items.empty()) << "nothing is returned when one item is bad";
  EXPECT_EQ(error.kind, BodyError::kInvalidKey);
  EXPECT_NE(error.message.find("items[1]"), std::string::npos) << error.message;

  EXPECT_FALSE(DecodeBatchPut(R"({"items": [{"key": 1}]})", 10, 5, &items, &error));
  EXPECT_NE(error.message.find("items[0]"), std::string::npos) << error.message;
  EXPECT_FALSE(DecodeBatchPut(R"({"items": [1]})", 10, 5, &items, &error));
  EXPECT_EQ(error.kind, BodyError::kBadShape);
  EXPECT_FALSE(DecodeBatchPut(R"({"items": []})", 10, 5, &items, &error));
  EXPECT_EQ(error.kind, BodyError::kBadShape);
  EXPECT_FALSE(DecodeBatchPut(R"({"items": {}})", 10, 5, &items, &error));
  EXPECT_FALSE(DecodeBatchPut(R"({})", 10, 5, &items, &error));
  EXPECT_FALSE(DecodeBatchPut(R"({"items": [{"key": 1, "value": "0123456789abc"}]})", 10, 5, &items, &error));
  EXPECT_EQ(error.kind, BodyError::kValueTooLarge);

  std::string many = R"({"items": [)";
  for (int i = 0; i < 6; ++i) many += std::string(i ? "," : "") + R"({"key": 1, "value": "a"})";
  many += "]}";
  EXPECT_FALSE(DecodeBatchPut(many, 10, 5, &items, &error));
  EXPECT_EQ(error.kind, BodyError::kTooManyItems);
  EXPECT_NE(error.message.find("KYRODB_MAX_BATCH_ITEMS=5"), std::string::npos) << error.message;
}

TEST(JsonBody, BatchGet) {
  std::vector<uint64_t> keys;
  DecodeError error;
  ASSERT_TRUE(DecodeBatchGet(R"({"keys": [3, "18446744073709551615", 1]})", 5, &keys, &error));
  EXPECT_EQ(keys, (std::vector<uint64_t>{3, 18446744073709551615ull, 1}));
  ASSERT_TRUE(DecodeBatchGet(R"({"keys": []})", 5, &keys, &error));
  EXPECT_TRUE(keys.empty());
  EXPECT_FALSE(DecodeBatchGet(R"({"keys": [1, 2.5]})", 5, &keys, &error));
  EXPECT_EQ(error.kind, BodyError::kInvalidKey);
  EXPECT_NE(error.message.find("keys[1]"), std::string::npos);
  EXPECT_FALSE(DecodeBatchGet(R"({"keys": [1,2,3,4,5,6]})", 5, &keys, &error));
  EXPECT_EQ(error.kind, BodyError::kTooManyItems);
  EXPECT_FALSE(DecodeBatchGet(R"({"keys": [[[[1]]]]})", 5, &keys, &error));
  EXPECT_EQ(error.kind, BodyError::kInvalidKey);
}

TEST(JsonBody, HugeBodiesParseInBoundedWork) {
  // 2 MB of small numbers: parses (the body limit is what bounds it).
  std::string body = R"({"keys": [)";
  for (int i = 0; i < 400000; ++i) body += i ? ",1" : "1";
  body += "]}";
  std::vector<uint64_t> keys;
  DecodeError error;
  EXPECT_FALSE(DecodeBatchGet(body, 1000, &keys, &error));
  EXPECT_EQ(error.kind, BodyError::kTooManyItems);
  // A long string value.
  PutItem item;
  std::string big = R"({"key": 1, "value": ")" + std::string(1 << 20, 'x') + "\"}";
  EXPECT_TRUE(DecodePut(big, 1 << 20, &item, &error));
  EXPECT_EQ(item.value.size(), size_t{1} << 20);
}

}  // namespace
}  // namespace kyrodb::http
