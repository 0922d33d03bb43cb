// The change stream of SPEC §2: GET /v1/replay (past writes as JSON lines),
// GET /v1/subscribe (Server-Sent Events, past then live, resumable after a
// restart and across compaction, slow subscribers cut off without slowing
// writers) and the Idempotency-Key header on writes.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/api_assertions.h"
#include "support/server_process.h"

namespace kyrodb::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Change {
  uint64_t offset = 0;
  std::string op;
  uint64_t key = 0;
  nlohmann::json value;
  std::string value_b64;
  std::string id;     // the SSE event's id: line
  std::string event;  // the SSE event's event: line
};

Change ToChange(const nlohmann::json& j) {
  Change c;
  c.offset = j.value("offset", uint64_t{0});
  c.op = j.value("op", std::string());
  if (j.contains("key") && j["key"].is_number_unsigned()) c.key = j["key"].get<uint64_t>();
  if (j.contains("key") && j["key"].is_string()) c.key = std::stoull(j["key"].get<std::string>());
  c.value = j.contains("value") ? j["value"] : nlohmann::json();
  if (j.contains("value_b64") && j["value_b64"].is_string()) c.value_b64 = j["value_b64"].get<std::string>();
  return c;
}

// The JSON objects in the "data:" lines of complete SSE events in `stream`.
std::vector<Change> ParseEvents(const std::string& stream) {
  std::vector<Change> out;
  size_t pos = 0;
  for (;;) {
    const size_t end = stream.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::istringstream event(stream.substr(pos, end - pos));
    pos = end + 2;
    std::string line;
    std::string data;
    std::string id;
    std::string name;
    while (std::getline(event, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data:", 0) == 0) data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
      if (line.rfind("id: ", 0) == 0) id = line.substr(4);
      if (line.rfind("event: ", 0) == 0) name = line.substr(7);
    }
    const auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_object() && j.contains("offset")) {
      out.push_back(ToChange(j));
      out.back().id = id;
      out.back().event = name;
    }
  }
  return out;
}

// The "error" objects of the `event: error` events in `stream`.
std::vector<nlohmann::json> ErrorEvents(const std::string& stream) {
  std::vector<nlohmann::json> out;
  size_t pos = 0;
  while ((pos = stream.find("event: error\ndata: ", pos)) != std::string::npos) {
    pos += 19;
    const size_t end = stream.find('\n', pos);
    const auto j = nlohmann::json::parse(stream.substr(pos, end - pos), nullptr, false);
    if (j.is_object() && j.contains("error")) out.push_back(j["error"]);
  }
  return out;
}

// The lines of a /v1/replay body.
std::vector<Change> ReplayLines(const HttpResponse& r) {
  std::vector<Change> lines;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << "not a JSON line: " << line;
    if (j.is_object()) lines.push_back(ToChange(j));
  }
  return lines;
}

