// Restarts of the real binary: what was acknowledged before a SIGTERM or a
// kill -9 is there afterwards, snapshots and the WAL tail combine, and offsets
// never go back.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "support/api_assertions.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace kyrodb::test {
namespace {

// Expected state of the keys a test wrote (nullopt: deleted).
using Model = std::map<uint64_t, std::optional<std::string>>;

class PersistenceTest : public ::testing::Test {
 protected:
  void Start() {
    std::string error;
    ASSERT_TRUE(server_.StartAndWaitReady(&error)) << error;
    client_ = server_.NewClient();
  }
  void RestartGracefully() {
    client_.reset();
    ASSERT_EQ(server_.Terminate(), 0) << "SIGTERM must exit 0; log:\n" << server_.LogTail();
    Start();
  }
  void RestartAfterKill9() {
    client_.reset();
    server_.Kill9();
    Start();
  }

  uint64_t Put(uint64_t key, const std::string& value, bool raw) {
    HttpResponse r;
    if (raw) {
      r = client_->Put("/v1/kv/" + std::to_string(key), value);
    } else {
      r = client_->PostJson("/v1/put", {{"key", key}, {"value", value}});
    }
    uint64_t offset = 0;
    EXPECT_TRUE(IsWriteAck(r, &offset)) << "put " << key;
    model_[key] = value;
    return offset;
  }
  uint64_t Delete(uint64_t key) {
    uint64_t offset = 0;
    EXPECT_TRUE(IsWriteAck(client_->Delete("/v1/kv/" + std::to_string(key)), &offset)) << "delete " << key;
    model_[key] = std::nullopt;
    return offset;
  }
  uint64_t Offset() {
    const auto r = client_->Get("/v1/offset");
    EXPECT_TRUE(IsJsonOk(r));
    return r.Json().value("offset", uint64_t{0});
  }
  void ExpectModel(const char* when) {
    for (const auto& [key, value] : model_) {
      const auto r = client_->Get("/v1/kv/" + std::to_string(key));
      if (value) {
        ASSERT_EQ(r.status, 200) << when << ": key " << key << ": " << r.Describe();
        ASSERT_TRUE(r.body == *value) << when << ": key " << key << " has the wrong value (" << r.body.size()
                                      << " bytes, want " << value->size() << ")";
      } else {
        ASSERT_TRUE(IsJsonError(r, 404, "not_found")) << when << ": deleted key " << key << " is back";
      }
    }
  }
  static std::string ValueFor(uint64_t key, int round) {
    std::string v = "k" + std::to_string(key) + "-r" + std::to_string(round) + "-";
    for (uint64_t i = 0; i < key % 300; ++i) v.push_back(static_cast<char>('a' + (i + key) % 26));
    return v;
  }

  ServerProcess server_;
  std::unique_ptr<HttpClient> client_;
  Model model_;
};

TEST_F(PersistenceTest, AcknowledgedWritesSurviveSigterm) {
  Start();
  for (uint64_t k = 1; k <= 200; ++k) Put(k, ValueFor(k, 0), k % 2 == 0);
  Put(0, "zero", true);
  Put(18446744073709551615ull, "max", false);
  for (uint64_t k = 1; k <= 200; k += 9) Delete(k);
  for (uint64_t k = 2; k <= 200; k += 11) Put(k, ValueFor(k, 1), true);
  const uint64_t before = Offset();
  RestartGracefully();
  ExpectModel("after SIGTERM restart");
  EXPECT_EQ(Offset(), before) << "the last offset survives a restart";
}

TEST_F(PersistenceTest, SnapshotPlusWalTailSurvivesRestart) {
  Start();
  for (uint64_t k = 1; k <= 150; ++k) Put(k, ValueFor(k, 0), k % 3 == 0);
  const auto snap = client_->Post("/v1/snapshot", "");
  ASSERT_TRUE(IsJsonOk(snap));
  // After the snapshot: overwrite, delete, add.
  for (uint64_t k = 1; k <= 150; k += 4) Put(k, ValueFor(k, 1), false);
  for (uint64_t k = 3; k <= 150; k += 10) Delete(k);
  for (uint64_t k = 151; k <= 200; ++k) Put(k, ValueFor(k, 1), true);
  RestartGracefully();
  ExpectModel("after snapshot + tail + SIGTERM");
  EXPECT_TRUE(std::filesystem::exists(server_.data_dir() + "/snapshot.bin"));
  // And once more through kill -9: with the default fsync policy an
  // acknowledged write is on disk.
  for (uint64_t k = 201; k <= 260; ++k) Put(k, ValueFor(k, 2), k % 2 == 0);
  Delete(5);
  RestartAfterKill9();
  ExpectModel("after kill -9");
}

TEST_F(PersistenceTest, DataFilesHaveTheDocumentedNames) {
  Start();
  for (uint64_t k = 1; k <= 20; ++k) Put(k, "f", true);
  bool has_wal = false;
  for (const auto& entry : std::filesystem::directory_iterator(server_.data_dir())) {
    has_wal = has_wal || entry.path().filename().string().rfind("wal.", 0) == 0;
  }
  EXPECT_TRUE(has_wal) << "no wal.* file in " << server_.data_dir();
  ASSERT_TRUE(IsJsonOk(client_->Post("/v1/snapshot", "")));
  EXPECT_TRUE(std::filesystem::exists(server_.data_dir() + "/snapshot.bin"));
}

TEST_F(PersistenceTest, OffsetsNeverGoBackAcrossRestartsAndSnapshots) {
  Start();
  uint64_t last = 0;
  for (int round = 0; round < 4; ++round) {
    for (uint64_t k = 1; k <= 10; ++k) {
      const uint64_t offset = (k % 3 == 0) ? Delete(k - 1) : Put(k, ValueFor(k, round), round % 2 == 0);
      EXPECT_GT(offset, last) << "round " << round << " key " << k;
      last = offset;
    }
    EXPECT_EQ(Offset(), last);
    if (round == 1) {
      ASSERT_TRUE(IsJsonOk(client_->Post("/v1/snapshot", "")));
    }
    if (round % 2 == 0) {
      RestartGracefully();
    } else {
      RestartAfterKill9();
    }
    EXPECT_GE(Offset(), last) << "offset went back after restart in round " << round;
  }
  ExpectModel("after four restarts");
}

TEST_F(PersistenceTest, EmptyStoreRestartsAndStartsAtOffsetZero) {
  Start();
  EXPECT_EQ(Offset(), 0u);
  RestartGracefully();
  EXPECT_EQ(Offset(), 0u);
  const uint64_t first = Put(1, "first", true);
  EXPECT_GT(first, 0u);
}

}  // namespace
}  // namespace kyrodb::test
