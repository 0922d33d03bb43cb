#include "http/json_body.h"

#include <utility>

#include "http/key_parse.h"

namespace kyrodb::http {
namespace {

using json = nlohmann::json;

// Builds the DOM from SAX events; see the header for why.
class DomBuilder {
 public:
  DomBuilder(json* root, size_t max_depth) : root_(root), max_depth_(max_depth) {}

  bool null() { return Put(json(nullptr)) != nullptr; }
  bool boolean(bool v) { return Put(json(v)) != nullptr; }
  bool number_integer(json::number_integer_t v) { return Put(json(v)) != nullptr; }
  bool number_unsigned(json::number_unsigned_t v) { return Put(json(v)) != nullptr; }
  bool number_float(json::number_float_t /*value*/, const json::string_t& text) {
    return Put(json::binary(json::binary_t::container_type(text.begin(), text.end()))) != nullptr;
  }
  bool string(json::string_t& v) { return Put(json(std::move(v))) != nullptr; }
  bool binary(json::binary_t& v) { return Put(json(std::move(v))) != nullptr; }

  bool start_object(std::size_t /*elements*/) { return Open(json::object()); }
  bool key(json::string_t& name) {
    json* object = stack_.back();
    if (object->contains(name)) {
      error_ = "invalid JSON: member " + QuoteForMessage(name) + " given more than once";
      return false;
    }
    slot_ = &(*object)[name];
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) { return Open(json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/, const json::exception& ex) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, ...":
    // the bracketed id means nothing to a client.
    std::string_view what = ex.what();
    if (auto close = what.find("] "); close != std::string_view::npos) what.remove_prefix(close + 2);
    error_ = "invalid JSON: " + std::string(what);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool Open(json&& container) {
    if (stack_.size() >= max_depth_) {
      error_ = "invalid JSON: nested deeper than " + std::to_string(max_depth_) + " levels";
      return false;
    }
    json* placed = Put(std::move(container));
    stack_.push_back(placed);
    return true;
  }

  // Places a value under the open container (or as the root) and returns
  // where it now lives. Only the containers on the current path are on the
  // stack, and they do not move while their children are added.
  json* Put(json&& v) {
    if (stack_.empty()) {
      *root_ = std::move(v);
      return root_;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    *slot_ = std::move(v);
    return slot_;
  }

  json* root_;
  size_t max_depth_;
  std::vector<json*> stack_;
  json* slot_ = nullptr;  // the member whose key was just read
  std::string error_;
};

// The common PUT body, {"key": K, "value": "V"} with nothing else, decoded
// from SAX events without building a DOM (a put's JSON DOM cost 13
// allocations; docs/BENCHMARKS.md, "Profile"). Anything else (another
// member, a nested value, a duplicate, a key that is not a plain integer or a
// valid decimal string, a parse error) stops it, and DecodePut decodes the
// body again through the DOM, which gives the exact error message: the fast
// path never decides that a body is wrong.
class PutFastPath {
 public:
  explicit PutFastPath(PutItem* out) : out_(out) {}

  bool done() const { return closed_ && have_key_ && have_value_; }

  bool null() { return false; }
  bool boolean(bool /*v*/) { return false; }
  bool number_integer(json::number_integer_t v) {
    if (expect_ != Member::kKey || v != 0) return false;  // negative: the DOM path words the error
    return TakeKey(0);
  }
  bool number_unsigned(json::number_unsigned_t v) { return expect_ == Member::kKey && TakeKey(v); }
  bool number_float(json::number_float_t /*v*/, const json::string_t& /*text*/) { return false; }
  bool string(json::string_t& v) {
    if (expect_ == Member::kValue) {
      out_->value = std::move(v);
      have_value_ = true;
      expect_ = Member::kNone;
      return true;
    }
    if (expect_ != Member::kKey) return false;
    uint64_t key = 0;
    std::string ignored;
    return ParseKey(v, "key", &key, &ignored) && TakeKey(key);
  }
  bool binary(json::binary_t& /*v*/) { return false; }
  bool start_object(std::size_t /*elements*/) { return !opened_ && (opened_ = true); }
  bool key(json::string_t& name) {
    if (name == "key" && !have_key_) {
      expect_ = Member::kKey;
      return true;
    }
    if (name == "value" && !have_value_) {
      expect_ = Member::kValue;
      return true;
    }
    return false;
  }
  bool end_object() { return (closed_ = true); }
  bool start_array(std::size_t /*elements*/) { return false; }
  bool end_array() { return false; }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/, const json::exception& /*ex*/) {
    return false;
  }

 private:
  enum class Member : uint8_t { kNone, kKey, kValue };

  bool TakeKey(uint64_t key) {
    out_->key = key;
    have_key_ = true;
    expect_ = Member::kNone;
    return true;
  }

  PutItem* out_;
  Member expect_ = Member::kNone;
  bool opened_ = false;
  bool closed_ = false;
  bool have_key_ = false;
  bool have_value_ = false;
};

const char* TypeName(const json& v) {
  // A binary here is always a number we kept as text (see the header).
  return v.is_binary() ? "number" : v.type_name();
}

bool Fail(DecodeError* error, BodyError kind, std::string message) {
  error->kind = kind;
  error->message = std::move(message);
  return false;
}

bool ParseObject(std::string_view body, json* doc, DecodeError* error) {
  std::string message;
  if (!ParseJsonBody(body, doc, &message)) return Fail(error, BodyError::kInvalidJson, std::move(message));
  if (!doc->is_object()) {
    return Fail(error, BodyError::kBadShape,
                std::string("request body must be a JSON object, got ") + (TypeName(*doc)));
  }
  return true;
}

// Reads {"key": K, "value": "V"} out of `item`, moving the value string.
bool TakeItem(json& item, std::string_view where, size_t max_value_bytes, PutItem* out, DecodeError* error) {
  if (!item.is_object()) {
    return Fail(error, BodyError::kBadShape, std::string(where) + " must be an object, got " + TypeName(item));
  }
  auto key_it = item.find("key");
  std::string prefix = where.empty() ? std::string() : std::string(where) + ": ";
  if (key_it == item.end()) return Fail(error, BodyError::kBadShape, prefix + "missing field \"key\"");
  auto value_it = item.find("value");
  if (value_it == item.end()) return Fail(error, BodyError::kBadShape, prefix + "missing field \"value\"");
  std::string message;
  std::string what = where.empty() ? std::string("key") : std::string(where) + ".key";
  if (!JsonToKey(*key_it, what, &out->key, &message)) return Fail(error, BodyError::kInvalidKey, std::move(message));
  if (!value_it->is_string()) {
    std::string field = where.empty() ? std::string("value") : std::string(where) + ".value";
    return Fail(error, BodyError::kBadShape,
                field + " must be a string, got " + TypeName(*value_it) +
                    " (store bytes that are not text with PUT /v1/kv/{key})");
  }
  auto& value = value_it->get_ref<std::string&>();
  if (value.size() > max_value_bytes) {
    return Fail(error, BodyError::kValueTooLarge,
                (where.empty() ? std::string("value") : std::string(where) + ".value") + " is " +
                    std::to_string(value.size()) + " bytes; the limit is KYRODB_MAX_VALUE_BYTES=" +
                    std::to_string(max_value_bytes));
  }
  out->value = std::move(value);
  return true;
}

// The array member `name` of `doc`, with at most max_items elements.
bool FindArray(json& doc, const char* name, size_t max_items, json** out, DecodeError* error) {
  auto it = doc.find(name);
  if (it == doc.end()) return Fail(error, BodyError::kBadShape, std::string("missing field \"") + name + "\"");
  if (!it->is_array()) {
    return Fail(error, BodyError::kBadShape, std::string(name) + " must be an array, got " + TypeName(*it));
  }
  if (it->size() > max_items) {
    return Fail(error, BodyError::kTooManyItems,
                std::string(name) + " has " + std::to_string(it->size()) +
                    " elements; the limit is KYRODB_MAX_BATCH_ITEMS=" + std::to_string(max_items));
  }
  *out = &*it;
  return true;
}

}  // namespace

bool ParseJsonBody(std::string_view body, nlohmann::json* out, std::string* error, size_t max_depth) {
  bool blank = true;
  for (char c : body) blank = blank && (c == ' ' || c == '\t' || c == '\r' || c == '\n');
  if (blank) {
    *error = "request body is empty; expected a JSON object";
    return false;
  }
  *out = json();
  DomBuilder builder(out, max_depth);
  bool ok = json::sax_parse(body.begin(), body.end(), &builder, json::input_format_t::json, /*strict=*/true);
  if (!ok) {
    *error = builder.error().empty() ? std::string("invalid JSON") : builder.error();
    *out = json();
  }
  return ok;
}

bool JsonToKey(const nlohmann::json& v, std::string_view what, uint64_t* key, std::string* error) {
  if (v.is_number_unsigned()) {
    *key = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer()) {
    // The lexer yields a signed integer only for a leading '-'.
    if (v.get<int64_t>() == 0) {
      *key = 0;
      return true;
    }
    *error = "invalid " + std::string(what) + " " + v.dump() + ": must not be negative";
    return false;
  }
  if (v.is_binary()) {
    const auto& bytes = v.get_binary();
    std::string text(bytes.begin(), bytes.end());
    return ParseKey(text, what, key, error);
  }
  if (v.is_string()) return ParseKey(v.get_ref<const std::string&>(), what, key, error);
  *error = "invalid " + std::string(what) + ": must be an unsigned integer or a decimal string, got " +
           TypeName(v);
  return false;
}

bool DecodePut(std::string_view body, size_t max_value_bytes, PutItem* out, DecodeError* error) {
  PutItem fast;
  PutFastPath fast_path(&fast);
  if (json::sax_parse(body.begin(), body.end(), &fast_path, json::input_format_t::json, /*strict=*/true) &&
      fast_path.done() && fast.value.size() <= max_value_bytes) {
    *out = std::move(fast);
    return true;
  }
  json doc;
  if (!ParseObject(body, &doc, error)) return false;
  return TakeItem(doc, "", max_value_bytes, out, error);
}

bool DecodeBatchPut(std::string_view body, size_t max_value_bytes, size_t max_items, std::vector<PutItem>* out,
                    DecodeError* error) {
  json doc;
  if (!ParseObject(body, &doc, error)) return false;
  json* items = nullptr;
  if (!FindArray(doc, "items", max_items, &items, error)) return false;
  if (items->empty()) return Fail(error, BodyError::kBadShape, "items must not be empty");
  std::vector<PutItem> decoded(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    if (!TakeItem((*items)[i], "items[" + std::to_string(i) + "]", max_value_bytes, &decoded[i], error)) {
      return false;
    }
  }
  *out = std::move(decoded);
  return true;
}

bool DecodeBatchGet(std::string_view body, size_t max_items, std::vector<uint64_t>* out, DecodeError* error) {
  json doc;
  if (!ParseObject(body, &doc, error)) return false;
  json* keys = nullptr;
  if (!FindArray(doc, "keys", max_items, &keys, error)) return false;
  std::vector<uint64_t> decoded(keys->size());
  std::string message;
  for (size_t i = 0; i < keys->size(); ++i) {
    if (!JsonToKey((*keys)[i], "keys[" + std::to_string(i) + "]", &decoded[i], &message)) {
      return Fail(error, BodyError::kInvalidKey, std::move(message));
    }
  }
  *out = std::move(decoded);
  return true;
}

}  // namespace kyrodb::http
