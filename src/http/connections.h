// The open sessions of a server: counted for KYRODB_MAX_CONNECTIONS and the
// connections gauge, and reachable so that shutdown can drain them.
// Thread-safe.
#pragma once

#include <prometheus/gauge.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace kyrodb::http {

class Session;

class Connections {
 public:
  explicit Connections(prometheus::Gauge& gauge) : gauge_(gauge) {}

  void Add(Session* session, std::weak_ptr<Session> weak) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.emplace(session, std::move(weak));
    count_.store(sessions_.size(), std::memory_order_relaxed);
    gauge_.Set(static_cast<double>(sessions_.size()));
  }

  // From the session's destructor.
  void Remove(Session* session) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(session);
    count_.store(sessions_.size(), std::memory_order_relaxed);
    gauge_.Set(static_cast<double>(sessions_.size()));
  }

  size_t Count() const { return count_.load(std::memory_order_relaxed); }

  std::vector<std::shared_ptr<Session>> Live() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Session>> out;
    for (const auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }

 private:
  prometheus::Gauge& gauge_;
  mutable std::mutex mu_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::atomic<size_t> count_{0};
};

}  // namespace kyrodb::http
