// An in-memory kyrodb::Store for HTTP tests: last write wins, offsets count
// up from 1, and write callbacks run on a worker thread (as the real WAL
// thread does), optionally after a delay. Failures can be injected.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kyrodb/store.h"

namespace kyrodb::http::testing {

class FakeStore : public kyrodb::Store {
 public:
  FakeStore() : worker_([this] { Run(); }) {}
  ~FakeStore() override { Close(); }
  using kyrodb::Store::Delete;
  using kyrodb::Store::Put;
  using kyrodb::Store::Write;

  // Knobs (set before use).
  std::chrono::milliseconds write_delay{0};
  Status next_write_status;     // returned (once) instead of applying a write
  bool writable = true;
  bool throw_on_get = false;
  CheckpointInfo checkpoint_info{};

  void Put(uint64_t key, std::string value, const kyrodb::WriteOptions& options, WriteCallback cb) override {
    std::vector<WriteOp> ops(1);
    ops[0].key = key;
    ops[0].value = std::move(value);
    Write(std::move(ops), options, std::move(cb));
  }
  void Delete(uint64_t key, const kyrodb::WriteOptions& options, WriteCallback cb) override {
    std::vector<WriteOp> ops(1);
    ops[0].type = WriteOp::Type::kDelete;
    ops[0].key = key;
    Write(std::move(ops), options, std::move(cb));
  }
  void Write(std::vector<WriteOp> ops, const kyrodb::WriteOptions& options, WriteCallback cb) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++writes_submitted_;
    last_idempotency_key_ = options.idempotency_key;
    queue_.push_back(Pending{std::move(ops), std::move(cb)});
    cv_.notify_all();
  }

  Status Get(uint64_t key, ValueRef* out) const override {
    if (throw_on_get) throw std::runtime_error("injected failure");
    std::lock_guard<std::mutex> lock(mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return Status::NotFound("key " + std::to_string(key));
    auto copy = std::make_shared<std::string>(it->second.first);
    out->data = *copy;
    out->offset = it->second.second;
    out->pin = copy;
    return Status::OK();
  }

  Status Scan(uint64_t start, std::optional<uint64_t> end, size_t limit, std::vector<ScanEntry>* out,
              bool* more) const override {
    std::lock_guard<std::mutex> lock(mu_);
    out->clear();
    *more = false;
    for (auto it = data_.lower_bound(start); it != data_.end() && (!end || it->first < *end); ++it) {
      if (out->size() == limit) {
        *more = true;
        break;
      }
      auto copy = std::make_shared<std::string>(it->second.first);
      ScanEntry e;
      e.key = it->first;
      e.value.data = *copy;
      e.value.offset = it->second.second;
      e.value.pin = copy;
      out->push_back(std::move(e));
    }
    return Status::OK();
  }

  uint64_t LastOffset() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_offset_;
  }
  // The change stream is not exercised through the fake (the engine's own
  // tests cover it): an empty log and no live feed.
  Status ReadLog(uint64_t, uint64_t, size_t, std::vector<LogEntry>* out, uint64_t* first_available) const override {
    out->clear();
    *first_available = LastOffset() + 1;
    return Status::OK();
  }
  std::shared_ptr<Subscription> Subscribe(size_t, std::function<void()>) override { return nullptr; }
  Status Checkpoint(CheckpointInfo* info) override {
    ++checkpoints;
    *info = checkpoint_info;
    return Status::OK();
  }
  void Warmup() const override {}
  StoreStats Stats() const override {
    StoreStats s;
    s.last_offset = LastOffset();
    s.read_only = !writable;
    if (!writable) s.read_only_reason = "disk full";
    return s;
  }
  bool Writable() const override { return writable; }
  void Close() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      cv_.notify_all();
    }
    worker_.join();
  }

  // Stores `value` under `key` at once, as if written earlier (the next
  // offset); for tests that need data to read.
  void Preload(uint64_t key, std::string value) {
    std::lock_guard<std::mutex> lock(mu_);
    data_[key] = {std::move(value), ++last_offset_};
  }

  std::string last_idempotency_key() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_idempotency_key_;
  }
  int writes_submitted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_submitted_;
  }
  int checkpoints = 0;

 private:
  struct Pending {
    std::vector<WriteOp> ops;
    WriteCallback cb;
  };

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) return;
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(write_delay);
      lock.lock();
      Status s = next_write_status;
      uint64_t first = last_offset_ + 1;
      if (s.ok() && p.ops.size() == 1 && p.ops[0].type == WriteOp::Type::kDelete && !data_.count(p.ops[0].key)) {
        s = Status::NotFound("key " + std::to_string(p.ops[0].key));
      }
      if (s.ok()) {
        for (auto& op : p.ops) {
          ++last_offset_;
          if (op.type == WriteOp::Type::kDelete) {
            data_.erase(op.key);
          } else {
            data_[op.key] = {std::move(op.value), last_offset_};
          }
        }
      }
      next_write_status = Status::OK();
      lock.unlock();
      p.cb(s, s.ok() ? first : 0);
      lock.lock();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::map<uint64_t, std::pair<std::string, uint64_t>> data_;
  uint64_t last_offset_ = 0;
  int writes_submitted_ = 0;
  std::string last_idempotency_key_;
  bool closed_ = false;
  std::thread worker_;
};

}  // namespace kyrodb::http::testing
