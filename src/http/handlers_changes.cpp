// The change stream routes (SPEC §2): GET /v1/replay answers a range of the
// log as JSON lines, GET /v1/subscribe streams it as Server-Sent Events (see
// change_stream.h). The wire format of one write is in change_format.h.
// Both read WAL files, which never happens on an I/O thread: ReadLog runs on
// the server's reader pool and the answer is posted back.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "http/change_format.h"
#include "http/change_stream.h"
#include "http/errors.h"
#include "http/handlers.h"
#include "http/key_parse.h"

namespace kyrodb::http {
namespace {

constexpr uint64_t kMaxOffset = std::numeric_limits<uint64_t>::max();

// An offset or count from the query string; `fallback` when absent (nullopt:
// required). Offsets are written like keys (decimal, 0 .. 2^64-1), but a bad
// one is a bad_request, not an invalid_key.
bool QueryNumber(HandlerArgs& args, std::string_view name, std::optional<uint64_t> fallback, uint64_t* value,
                 std::optional<Response>* error) {
  const std::string* text = args.query.Find(name);
  std::string message;
  if (text == nullptr) {
    if (fallback) {
      *value = *fallback;
      return true;
    }
    message = "missing query parameter \"" + std::string(name) + "\"";
  } else if (ParseKey(*text, name, value, &message)) {
    return true;
  }
  args.state.metrics.Rejected(RejectReason::kBadRequest);
  *error = MakeError(bhttp::status::bad_request, "bad_request", message);
  return false;
}

Response BadRequest(ServerState& state, const std::string& message) {
  state.metrics.Rejected(RejectReason::kBadRequest);
  return MakeError(bhttp::status::bad_request, "bad_request", message);
}

// On the reader pool: one page of [start, end).
Response ReplayPage(const HttpOptions& opt, kyrodb::Store* store, uint64_t start, uint64_t end, size_t limit) {
  // Every write up to `last` is in the log (or compacted) by the time ReadLog
  // looks, so a complete answer lets the client resume after it.
  const uint64_t last = store->LastOffset();
  std::vector<LogEntry> entries;
  uint64_t first_available = 0;
  // One more than asked: whether the page is cut by the limit.
  Status s = store->ReadLog(start, end, limit + 1, &entries, &first_available);
  if (!s.ok()) return MakeStoreError(s);
  if (start < end && std::max<uint64_t>(start, 1) < first_available) {
    Response res = MakeJson(
        bhttp::status::gone,
        {{"error",
          {{"code", "history_compacted"},
           {"message", "the log before offset " + std::to_string(first_available) +
                           " was compacted away; start must be at least " + std::to_string(first_available) +
                           " (older writes live only in the snapshot: use /v1/scan)"},
           {"first_available", first_available}}}});
    res.set("X-KyroDB-First-Available", std::to_string(first_available));
    return res;
  }

  Response res{bhttp::status::ok, 11};
  std::string& body = res.body();
  size_t taken = 0;
  bool cut = false;
  for (const LogEntry& e : entries) {
    if (taken == limit || (taken > 0 && body.size() + e.value.size() > opt.max_response_bytes)) {
      cut = true;
      break;
    }
    AppendChangeLine(e, &body);
    ++taken;
  }
  uint64_t next = 0;
  if (cut) {
    next = entries[taken].offset;
  } else {
    uint64_t seen = taken > 0 ? entries[taken - 1].offset : 0;
    uint64_t after = std::max(last, seen);
    next = after == kMaxOffset ? end : std::min(end, std::max(start, after + 1));
  }
  res.set(bhttp::field::content_type, kNdjsonType);
  // Where the next page starts; equal to `end` once the range is complete.
  res.set("X-KyroDB-Next", std::to_string(next));
  res.set("X-KyroDB-First-Available", std::to_string(first_available));
  return res;
}

}  // namespace

std::optional<Response> HandleReplay(HandlerArgs& args) {
  const HttpOptions& opt = args.state.options;
  uint64_t start = 0;
  uint64_t end = kMaxOffset;
  uint64_t limit = opt.default_replay_limit;
  std::optional<Response> error;
  if (!QueryNumber(args, "start", std::nullopt, &start, &error) ||
      !QueryNumber(args, "end", kMaxOffset, &end, &error) ||
      !QueryNumber(args, "limit", opt.default_replay_limit, &limit, &error)) {
    return error;
  }
  if (limit == 0) return BadRequest(args.state, "limit must be at least 1");
  if (start > end) {
    return BadRequest(args.state, "start (" + std::to_string(start) + ") must not be above end (" +
                                      std::to_string(end) + ")");
  }
  limit = std::min<uint64_t>(limit, opt.max_replay_limit);
  kyrodb::Store* store = args.store;
  RunReader(args.state, [&opt, store, start, end, limit, reply = args.reply()] {
    try {
      reply(ReplayPage(opt, store, start, end, static_cast<size_t>(limit)));
    } catch (const std::exception& e) {
      reply(MakeError(bhttp::status::internal_server_error, "internal", e.what()));
    }
  });
  return std::nullopt;
}

std::optional<Response> HandleSubscribe(HandlerArgs& args) {
  uint64_t from = 0;
  std::optional<Response> error;
  auto last_event_id = args.req.find("Last-Event-ID");
  if (last_event_id != args.req.end()) {
    // An EventSource reconnects to the same URL (with its original ?from=)
    // and says where it got to in this header, so the header wins.
    uint64_t id = 0;
    std::string message;
    if (!ParseKey(Sv(last_event_id->value()), "Last-Event-ID", &id, &message)) {
      return BadRequest(args.state, message);
    }
    if (id == kMaxOffset) return BadRequest(args.state, "Last-Event-ID is the last possible offset");
    from = id + 1;
  } else if (!QueryNumber(args, "from", args.store->LastOffset() + 1, &from, &error)) {
    return error;
  }
  if (args.req.method() == bhttp::verb::head) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, kEventStreamType);
    res.set(bhttp::field::cache_control, "no-cache");
    return res;
  }
  StreamReply stream_reply = args.stream_reply();
  if (!stream_reply) {
    return MakeError(bhttp::status::internal_server_error, "internal", "this server cannot stream responses");
  }
  ChangeStream::Open(args.state, args.store, from, args.reply(), std::move(stream_reply));
  return std::nullopt;
}

}  // namespace kyrodb::http
