// Data routes (SPEC §2). Writes hand the store a callback that runs on the
// WAL thread once the write is durable; it builds the small JSON answer and
// passes it to `reply`, which posts it back to the connection's strand. No
// I/O thread ever waits for an fsync.
#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "http/errors.h"
#include "http/handlers.h"
#include "http/key_parse.h"

namespace kyrodb::http {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxKey = std::numeric_limits<uint64_t>::max();

// The {key} path segment, percent-decoded, as a key.
bool PathKey(HandlerArgs& args, uint64_t* key, std::optional<Response>* error) {
  std::string decoded;
  std::string message;
  if (!PercentDecode(args.param, &decoded)) {
    message = "invalid key " + QuoteForMessage(args.param) + ": malformed percent-escape";
  } else if (ParseKey(decoded, "key", key, &message)) {
    return true;
  }
  *error = InvalidKeyResponse(args.state, message);
  return false;
}

// A query parameter as a key; `fallback` when absent (nullopt: required).
bool QueryKey(HandlerArgs& args, std::string_view name, std::optional<uint64_t> fallback, uint64_t* key,
              std::optional<Response>* error) {
  const std::string* text = args.query.Find(name);
  if (text == nullptr) {
    if (fallback) {
      *key = *fallback;
      return true;
    }
    args.state.metrics.Rejected(RejectReason::kBadRequest);
    *error = MakeError(bhttp::status::bad_request, "bad_request",
                       "missing query parameter \"" + std::string(name) + "\"");
    return false;
  }
  std::string message;
  if (ParseKey(*text, name, key, &message)) return true;
  if (name == "limit") {  // a count, not a key
    args.state.metrics.Rejected(RejectReason::kBadRequest);
    *error = MakeError(bhttp::status::bad_request, "bad_request", message);
  } else {
    *error = InvalidKeyResponse(args.state, message);
  }
  return false;
}

// The optional Idempotency-Key header of a write (SPEC §2): 1..64 visible
// ASCII characters. The store remembers the newest keys (a bounded window,
// Options::idempotency_window_keys) and answers a retry with the first attempt's
// offset without writing again, also across a restart.
bool ReadWriteOptions(HandlerArgs& args, WriteOptions* options, std::optional<Response>* error) {
  auto it = args.req.find("Idempotency-Key");
  if (it == args.req.end()) return true;
  std::string_view key = Sv(it->value());
  bool ok = !key.empty() && key.size() <= 64;
  for (unsigned char c : key) ok = ok && c >= 0x21 && c <= 0x7e;
  if (!ok) {
    args.state.metrics.Rejected(RejectReason::kBadRequest);
    *error = MakeError(bhttp::status::bad_request, "bad_request",
                       "invalid Idempotency-Key: must be 1 to 64 visible ASCII characters");
    return false;
  }
  options->idempotency_key = std::string(key);
  return true;
}

Response NotFound(uint64_t key) {
  return MakeError(bhttp::status::not_found, "not_found", "key " + std::to_string(key) + " not found");
}

// {"offset":N}, formatted directly: it runs on the WAL thread for every
// acknowledged write, between two group commits.
Response OffsetResponse(uint64_t offset) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, kJsonType);
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), offset);
  std::string& body = res.body();
  body.reserve(12 + static_cast<size_t>(end - digits));
  body.append("{\"offset\":").append(digits, end).push_back('}');
  return res;
}

// The answer to a durable write: {"offset": N} or the store's error.
WriteCallback OffsetReply(Reply reply) {
  return [reply = std::move(reply)](const Status& status, uint64_t offset) {
    reply(status.ok() ? OffsetResponse(offset) : MakeStoreError(status));
  };
}

Response ValueTooLarge(ServerState& state, size_t size) {
  state.metrics.Rejected(RejectReason::kValueTooLarge);
  return MakeError(bhttp::status::payload_too_large, "value_too_large",
                   "value is " + std::to_string(size) + " bytes; the limit is KYRODB_MAX_VALUE_BYTES=" +
                       std::to_string(state.options.max_value_bytes));
}

// Raw value bytes with the offset of the write that produced them.
Response RawValue(HandlerArgs& args, ValueRef&& value) {
  const Request& req = args.req;
  std::string etag = "\"" + std::to_string(value.offset) + "\"";
  std::string_view if_none_match = Sv(req[bhttp::field::if_none_match]);
  bool not_modified = !if_none_match.empty() && (if_none_match == "*" || if_none_match.find(etag) != std::string_view::npos);
  Response res{not_modified ? bhttp::status::not_modified : bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, kOctetType);
  res.set(bhttp::field::etag, etag);
  res.set("X-KyroDB-Offset", std::to_string(value.offset));
  if (!not_modified) SetValueBody(args, std::move(value), &res);
  return res;
}

}  // namespace

