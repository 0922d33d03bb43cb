// ChangeStream: the body of GET /v1/subscribe. A StreamSource that sends the
// log from `from` on, first the history (Store::ReadLog in pages, on the
// reader pool) and then live writes (a Store Subscription).
//
// No gap, no duplicate: the subscription is registered first; it delivers
// every write from its first_offset() on, so the history is read exactly up
// to first_offset() - 1, and whatever the subscription buffers meanwhile is
// drained once the history is out.
//
// It ends with a final `event: error` when the subscriber fell so far behind
// that the store cut its subscription off (code "subscriber_too_slow"), when
// the history it still had to send was compacted away mid-stream
// ("history_compacted"), or when reading the log failed ("log_read_failed").
// Each carries "resume_from", the offset to pass as `from` (or the last
// event id to send as Last-Event-ID) to continue.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/api.h"
#include "http/stream_source.h"
#include "kyrodb/store.h"

namespace kyrodb::http {

class ChangeStream final : public StreamSource, public std::enable_shared_from_this<ChangeStream> {
 public:
  // Registers the subscription and reads the first page of history, then
  // answers through `reply` (410 when history from `from` on is gone, or
  // another error) or through `stream_reply` (the stream). `state` and
  // `store` must outlive the reader pool (Server::Stop joins it).
  static void Open(ServerState& state, kyrodb::Store* store, uint64_t from, Reply reply, StreamReply stream_reply);

  ChangeStream(ServerState& state, kyrodb::Store* store, uint64_t from);
  ~ChangeStream() override;
  ChangeStream(const ChangeStream&) = delete;
  ChangeStream& operator=(const ChangeStream&) = delete;

  void Start(std::function<void()> wake) override;
  PollResult Poll(std::string* out) override;
  bool Failed() const override;
  std::string Farewell(std::string_view code, std::string_view message) override;
  void Stop() override;

 private:
  struct Failure {
    std::string code;
    std::string message;
    uint64_t first_available = 0;  // for history_compacted
  };

  // Reads the next history page on the calling thread (the reader pool).
  void ReadPage();
  // Starts ReadPage on the reader pool unless a read is running or done.
  void MaybeStartRead();
  void Wake();
  void ReleaseSlot();
  // Appends the next slice of sending_ to `out` as events.
  void AppendSlice(std::string* out);
  uint64_t ResumeFrom() const;

  ServerState& state_;
  kyrodb::Store* const store_;
  const uint64_t from_;
  uint64_t live_first_ = 0;  // the subscription's first offset (set in Open)
  // Written under mu_ (Open, Stop); read under mu_ or on the strand.
  std::shared_ptr<Subscription> sub_;
  std::atomic<bool> slot_held_{true};

  mutable std::mutex mu_;
  std::function<void()> wake_;     // guarded by mu_
  uint64_t next_read_ = 0;         // guarded by mu_: next history offset to read
  size_t page_limit_ = 64;         // guarded by mu_: entries per ReadLog
  bool reading_ = false;           // guarded by mu_
  bool history_done_ = false;      // guarded by mu_
  std::vector<LogEntry> page_;     // guarded by mu_: read, not yet sent
  std::optional<Failure> failure_;  // guarded by mu_
  bool stopped_ = false;           // guarded by mu_
  bool drop_noted_ = false;        // guarded by mu_

  // Strand only (Poll).
  std::vector<LogEntry> sending_;  // taken from page_ or the subscription
  size_t sending_pos_ = 0;         // next entry of sending_ to send
  bool greeted_ = false;
  bool ended_ = false;
  uint64_t last_sent_ = 0;  // offset of the last event sent, 0 for none
};

}  // namespace kyrodb::http