// Offsets first, first+1, ...: nothing missing, nothing twice, in order.
::testing::AssertionResult Contiguous(const std::vector<Change>& events, uint64_t first) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].offset != first + i) {
      return ::testing::AssertionFailure() << "event " << i << " has offset " << events[i].offset << ", expected "
                                           << first + i;
    }
    if (events[i].id != std::to_string(events[i].offset)) {
      return ::testing::AssertionFailure() << "event " << i << " has id '" << events[i].id << "'";
    }
  }
  return ::testing::AssertionSuccess();
}

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.env = Env();
    server_ = std::make_unique<ServerProcess>(std::move(options));
    Start();
  }
  // Extra environment of the server.
  virtual std::vector<std::pair<std::string, std::string>> Env() const { return {}; }
  void Start() {
    std::string error;
    ASSERT_TRUE(server_->StartAndWaitReady(&error)) << error;
    client_ = server_->NewClient();
  }
  uint64_t Put(uint64_t key, const std::string& value) {
    uint64_t offset = 0;
    EXPECT_TRUE(IsWriteAck(client_->Put("/v1/kv/" + std::to_string(key), value), &offset));
    return offset;
  }
  uint64_t Delete(uint64_t key) {
    uint64_t offset = 0;
    EXPECT_TRUE(IsWriteAck(client_->Delete("/v1/kv/" + std::to_string(key)), &offset));
    return offset;
  }
  // Reads SSE events from `c` until `want` have arrived or 10 s pass. Only
  // the events that arrive during the call: earlier ones were consumed.
  static std::vector<Change> ReadEvents(HttpClient& c, size_t want) {
    std::string stream;
    std::vector<Change> events;
    const auto until = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < until) {
      const bool open = c.ReadStream(&stream, std::chrono::milliseconds(100));
      events = ParseEvents(stream);
      if (events.size() >= want || !open) break;
    }
    return events;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(ChangesTest, ReplayReturnsTheWritesOfAnOffsetRangeAsJsonLines) {
  const uint64_t o1 = Put(11, "one");
  const uint64_t o2 = Delete(11);
  const uint64_t o3 = Put(12, "two");
  auto r = client_->Get("/v1/replay?start=" + std::to_string(o1) + "&end=" + std::to_string(o3 + 1));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(HasAnyContentType(r));
  std::vector<Change> lines;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON line: " << line;
    lines.push_back(ToChange(j));
  }
  ASSERT_EQ(lines.size(), 3u) << r.Describe();
  EXPECT_EQ(lines[0].offset, o1);
  EXPECT_EQ(lines[0].key, 11u);
  EXPECT_EQ(lines[0].value, "one");
  EXPECT_EQ(lines[1].offset, o2);
  EXPECT_NE(lines[1].op.find("del"), std::string::npos) << "op of a delete: " << lines[1].op;
  EXPECT_EQ(lines[2].offset, o3);
  EXPECT_EQ(lines[2].value, "two");
  // The end is exclusive.
  r = client_->Get("/v1/replay?start=" + std::to_string(o2) + "&end=" + std::to_string(o3));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\n') + (r.body.empty() || r.body.back() == '\n' ? 0 : 1), 1)
      << r.Describe();
  EXPECT_TRUE(IsJsonError(client_->Get("/v1/replay?start=abc&end=5"), 400));
}

TEST_F(ChangesTest, SubscribeStreamsPastThenLiveWrites) {
  const uint64_t o1 = Put(21, "a");
  const uint64_t o2 = Put(22, "b");
  auto sub = server_->NewClient();
  const auto head = sub->OpenStream("/v1/subscribe?from=" + std::to_string(o1));
  ASSERT_EQ(head.status, 200) << head.Describe();
  EXPECT_TRUE(HasContentType(head, "text/event-stream"));
  auto events = ReadEvents(*sub, 2);
  ASSERT_GE(events.size(), 2u) << "past writes";
  EXPECT_EQ(events[0].offset, o1);
  EXPECT_EQ(events[1].offset, o2);
  EXPECT_EQ(events[1].value, "b");

  const uint64_t o3 = Put(23, "live");
  events = ReadEvents(*sub, 1);  // only what arrived since
  ASSERT_GE(events.size(), 1u) << "a live write reaches the subscriber";
  EXPECT_EQ(events[0].offset, o3);
  EXPECT_EQ(events[0].key, 23u);
  EXPECT_EQ(events[0].value, "live");
  // The writer never waits for the subscriber: a write with one open stream is quick.
  EXPECT_GT(Put(24, "x"), o3);
}

