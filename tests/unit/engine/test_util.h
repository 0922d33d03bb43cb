// Helpers shared by the engine unit tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <string>

#include "kyrodb/fs.h"
#include "kyrodb/store.h"

namespace kyrodb::test {

// A fresh directory under TMPDIR, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/kyrodb-engine-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
    EXPECT_FALSE(path_.empty());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct WriteResult {
  Status status;
  uint64_t offset = 0;
};

// Runs an asynchronous store write and waits for its acknowledgement.
template <typename Fn>
WriteResult Wait(Fn&& submit) {
  std::promise<WriteResult> done;
  auto fut = done.get_future();
  submit([&done](const Status& s, uint64_t offset) { done.set_value({s, offset}); });
  return fut.get();
}

inline WriteResult PutSync(Store& store, uint64_t key, std::string value) {
  return Wait([&](WriteCallback cb) { store.Put(key, std::move(value), std::move(cb)); });
}
inline WriteResult DeleteSync(Store& store, uint64_t key) {
  return Wait([&](WriteCallback cb) { store.Delete(key, std::move(cb)); });
}
inline WriteResult WriteSync(Store& store, std::vector<WriteOp> ops) {
  return Wait([&](WriteCallback cb) { store.Write(std::move(ops), std::move(cb)); });
}

inline std::string GetOr(Store& store, uint64_t key, const std::string& absent = "<absent>") {
  ValueRef v;
  Status s = store.Get(key, &v);
  return s.ok() ? std::string(v.data) : absent;
}

inline std::string ReadAll(const std::string& path) {
  std::string out;
  EXPECT_TRUE(PosixFileSystem()->ReadFile(path, &out).ok()) << path;
  return out;
}

inline void WriteAll(const std::string& path, const std::string& bytes) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(PosixFileSystem()->NewWritableFile(path, &f).ok());
  ASSERT_TRUE(f->Append(bytes).ok());
  ASSERT_TRUE(f->Close().ok());
}

// Opens a store, failing the test (and returning nullptr) when it cannot.
inline std::unique_ptr<Store> OpenStore(const Options& o) {
  std::unique_ptr<Store> store;
  Status s = Store::Open(o, &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

// KYRO_TEST_WAL_PIPELINE=on|off picks how synced groups complete (CMake runs
// the engine tests once each way); unset, the store's default (auto).
inline Options TestOptions(const std::string& dir) {
  Options o;
  o.data_dir = dir;
  if (const char* mode = std::getenv("KYRO_TEST_WAL_PIPELINE"); mode != nullptr) {
    EXPECT_TRUE(ParseWalPipeline(mode, &o.wal_pipeline)) << "KYRO_TEST_WAL_PIPELINE=" << mode;
  }
  o.rebuild_delta_entries = 0;  // tests checkpoint explicitly
  o.compact_wal_bytes = 0;
  return o;
}

}  // namespace kyrodb::test
