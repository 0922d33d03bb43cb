// fuzz_http_json: the JSON request-body decoders (http/json_body.h).
//
// Input: selector u8 | limits u8 | body.
//   selector % 4: 0 DecodePut, 1 DecodeBatchPut, 2 DecodeBatchGet,
//                 3 ParseJsonBody with max_depth 1 + limits % 40
//   limits: bit 7 set -> max value 1 MiB, else limits & 63 bytes (to reach the
//           413 path); bit 6 set -> max items 1000, else 1 + limits % 8
//
// Invariants:
//  - no exception escapes and every refusal carries a message;
//  - a decoder says invalid_json exactly when ParseJsonBody refuses the body,
//    and ParseJsonBody accepts nothing that nlohmann's strict parser refuses
//    (ours only adds refusals: depth, duplicate members);
//  - an accepted DOM is no deeper than max_depth;
//  - accepted bodies respect the limits (value bytes, 1..max items for
//    batch put, 0..max keys for batch get) and round-trip: the decoded items
//    written back as JSON decode to the same items.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "http/json_body.h"

namespace {

using kyrodb::http::BodyError;
using kyrodb::http::DecodeError;
using kyrodb::http::PutItem;
using json = nlohmann::json;

size_t Depth(const json& v) {
  size_t deepest = 0;
  if (v.is_structured()) {
    for (const auto& child : v) deepest = std::max(deepest, Depth(child));
    return deepest + 1;
  }
  return 0;
}

void CheckRefusal(const DecodeError& e, std::string_view body) {
  FUZZ_CHECK(!e.message.empty(), "refusal without a message");
  std::string message;
  json doc;
  const bool parses = kyrodb::http::ParseJsonBody(body, &doc, &message);
  FUZZ_CHECK((e.kind == BodyError::kInvalidJson) == !parses, "kind invalid_json %d but ParseJsonBody %d",
             e.kind == BodyError::kInvalidJson, parses);
}

json ItemsJson(const std::vector<PutItem>& items) {
  json arr = json::array();
  for (const PutItem& it : items) arr.push_back({{"key", it.key}, {"value", it.value}});
  return arr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t selector = data[0] % 4;
  const uint8_t limits = data[1];
  const std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t max_value = (limits & 0x80) ? size_t{1} << 20 : limits & 63u;
  const size_t max_items = (limits & 0x40) ? 1000 : 1 + limits % 8;

  DecodeError error;
  switch (selector) {
    case 0: {
      PutItem item;
      if (!kyrodb::http::DecodePut(body, max_value, &item, &error)) {
        CheckRefusal(error, body);
        break;
      }
      FUZZ_CHECK(item.value.size() <= max_value, "value of %zu bytes, limit %zu", item.value.size(), max_value);
      const std::string again = json{{"key", item.key}, {"value", item.value}}.dump();
      PutItem round;
      FUZZ_CHECK(kyrodb::http::DecodePut(again, max_value, &round, &error), "round trip refused: %s",
                 error.message.c_str());
      FUZZ_CHECK(round.key == item.key && round.value == item.value, "round trip changed the item");
      break;
    }
    case 1: {
      std::vector<PutItem> items;
      if (!kyrodb::http::DecodeBatchPut(body, max_value, max_items, &items, &error)) {
        FUZZ_CHECK(items.empty(), "a refused batch returned items");
        CheckRefusal(error, body);
        break;
      }
      FUZZ_CHECK(!items.empty() && items.size() <= max_items, "%zu items, limit %zu", items.size(), max_items);
      for (const PutItem& it : items) FUZZ_CHECK(it.value.size() <= max_value, "value over the limit");
      const std::string again = json{{"items", ItemsJson(items)}}.dump();
      std::vector<PutItem> round;
      FUZZ_CHECK(kyrodb::http::DecodeBatchPut(again, max_value, max_items, &round, &error), "round trip refused: %s",
                 error.message.c_str());
      FUZZ_CHECK(round.size() == items.size(), "round trip changed the item count");
      for (size_t i = 0; i < items.size(); ++i) {
        FUZZ_CHECK(round[i].key == items[i].key && round[i].value == items[i].value, "round trip changed item %zu", i);
      }
      break;
    }
    case 2: {
      std::vector<uint64_t> keys;
      if (!kyrodb::http::DecodeBatchGet(body, max_items, &keys, &error)) {
        FUZZ_CHECK(keys.empty(), "a refused batch returned keys");
        CheckRefusal(error, body);
        break;
      }
      FUZZ_CHECK(keys.size() <= max_items, "%zu keys, limit %zu", keys.size(), max_items);
      const std::string again = json{{"keys", keys}}.dump();
      std::vector<uint64_t> round;
      FUZZ_CHECK(kyrodb::http::DecodeBatchGet(again, max_items, &round, &error), "round trip refused: %s",
                 error.message.c_str());
      FUZZ_CHECK(round == keys, "round trip changed the keys");
      break;
    }
    default: {
      const size_t depth = 1 + limits % 40;
      json doc;
      std::string message;
      if (!kyrodb::http::ParseJsonBody(body, &doc, &message, depth)) {
        FUZZ_CHECK(!message.empty(), "refusal without a message");
        FUZZ_CHECK(doc.is_null(), "a refused body left a DOM behind");
        break;
      }
      FUZZ_CHECK(json::accept(body), "ParseJsonBody accepted what nlohmann's strict parser refuses");
      FUZZ_CHECK(Depth(doc) <= depth, "DOM of depth %zu, limit %zu", Depth(doc), depth);
      break;
    }
  }
  return 0;
}
