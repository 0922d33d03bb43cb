#include "http/change_stream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <utility>

#include "http/change_format.h"
#include "http/errors.h"
#include "log/log.h"

namespace kyrodb::http {
namespace {

// A history page is read whole into memory and formatted at once; its size
// adapts to the values seen so a page stays near kPageBytes. ReadLog bounds a
// page by entries only, so the first page starts small.
constexpr size_t kPageBytes = 8u << 20;
constexpr size_t kFirstPageEntries = 64;
constexpr size_t kMinPageEntries = 16;
constexpr size_t kMaxPageEntries = 65536;
// What one Poll formats at most (on an I/O thread).
constexpr size_t kSliceEntries = 1024;
constexpr size_t kSliceBytes = 1u << 20;
// Tells EventSource clients how long to wait before reconnecting (ms).
constexpr std::string_view kGreeting = "retry: 2000\n\n";

Response CompactedError(uint64_t from, uint64_t first_available) {
  Response res = MakeJson(bhttp::status::gone,
                          {{"error",
                            {{"code", "history_compacted"},
                             {"message", "the log before offset " + std::to_string(first_available) +
                                             " was compacted away; offset " + std::to_string(from) +
                                             " cannot be streamed: reload from a snapshot or scan, then subscribe from " +
                                             std::to_string(first_available) + " or later"},
                             {"first_available", first_available}}}});
  res.set("X-KyroDB-First-Available", std::to_string(first_available));
  return res;
}

}  // namespace

void ChangeStream::Open(ServerState& state, kyrodb::Store* store, uint64_t from, Reply reply,
                        StreamReply stream_reply) {
  const size_t max = state.options.max_subscribers;
  if (state.subscribers.fetch_add(1) >= max) {
    state.subscribers.fetch_sub(1);
    reply(MakeRetryError(bhttp::status::service_unavailable, "too_many_subscribers",
                         "the server already serves its limit of KYRODB_MAX_SUBSCRIBERS=" + std::to_string(max) +
                             " change streams; retry later",
                         5));
    return;
  }
  state.metrics.subscribers_active().Increment();
  auto cs = std::make_shared<ChangeStream>(state, store, from);
  // The subscription first: every write from its first offset on reaches it,
  // so the history below has to cover exactly [from, first_offset).
  std::weak_ptr<ChangeStream> weak = cs;
  auto sub = store->Subscribe(state.options.subscriber_buffer_bytes, [weak] {
    if (auto self = weak.lock()) self->Wake();
  });
  if (sub == nullptr) {  // a store that cannot subscribe (closing)
    cs->Stop();
    return reply(MakeRetryError(bhttp::status::service_unavailable, "unavailable",
                                "the store cannot start a change stream now", 1));
  }
  cs->live_first_ = sub->first_offset();
  {
    std::lock_guard<std::mutex> lock(cs->mu_);
    cs->sub_ = std::move(sub);
  }

  Response header{bhttp::status::ok, 11};
  header.set(bhttp::field::content_type, kEventStreamType);
  header.set(bhttp::field::cache_control, "no-cache");
  // nginx buffers proxied responses unless told otherwise.
  header.set("X-Accel-Buffering", "no");
  header.set("X-KyroDB-Offset", std::to_string(cs->live_first_ - 1));

  bool live_only = false;
  {
    std::lock_guard<std::mutex> lock(cs->mu_);
    cs->next_read_ = std::max<uint64_t>(from, 1);
    cs->history_done_ = cs->next_read_ >= cs->live_first_;
    live_only = cs->history_done_;
    cs->reading_ = !live_only;
  }
  if (live_only) return stream_reply(std::move(header), std::move(cs));
  // The first page decides between the stream and a 410 while the client
  // can still get a plain status.
  RunReader(state, [cs, from, reply = std::move(reply), stream_reply = std::move(stream_reply),
                      header = std::move(header)]() mutable {
    cs->ReadPage();
    std::optional<Failure> failure;
    {
      std::lock_guard<std::mutex> lock(cs->mu_);
      failure = std::exchange(cs->failure_, std::nullopt);
    }
    if (!failure) return stream_reply(std::move(header), std::move(cs));
    cs->Stop();
    if (failure->code == "history_compacted") return reply(CompactedError(from, failure->first_available));
    reply(MakeError(bhttp::status::internal_server_error, failure->code, failure->message));
  });
}

ChangeStream::ChangeStream(ServerState& state, kyrodb::Store* store, uint64_t from)
    : state_(state), store_(store), from_(from) {}

ChangeStream::~ChangeStream() { ReleaseSlot(); }

void ChangeStream::ReleaseSlot() {
  if (!slot_held_.exchange(false)) return;
  state_.subscribers.fetch_sub(1);
  state_.metrics.subscribers_active().Decrement();
}

void ChangeStream::Start(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!stopped_) wake_ = std::move(wake);
}

void ChangeStream::Wake() {
  std::function<void()> wake;
  bool newly_dropped = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = wake_;
    // Noted here, where the store says so: a subscriber that reads nothing
    // at all never polls again to find out.
    if (sub_ != nullptr && !drop_noted_ && sub_->Dropped()) drop_noted_ = newly_dropped = true;
  }
  if (newly_dropped) {
    state_.metrics.SubscriberDropped();
    log::Info("http_subscriber_dropped", {{"from", from_}, {"buffer_bytes", state_.options.subscriber_buffer_bytes}});
  }
  if (wake) wake();
}

