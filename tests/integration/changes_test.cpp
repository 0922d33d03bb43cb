// The change stream of SPEC §2: GET /v1/replay (past writes as JSON lines),
// GET /v1/subscribe (Server-Sent Events, past then live, resumable after a
// restart) and the Idempotency-Key header on writes. Each test skips while
// its route or header is not served yet, so it starts guarding the feature
// the day it lands.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
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
};

Change ToChange(const nlohmann::json& j) {
  Change c;
  c.offset = j.value("offset", uint64_t{0});
  c.op = j.value("op", std::string());
  if (j.contains("key") && j["key"].is_number_unsigned()) c.key = j["key"].get<uint64_t>();
  if (j.contains("key") && j["key"].is_string()) c.key = std::stoull(j["key"].get<std::string>());
  c.value = j.contains("value") ? j["value"] : nlohmann::json();
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
    while (std::getline(event, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data:", 0) == 0) data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
    }
    const auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_object() && j.contains("offset")) out.push_back(ToChange(j));
  }
  return out;
}

class ChangesTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void Start() {
    std::string error;
    ASSERT_TRUE(server_.StartAndWaitReady(&error)) << error;
    client_ = server_.NewClient();
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
  // Reads SSE events from `c` until `want` have arrived or 10 s pass.
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

  ServerProcess server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(ChangesTest, ReplayReturnsTheWritesOfAnOffsetRangeAsJsonLines) {
  const uint64_t o1 = Put(11, "one");
  const uint64_t o2 = Delete(11);
  const uint64_t o3 = Put(12, "two");
  auto r = client_->Get("/v1/replay?start=" + std::to_string(o1) + "&end=" + std::to_string(o3 + 1));
  if (r.status == 404) GTEST_SKIP() << "GET /v1/replay not served yet: " << r.Describe();
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
  auto sub = server_.NewClient();
  const auto head = sub->OpenStream("/v1/subscribe?from=" + std::to_string(o1));
  if (head.status == 404) GTEST_SKIP() << "GET /v1/subscribe not served yet: " << head.Describe();
  ASSERT_EQ(head.status, 200) << head.Describe();
  EXPECT_TRUE(HasContentType(head, "text/event-stream"));
  auto events = ReadEvents(*sub, 2);
  ASSERT_GE(events.size(), 2u) << "past writes";
  EXPECT_EQ(events[0].offset, o1);
  EXPECT_EQ(events[1].offset, o2);
  EXPECT_EQ(events[1].value, "b");

  const uint64_t o3 = Put(23, "live");
  events = ReadEvents(*sub, 3);
  ASSERT_GE(events.size(), 3u) << "a live write reaches the subscriber";
  EXPECT_EQ(events[2].offset, o3);
  EXPECT_EQ(events[2].key, 23u);
  EXPECT_EQ(events[2].value, "live");
  // The writer never waits for the subscriber: a write with one open stream is quick.
  EXPECT_GT(Put(24, "x"), o3);
}

TEST_F(ChangesTest, SubscribeResumesAfterRestart) {
  const uint64_t o1 = Put(31, "before-1");
  const uint64_t o2 = Put(32, "before-2");
  {
    auto probe = server_.NewClient();
    const auto head = probe->OpenStream("/v1/subscribe?from=" + std::to_string(o1));
    if (head.status == 404) GTEST_SKIP() << "GET /v1/subscribe not served yet: " << head.Describe();
  }
  client_.reset();
  ASSERT_EQ(server_.Terminate(), 0);
  Start();
  auto sub = server_.NewClient();
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
  if (second != first) GTEST_SKIP() << "Idempotency-Key not implemented yet (the retry got a new offset)";
  const auto offset = client_->Get("/v1/offset").Json()["offset"].get<uint64_t>();
  EXPECT_EQ(offset, first) << "the retry wrote something";

  // Raw route and delete too.
  const Headers idem_raw = {{"Idempotency-Key", "raw-1"}};
  ASSERT_TRUE(IsWriteAck(client_->Put("/v1/kv/42", "v", idem_raw), &first));
  ASSERT_TRUE(IsWriteAck(client_->Put("/v1/kv/42", "v", idem_raw), &second));
  EXPECT_EQ(second, first);

  // Also after a restart.
  client_.reset();
  ASSERT_EQ(server_.Terminate(), 0);
  Start();
  ASSERT_TRUE(IsWriteAck(client_->Put("/v1/kv/42", "v", idem_raw), &second));
  EXPECT_EQ(second, first) << "the idempotency window must survive a restart";

  // A key longer than 64 bytes is refused.
  const auto r = client_->Put("/v1/kv/43", "v", {{"Idempotency-Key", std::string(65, 'k')}});
  EXPECT_TRUE(IsJsonError(r, 400));
}

}  // namespace
}  // namespace kyrodb::test