void SetValueBody(HandlerArgs& args, ValueRef&& value, Response* res) {
  if (args.pinned_body != nullptr) {
    *args.pinned_body = std::move(value);
  } else {
    res->body().assign(value.data.data(), value.data.size());
  }
}

Response InvalidKeyResponse(ServerState& state, const std::string& message) {
  state.metrics.Rejected(RejectReason::kInvalidKey);
  return MakeError(bhttp::status::bad_request, "invalid_key", message);
}

Response BodyErrorResponse(ServerState& state, const DecodeError& error) {
  switch (error.kind) {
    case BodyError::kInvalidJson:
      state.metrics.Rejected(RejectReason::kInvalidJson);
      return MakeError(bhttp::status::bad_request, "invalid_json", error.message);
    case BodyError::kInvalidKey:
      return InvalidKeyResponse(state, error.message);
    case BodyError::kBadShape:
      state.metrics.Rejected(RejectReason::kBadRequest);
      return MakeError(bhttp::status::bad_request, "bad_request", error.message);
    case BodyError::kValueTooLarge:
      state.metrics.Rejected(RejectReason::kValueTooLarge);
      return MakeError(bhttp::status::payload_too_large, "value_too_large", error.message);
    case BodyError::kTooManyItems:
      state.metrics.Rejected(RejectReason::kBatchTooLarge);
      return MakeError(bhttp::status::payload_too_large, "batch_too_large", error.message);
  }
  return MakeError(bhttp::status::bad_request, "bad_request", error.message);
}

std::optional<Response> HandlePut(HandlerArgs& args) {
  PutItem item;
  DecodeError error;
  if (!DecodePut(args.req.body(), args.state.options.max_value_bytes, &item, &error)) {
    return BodyErrorResponse(args.state, error);
  }
  WriteOptions options;
  std::optional<Response> bad;
  if (!ReadWriteOptions(args, &options, &bad)) return bad;
  args.store->Put(item.key, std::move(item.value), options, OffsetReply(args.reply()));
  return std::nullopt;
}

std::optional<Response> HandleGetFast(HandlerArgs& args) {
  uint64_t key = 0;
  std::optional<Response> error;
  if (!PathKey(args, &key, &error)) return error;
  ValueRef value;
  Status s = args.store->Get(key, &value);
  if (s.IsNotFound()) return NotFound(key);
  if (!s.ok()) return MakeStoreError(s);
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, kOctetType);
  SetValueBody(args, std::move(value), &res);
  return res;
}

std::optional<Response> HandleLookup(HandlerArgs& args) {
  uint64_t key = 0;
  std::optional<Response> error;
  if (!QueryKey(args, "key", std::nullopt, &key, &error)) return error;
  ValueRef value;
  Status s = args.store->Get(key, &value);
  if (s.IsNotFound()) return NotFound(key);
  if (!s.ok()) return MakeStoreError(s);
  // A value stored as raw bytes that are not UTF-8 shows U+FFFD for each bad
  // byte here; GET /v1/kv/{key} returns it exactly.
  return MakeJson(bhttp::status::ok,
                  {{"key", key}, {"value", std::string(value.data)}, {"offset", value.offset}});
}

std::optional<Response> HandleKv(HandlerArgs& args) {
  uint64_t key = 0;
  std::optional<Response> error;
  if (!PathKey(args, &key, &error)) return error;
  WriteOptions options;
  bool is_write = args.req.method() == bhttp::verb::put || args.req.method() == bhttp::verb::delete_;
  if (is_write && !ReadWriteOptions(args, &options, &error)) return error;
  switch (args.req.method()) {
    case bhttp::verb::put: {
      // Any bytes; the Content-Type is not stored.
      if (args.req.body().size() > args.state.options.max_value_bytes) {
        return ValueTooLarge(args.state, args.req.body().size());
      }
      args.store->Put(key, std::move(args.req.body()), options, OffsetReply(args.reply()));
      return std::nullopt;
    }
    case bhttp::verb::delete_:
      args.store->Delete(key, options, [reply = args.reply(), key](const Status& status, uint64_t offset) {
        if (status.IsNotFound()) return reply(NotFound(key));
        reply(status.ok() ? OffsetResponse(offset) : MakeStoreError(status));
      });
      return std::nullopt;
    default: {  // GET and HEAD
      ValueRef value;
      Status s = args.store->Get(key, &value);
      if (s.IsNotFound()) return NotFound(key);
      if (!s.ok()) return MakeStoreError(s);
      return RawValue(args, std::move(value));
    }
  }
}

