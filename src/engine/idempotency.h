// IdempotencyWindow: the most recent Idempotency-Keys and the offset each one
// answered, so a retried write returns the first attempt's offset instead of
// writing again (SPEC §2).
//
// The window is a count: the newest `capacity` keys (Options::
// idempotency_window_keys). It is rebuilt at start from the WAL — keyed
// records carry their key, and every new segment begins with a carry record
// re-stating the window — so it survives restarts and checkpoints alike.
// Not thread-safe: the group-commit thread owns it (recovery fills it first).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kyrodb {

class IdempotencyWindow {
 public:
  explicit IdempotencyWindow(size_t capacity) : capacity_(capacity) {}

  std::optional<uint64_t> Find(std::string_view key) const {
    auto it = offsets_.find(std::string(key));
    if (it == offsets_.end()) return std::nullopt;
    return it->second;
  }

  // Remembers `key` -> `offset` unless the key is already known (the first
  // answer stands); forgets the oldest key beyond capacity.
  void Insert(std::string_view key, uint64_t offset) {
    if (capacity_ == 0) return;
    auto [it, inserted] = offsets_.try_emplace(std::string(key), offset);
    if (!inserted) return;
    order_.push_back(it->first);
    while (order_.size() > capacity_) {
      offsets_.erase(order_.front());
      order_.pop_front();
    }
  }

  // Oldest first, for the carry record.
  std::vector<std::pair<std::string, uint64_t>> Entries() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    out.reserve(order_.size());
    for (const std::string& k : order_) out.emplace_back(k, offsets_.at(k));
    return out;
  }

  size_t size() const { return order_.size(); }

 private:
  size_t capacity_;
  std::unordered_map<std::string, uint64_t> offsets_;
  std::deque<std::string> order_;
};

}  // namespace kyrodb