TEST_F(ChangesTest, SubscribeResumesAfterRestart) {
  const uint64_t o1 = Put(31, "before-1");
  const uint64_t o2 = Put(32, "before-2");
  {
    // A stream open while the server stops ends with a notice, then closes.
    auto open = server_->NewClient();
    ASSERT_EQ(open->OpenStream("/v1/subscribe?from=" + std::to_string(o1)).status, 200);
    ASSERT_EQ(ReadEvents(*open, 2).size(), 2u);
    client_.reset();
    const auto t0 = Clock::now();
    ASSERT_EQ(server_->Terminate(), 0);
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5)) << "an open stream held up the shutdown";
    std::string rest;
    while (open->ReadStream(&rest, std::chrono::milliseconds(500))) {
    }
    const auto errors = ErrorEvents(rest);
    ASSERT_EQ(errors.size(), 1u) << rest;
    EXPECT_EQ(errors[0]["code"], "shutting_down");
    EXPECT_EQ(errors[0]["resume_from"], o2 + 1);
  }
  Start();
  auto sub = server_->NewClient();
  ASSERT_EQ(sub->OpenStream("/v1/subscribe?from=" + std::to_string(o2)).status, 200);
  const uint64_t o3 = Put(33, "after");
  const auto events = ReadEvents(*sub, 2);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].offset, o2);
  EXPECT_EQ(events[0].value, "before-2");
  EXPECT_EQ(events[1].offset, o3);
}

TEST_F(ChangesTest, IdempotencyKeyMakesRetriesWriteNothing) {
  const Headers idem = {{"Idempotency-Key", "retry-7f3a"}, {"Content-Type", "application/json"}};
  uint64_t first = 0;
  uint64_t second = 0;
  ASSERT_TRUE(IsWriteAck(client_->Post("/v1/put", R"({"key": 41, "value": "once"})", idem), &first));
  ASSERT_TRUE(IsWriteAck(client_->Post("/v1/put", R"({"key": 41, "value": "once"})", idem), &second));
  ASSERT_EQ(second, first) << "the retry with the same Idempotency-Key got a new offset";
  const auto offset = client_->Get("/v1/offset").Json()["offset"].get<uint64_t>();
  EXPECT_EQ(offset, first) << "the retry wrote something";

  // Raw route and delete too.
  const Headers idem_raw = {{"Idempotency-Key", "raw-1"}};
  ASSERT_TRUE(IsWriteAck(client_->Put("/v1/kv/42", "v", idem_raw), &first));
  ASSERT_TRUE(IsWriteAck(client_->Put("/v1/kv/42", "v", idem_raw), &second));
  EXPECT_EQ(second, first);

  // Also after a restart.
  client_.reset();
  ASSERT_EQ(server_->Terminate(), 0);
  Start();
  ASSERT_TRUE(IsWriteAck(client_->Put("/v1/kv/42", "v", idem_raw), &second));
  EXPECT_EQ(second, first) << "the idempotency window must survive a restart";

  // A key longer than 64 bytes is refused.
  const auto r = client_->Put("/v1/kv/43", "v", {{"Idempotency-Key", std::string(65, 'k')}});
  EXPECT_TRUE(IsJsonError(r, 400));
}


uint64_t Count(const std::string& metrics, const std::string& name) {
  const size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return static_cast<uint64_t>(std::stod(metrics.substr(at + name.size() + 2)));
}