std::optional<Response> HandleBatchPut(HandlerArgs& args) {
  std::vector<PutItem> items;
  DecodeError error;
  const HttpOptions& opt = args.state.options;
  if (!DecodeBatchPut(args.req.body(), opt.max_value_bytes, opt.max_batch_items, &items, &error)) {
    return BodyErrorResponse(args.state, error);
  }
  std::vector<WriteOp> ops(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    ops[i].type = WriteOp::Type::kPut;
    ops[i].key = items[i].key;
    ops[i].value = std::move(items[i].value);
  }
  WriteOptions options;
  std::optional<Response> bad;
  if (!ReadWriteOptions(args, &options, &bad)) return bad;
  size_t count = ops.size();
  auto done = [reply = args.reply(), count](const Status& status, uint64_t first_offset) {
    reply(status.ok() ? MakeJson(bhttp::status::ok, {{"first_offset", first_offset}, {"count", count}})
                      : MakeStoreError(status));
  };
  args.store->Write(std::move(ops), options, std::move(done));
  return std::nullopt;
}

std::optional<Response> HandleBatchGet(HandlerArgs& args) {
  std::vector<uint64_t> keys;
  DecodeError error;
  if (!DecodeBatchGet(args.req.body(), args.state.options.max_batch_items, &keys, &error)) {
    return BodyErrorResponse(args.state, error);
  }
  json values = json::array();
  size_t bytes = 0;
  for (uint64_t key : keys) {
    ValueRef value;
    Status s = args.store->Get(key, &value);
    if (s.IsNotFound()) {
      values.push_back(nullptr);
      continue;
    }
    if (!s.ok()) return MakeStoreError(s);
    bytes += value.data.size();
    if (bytes > args.state.options.max_response_bytes) {
      args.state.metrics.Rejected(RejectReason::kBatchTooLarge);
      return MakeError(bhttp::status::payload_too_large, "response_too_large",
                       "the values of these " + std::to_string(keys.size()) + " keys exceed " +
                           std::to_string(args.state.options.max_response_bytes) +
                           " bytes; ask for fewer keys per batch");
    }
    values.push_back(std::string(value.data));
  }
  return MakeJson(bhttp::status::ok, {{"values", std::move(values)}});
}

std::optional<Response> HandleScan(HandlerArgs& args) {
  const HttpOptions& opt = args.state.options;
  uint64_t start = 0;
  uint64_t end = kMaxKey;
  uint64_t limit = opt.default_scan_limit;
  std::optional<Response> error;
  bool open_end = args.query.Find("end") == nullptr;
  if (!QueryKey(args, "start", 0, &start, &error) || !QueryKey(args, "end", kMaxKey, &end, &error) ||
      !QueryKey(args, "limit", opt.default_scan_limit, &limit, &error)) {
    return error;
  }
  if (limit == 0) {
    args.state.metrics.Rejected(RejectReason::kBadRequest);
    return MakeError(bhttp::status::bad_request, "bad_request", "limit must be at least 1");
  }
  if (start > end) {
    args.state.metrics.Rejected(RejectReason::kBadRequest);
    return MakeError(bhttp::status::bad_request, "bad_request",
                     "start (" + std::to_string(start) + ") must not be above end (" + std::to_string(end) + ")");
  }
  limit = std::min<uint64_t>(limit, opt.max_scan_limit);

  std::vector<ScanEntry> entries;
  bool more = false;
  // `end` is exclusive, so no explicit end can include key 2^64-1; without
  // an end the scan runs through it.
  Status s = args.store->Scan(start, open_end ? std::nullopt : std::optional<uint64_t>(end),
                              static_cast<size_t>(limit), &entries, &more);
  if (!s.ok()) return MakeStoreError(s);

  json items = json::array();
  size_t bytes = 0;
  size_t taken = 0;
  for (const ScanEntry& e : entries) {
    if (taken > 0 && bytes + e.value.data.size() > opt.max_response_bytes) {
      more = true;  // page cut by size: the cursor resumes right here
      break;
    }
    bytes += e.value.data.size();
    items.push_back({{"key", e.key}, {"value", std::string(e.value.data)}, {"offset", e.value.offset}});
    ++taken;
  }
  json body = {{"items", std::move(items)}, {"count", taken}, {"next", nullptr}};
  if (more && taken > 0 && entries[taken - 1].key != kMaxKey) body["next"] = entries[taken - 1].key + 1;
  return MakeJson(bhttp::status::ok, body);
}

}  // namespace kyrodb::http