void ChangeStream::ReadPage() {
  uint64_t start = 0;
  size_t limit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    start = next_read_;
    limit = page_limit_;
  }
  std::vector<LogEntry> entries;
  uint64_t first_available = 0;
  Status s;
  try {
    s = store_->ReadLog(start, live_first_, limit, &entries, &first_available);
  } catch (const std::exception& e) {
    s = Status::IOError(e.what());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    if (stopped_) return;
    if (!s.ok()) {
      log::Warn("http_subscribe_read_failed", {{"error", s.ToString()}});
      failure_ = Failure{"log_read_failed", "reading the log failed: " + s.ToString(), 0};
    } else if (start < first_available) {
      failure_ = Failure{"history_compacted",
                         "the log before offset " + std::to_string(first_available) +
                             " was compacted away while it was being streamed; resubscribe from " +
                             std::to_string(first_available) + " or later after reloading",
                         first_available};
    } else {
      size_t bytes = 0;
      for (const LogEntry& e : entries) bytes += e.value.size() + 64;
      if (entries.size() < limit) {
        history_done_ = true;
      } else {
        next_read_ = entries.back().offset + 1;
        history_done_ = next_read_ >= live_first_;
      }
      if (!entries.empty()) {
        page_limit_ = std::clamp(kPageBytes / std::max<size_t>(bytes / entries.size(), 1), kMinPageEntries,
                                 kMaxPageEntries);
      }
      for (LogEntry& e : entries) page_.push_back(std::move(e));
    }
  }
  Wake();
}

void ChangeStream::MaybeStartRead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reading_ || history_done_ || failure_ || stopped_) return;
    reading_ = true;
  }
  RunReader(state_, [self = shared_from_this()] { self->ReadPage(); });
}

void ChangeStream::AppendSlice(std::string* out) {
  const size_t stop = std::min(sending_.size(), sending_pos_ + kSliceEntries);
  for (; sending_pos_ < stop && out->size() < kSliceBytes; ++sending_pos_) {
    const LogEntry& e = sending_[sending_pos_];
    // The live feed may start before `from` (a from in the future): never
    // send an offset before it, twice, or out of order.
    if (e.offset < from_ || e.offset <= last_sent_) continue;
    AppendChangeEvent(e, out);
    last_sent_ = e.offset;
  }
}

uint64_t ChangeStream::ResumeFrom() const { return last_sent_ == 0 ? std::max<uint64_t>(from_, 1) : last_sent_ + 1; }

StreamSource::PollResult ChangeStream::Poll(std::string* out) {
  if (ended_) return PollResult::kEnd;
  if (!greeted_) {
    greeted_ = true;
    *out += kGreeting;
  }
  for (;;) {
    // Entries taken from a page or the subscription go out a slice per
    // Poll, so the I/O thread never formats a whole page at once.
    if (sending_pos_ < sending_.size()) {
      AppendSlice(out);
      if (!out->empty()) return PollResult::kData;
      continue;  // all of the slice was before `from`
    }
    sending_.clear();
    sending_pos_ = 0;

    bool history_done = false;
    bool read_more = false;
    std::optional<Failure> failure;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!page_.empty()) {
        sending_ = std::move(page_);
        page_.clear();
      } else if (failure_) {
        failure = failure_;
      }
      history_done = history_done_;
      read_more = !history_done_ && !failure_;
    }
    if (read_more) MaybeStartRead();  // the next page is read while this one is written
    if (!sending_.empty()) continue;
    if (failure) {
      ended_ = true;
      AppendErrorEvent(failure->code, failure->message,
                       {{"resume_from", ResumeFrom()}, {"first_available", failure->first_available}}, out);
      return PollResult::kEnd;
    }
    if (!history_done || sub_ == nullptr) return out->empty() ? PollResult::kWait : PollResult::kData;

    // Live.
    sub_->Drain(&sending_);
    if (!sending_.empty()) continue;
    if (sub_->Dropped()) {
      // Entries drained before the drop were contiguous and are out; what
      // the store discarded starts right after them.
      ended_ = true;
      AppendErrorEvent("subscriber_too_slow",
                       "this subscriber fell more than KYRODB_SUBSCRIBER_BUFFER_BYTES=" +
                           std::to_string(state_.options.subscriber_buffer_bytes) +
                           " bytes behind the writers and was cut off; reconnect with Last-Event-ID or from=" +
                           std::to_string(ResumeFrom()),
                       {{"resume_from", ResumeFrom()}}, out);
      return PollResult::kEnd;
    }
    return out->empty() ? PollResult::kWait : PollResult::kData;
  }
}

bool ChangeStream::Failed() const { return sub_ != nullptr && sub_->Dropped(); }

std::string ChangeStream::Farewell(std::string_view code, std::string_view message) {
  std::string out;
  ended_ = true;
  AppendErrorEvent(code, message, {{"resume_from", ResumeFrom()}}, &out);
  return out;
}

void ChangeStream::Stop() {
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    wake_ = nullptr;
    page_.clear();
    sub = std::move(sub_);
  }
  sub.reset();  // unsubscribes once the store's publisher lets go of it
  ReleaseSlot();
}

}  // namespace kyrodb::http