TEST_F(ChangesTest, ReplayPagesWithLimitAndResumesAtTheNextHeader) {
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 25; ++i) offsets.push_back(Put(100 + i, "v" + std::to_string(i)));
  const std::string range = "start=" + std::to_string(offsets[0]) + "&end=" + std::to_string(offsets.back() + 1);
  auto r = client_->Get("/v1/replay?" + range + "&limit=10");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(HasContentType(r, "application/x-ndjson"));
  auto lines = ReplayLines(r);
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0].offset, offsets[0]);
  EXPECT_EQ(lines[9].offset, offsets[9]);
  EXPECT_EQ(lines[9].op, "put");
  EXPECT_EQ(lines[9].key, 109u);
  ASSERT_EQ(r.Header("X-KyroDB-Next"), std::to_string(offsets[10]));

  // Follow the cursor to the end of the range: every write exactly once.
  std::vector<Change> all = lines;
  std::string next = r.Header("X-KyroDB-Next");
  for (int page = 0; page < 5 && next != std::to_string(offsets.back() + 1); ++page) {
    r = client_->Get("/v1/replay?start=" + next + "&end=" + std::to_string(offsets.back() + 1) + "&limit=10");
    ASSERT_EQ(r.status, 200) << r.Describe();
    lines = ReplayLines(r);
    all.insert(all.end(), lines.begin(), lines.end());
    next = r.Header("X-KyroDB-Next");
  }
  EXPECT_EQ(next, std::to_string(offsets.back() + 1)) << "the cursor reaches end once the range is complete";
  ASSERT_EQ(all.size(), offsets.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].offset, offsets[i]);

  // Without an end: up to the last write; the cursor is where new writes go.
  r = client_->Get("/v1/replay?start=" + std::to_string(offsets[20]));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(ReplayLines(r).size(), 5u);
  EXPECT_EQ(r.Header("X-KyroDB-Next"), std::to_string(offsets.back() + 1));
  // An empty range, a limit above the cap.
  r = client_->Get("/v1/replay?start=5&end=5");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(r.body.empty());
  r = client_->Get("/v1/replay?start=" + std::to_string(offsets[0]) + "&limit=100000000");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(ReplayLines(r).size(), 25u);

  // Bad input names what is wrong.
  EXPECT_TRUE(IsJsonError(client_->Get("/v1/replay?end=5"), 400, "bad_request"));
  EXPECT_TRUE(IsJsonError(client_->Get("/v1/replay?start=1&limit=0"), 400, "bad_request"));
  EXPECT_TRUE(IsJsonError(client_->Get("/v1/replay?start=9&end=3"), 400, "bad_request"));
  EXPECT_TRUE(IsJsonError(client_->Get("/v1/replay?start=-1"), 400, "bad_request"));
  EXPECT_TRUE(IsJsonError(client_->Get("/v1/replay?start=18446744073709551616"), 400, "bad_request"));
  EXPECT_TRUE(IsJsonError(client_->Post("/v1/replay?start=1", ""), 405));
}

TEST_F(ChangesTest, BinaryValuesTravelAsBase64) {
  const std::string bytes("\xff\x00\x01\xfe", 4);
  const uint64_t o = Put(150, bytes);
  const uint64_t o2 = Put(151, "caf\xc3\xa9");  // valid UTF-8 stays a string
  auto r = client_->Get("/v1/replay?start=" + std::to_string(o) + "&end=" + std::to_string(o2 + 1));
  ASSERT_EQ(r.status, 200) << r.Describe();
  const auto lines = ReplayLines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].value.is_null()) << "a non-UTF-8 value has no \"value\"";
  EXPECT_EQ(lines[0].value_b64, "/wAB/g==");
  EXPECT_EQ(lines[1].value, "caf\xc3\xa9");
  EXPECT_TRUE(lines[1].value_b64.empty());

  auto sub = server_->NewClient();
  ASSERT_EQ(sub->OpenStream("/v1/subscribe?from=" + std::to_string(o)).status, 200);
  const auto events = ReadEvents(*sub, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].value_b64, "/wAB/g==");
  EXPECT_EQ(events[0].event, "put");
}

TEST_F(ChangesTest, SubscribeFromOneWhileWritingDeliversEveryWriteOnceInOrder) {
  // History: batches and a delete; more than one page of the log and more
  // than one slice of events.
  constexpr int kBatch = 1000;
  uint64_t first = 0;
  for (int b = 0; b < 4; ++b) {
    nlohmann::json items = nlohmann::json::array();
    for (int i = 0; i < kBatch; ++i) items.push_back({{"key", b * kBatch + i}, {"value", "h" + std::to_string(i)}});
    const auto r = client_->PostJson("/v1/batch/put", {{"items", items}});
    ASSERT_EQ(r.status, 200) << r.Describe();
    if (b == 0) first = r.Json()["first_offset"].get<uint64_t>();
  }
  Delete(3);
  // Live writes start before the stream opens, so some land while its
  // history is read: the hand-over from history to live is under load.
  constexpr int kLive = 200;
  std::atomic<int> written{0};
  std::atomic<uint64_t> last_live{0};
  std::thread writer([&] {
    auto c = server_->NewClient();
    for (int i = 0; i < kLive; ++i) {
      uint64_t offset = 0;
      if (!IsWriteAck(c->Put("/v1/kv/" + std::to_string(1000 + i), "live" + std::to_string(i)), &offset)) break;
      last_live = offset;
      ++written;
    }
  });
  auto sub = server_->NewClient();
  const auto head = sub->OpenStream("/v1/subscribe?from=1");
  ASSERT_EQ(head.status, 200) << head.Describe();
  EXPECT_TRUE(HasContentType(head, "text/event-stream"));
  writer.join();
  ASSERT_EQ(written.load(), kLive);
  const size_t total = 4 * kBatch + 1 + kLive;
  std::string stream;
  std::vector<Change> events;
  size_t parsed = 0;  // bytes of `stream` already parsed (whole events)
  const auto until = Clock::now() + std::chrono::seconds(30);
  while (events.size() < total && Clock::now() < until) {
    if (!sub->ReadStream(&stream, std::chrono::milliseconds(200))) break;
    const size_t last = stream.rfind("\n\n");
    if (last == std::string::npos || last + 2 <= parsed) continue;
    const auto more = ParseEvents(stream.substr(parsed, last + 2 - parsed));
    events.insert(events.end(), more.begin(), more.end());
    parsed = last + 2;
  }
  ASSERT_EQ(events.size(), total);
  EXPECT_EQ(events[0].offset, first);
  EXPECT_TRUE(Contiguous(events, first));
  EXPECT_EQ(events[4 * kBatch].op, "delete");
  EXPECT_EQ(events[4 * kBatch].event, "delete");
  EXPECT_EQ(events[4 * kBatch].key, 3u);
  EXPECT_EQ(events.back().offset, last_live.load());
  EXPECT_EQ(events.back().value, "live" + std::to_string(kLive - 1));
}

TEST_F(ChangesTest, SubscribeResumesFromTheMiddleAndFromLastEventId) {
  std::vector<uint64_t> o;
  for (int i = 0; i < 10; ++i) o.push_back(Put(200 + i, "m" + std::to_string(i)));
  auto sub = server_->NewClient();
  ASSERT_EQ(sub->OpenStream("/v1/subscribe?from=" + std::to_string(o[4])).status, 200);
  auto events = ReadEvents(*sub, 6);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_TRUE(Contiguous(events, o[4]));

  // An EventSource reconnects to its first URL plus Last-Event-ID: the header wins.
  auto again = server_->NewClient();
  ASSERT_EQ(again->OpenStream("/v1/subscribe?from=1", {{"Last-Event-ID", std::to_string(o[7])}}).status, 200);
  events = ReadEvents(*again, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].offset, o[8]);

  // From the future: nothing until the writes reach it.
  auto future = server_->NewClient();
  ASSERT_EQ(future->OpenStream("/v1/subscribe?from=" + std::to_string(o[9] + 3)).status, 200);
  for (int i = 0; i < 4; ++i) Put(300 + i, "f");
  events = ReadEvents(*future, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].offset, o[9] + 3);

  // Without from: live only.
  auto live = server_->NewClient();
  ASSERT_EQ(live->OpenStream("/v1/subscribe").status, 200);
  const uint64_t next = Put(310, "now");
  events = ReadEvents(*live, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].offset, next);

  EXPECT_TRUE(IsJsonError(client_->Get("/v1/subscribe?from=x"), 400, "bad_request"));
  auto bad = server_->NewClient();
  EXPECT_TRUE(IsJsonError(bad->Get("/v1/subscribe", {{"Last-Event-ID", "-3"}}), 400, "bad_request"));
}

TEST_F(ChangesTest, CompactedHistoryIsReportedAndTheRestStillStreams) {
  std::vector<uint64_t> o;
  for (int i = 0; i < 20; ++i) o.push_back(Put(400 + i, "c" + std::to_string(i)));
  // A stream in the middle of history keeps going across the compaction.
  auto before = server_->NewClient();
  ASSERT_EQ(before->OpenStream("/v1/subscribe?from=" + std::to_string(o[0])).status, 200);
  ASSERT_EQ(ReadEvents(*before, 20).size(), 20u);

  const auto compact = client_->Post("/v1/compact", "");
  ASSERT_EQ(compact.status, 200) << compact.Describe();
  const uint64_t after = Put(450, "after-compact");

  auto r = client_->Get("/v1/replay?start=" + std::to_string(o[0]));
  ASSERT_TRUE(IsJsonError(r, 410, "history_compacted"));
  const uint64_t first_available = r.Json()["error"]["first_available"].get<uint64_t>();
  EXPECT_GT(first_available, o[0]);
  EXPECT_LE(first_available, after);
  EXPECT_EQ(r.Header("X-KyroDB-First-Available"), std::to_string(first_available));

  auto sub = server_->NewClient();
  const auto gone = sub->Get("/v1/subscribe?from=" + std::to_string(o[0]));
  ASSERT_TRUE(IsJsonError(gone, 410, "history_compacted"));
  EXPECT_EQ(gone.Json()["error"]["first_available"], first_available);

  // From what is left: fine, both ways.
  r = client_->Get("/v1/replay?start=" + std::to_string(first_available));
  ASSERT_EQ(r.status, 200) << r.Describe();
  ASSERT_FALSE(ReplayLines(r).empty());
  EXPECT_EQ(ReplayLines(r).back().offset, after);
  auto rest = server_->NewClient();
  ASSERT_EQ(rest->OpenStream("/v1/subscribe?from=" + std::to_string(first_available)).status, 200);
  const auto events = ReadEvents(*rest, 1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().offset, after);
  // The stream opened before the compaction got the new write too.
  const auto live = ReadEvents(*before, 1);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].offset, after);
}

TEST_F(ChangesTest, SubscribersBeyondTheCapGet503) {
  constexpr int kCap = 64;  // HttpOptions::max_subscribers
  std::vector<std::unique_ptr<HttpClient>> subs;
  for (int i = 0; i < kCap; ++i) {
    subs.push_back(server_->NewClient());
    ASSERT_EQ(subs.back()->OpenStream("/v1/subscribe").status, 200) << i;
  }
  auto extra = server_->NewClient();
  const auto r = extra->Get("/v1/subscribe");
  ASSERT_TRUE(IsJsonError(r, 503, "too_many_subscribers"));
  EXPECT_FALSE(r.Header("Retry-After").empty());
  // A closed stream frees its place.
  subs.pop_back();
  int status = 0;
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (status != 200 && Clock::now() < until) {
    auto again = server_->NewClient();
    status = again->OpenStream("/v1/subscribe").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (status == 200) subs.push_back(std::move(again));
  }
  EXPECT_EQ(status, 200);
}

// Streams outlive the idle and read timeouts (they are not idle: a comment
// line goes out every KYRODB_STREAM_HEARTBEAT_MS when there is nothing
// else; here 1.5 s, past both timeouts).
class StreamTimeoutTest : public ChangesTest {
 protected:
  std::vector<std::pair<std::string, std::string>> Env() const override {
    return {{"KYRODB_IDLE_TIMEOUT_MS", "1000"},
            {"KYRODB_READ_TIMEOUT_MS", "1000"},
            {"KYRODB_STREAM_HEARTBEAT_MS", "1500"}};
  }
};

TEST_F(StreamTimeoutTest, AQuietStreamGetsHeartbeatsAndIsNotCutByTheIdleTimeout) {
  auto sub = server_->NewClient();
  ASSERT_EQ(sub->OpenStream("/v1/subscribe").status, 200);
  std::string stream;
  const auto opened = Clock::now();
  const auto until = opened + std::chrono::seconds(10);
  bool open = true;
  while (open && stream.find(": keepalive") == std::string::npos && Clock::now() < until) {
    open = sub->ReadStream(&stream, std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(open) << "the stream was closed: " << stream;
  EXPECT_NE(stream.find(": keepalive\n\n"), std::string::npos) << stream;
  // Quiet for longer than the idle timeout, and still open.
  EXPECT_GE(Clock::now() - opened, std::chrono::milliseconds(1000));
  const uint64_t o = Put(500, "still-here");
  const auto events = ReadEvents(*sub, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].offset, o);
}

// A subscriber that never reads is cut off; the writers do not notice.
class SlowSubscriberTest : public ChangesTest {
 protected:
  std::vector<std::pair<std::string, std::string>> Env() const override {
    return {{"KYRODB_FSYNC_POLICY", "none"}};
  }
};

TEST_F(SlowSubscriberTest, IsCutOffWhileWritesKeepSucceeding) {
  auto slow = server_->NewClient();
  ASSERT_EQ(slow->OpenStream("/v1/subscribe").status, 200);
  // 48 MiB of writes: more than the socket buffers and the subscriber's
  // 8 MiB allowance together.
  const std::string value(256 * 1024, 'w');
  auto writer = server_->NewClient();
  std::chrono::steady_clock::duration worst{};
  uint64_t first = 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < 192; ++i) {
    const auto w0 = Clock::now();
    uint64_t offset = 0;
    ASSERT_TRUE(IsWriteAck(writer->Put("/v1/kv/" + std::to_string(600 + i % 8), value), &offset)) << i;
    if (i == 0) first = offset;
    worst = std::max(worst, Clock::now() - w0);
  }
  const auto total = Clock::now() - t0;
  EXPECT_LT(worst, std::chrono::seconds(3)) << "a write waited for the subscriber";
  EXPECT_LT(total, std::chrono::seconds(60));

  // The server counts the drop and closes the stream.
  std::string metrics;
  const auto until = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < until) {
    metrics = client_->Get("/metrics").body;
    if (Count(metrics, "kyrodb_http_subscribers_dropped_total") >= 1 &&
        Count(metrics, "kyrodb_http_subscribers_active") == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Count(metrics, "kyrodb_http_subscribers_dropped_total"), 1u);
  EXPECT_EQ(Count(metrics, "kyrodb_http_subscribers_active"), 0u);

  // What did arrive is a gap-free prefix, and then the stream ends.
  std::string stream;
  bool ended = false;
  const auto read_until = Clock::now() + std::chrono::seconds(30);
  while (!ended && Clock::now() < read_until) ended = !slow->ReadStream(&stream, std::chrono::milliseconds(500));
  EXPECT_TRUE(ended) << "the slow subscriber's stream is still open";
  // If the last bytes made it out within the grace, they say why.
  const auto errors = ErrorEvents(stream);
  if (!errors.empty()) {
    EXPECT_EQ(errors.back()["code"], "subscriber_too_slow");
    EXPECT_TRUE(errors.back().contains("resume_from"));
  }
  const auto events = ParseEvents(stream);
  ASSERT_FALSE(events.empty());
  EXPECT_LT(events.size(), 192u);
  EXPECT_TRUE(Contiguous(events, first));
  // Writes still go through afterwards.
  EXPECT_TRUE(IsWriteAck(writer->Put("/v1/kv/700", "after")));
}

TEST_F(ChangesTest, ARequestPipelinedBehindASubscribeIsNotServed) {
  const uint64_t o = Put(800, "p");
  // Both requests in one write: the subscribe takes the connection.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string both = "GET /v1/subscribe?from=" + std::to_string(o) +
                           " HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, both.data(), both.size(), MSG_NOSIGNAL), static_cast<ssize_t>(both.size()));
  std::string got;
  const auto until = Clock::now() + std::chrono::milliseconds(1500);
  while (Clock::now() < until) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (n == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos) << got;
  EXPECT_NE(got.find("id: " + std::to_string(o) + "\n"), std::string::npos) << got;
  size_t responses = 0;
  for (size_t at = got.find("HTTP/1."); at != std::string::npos; at = got.find("HTTP/1.", at + 1)) ++responses;
  EXPECT_EQ(responses, 1u) << "the pipelined GET /health was answered:\n" << got;
}

}  // namespace
}  // namespace kyrodb::test
