#include "engine/change_feed.h"

#include <algorithm>

namespace kyrodb {

class ChangeFeed::Sub final : public Subscription {
 public:
  Sub(uint64_t first_offset, size_t max_bytes, std::function<void()> notify)
      : first_offset_(first_offset), max_bytes_(max_bytes), notify_(std::move(notify)) {}

  uint64_t first_offset() const override { return first_offset_; }

  void Drain(std::vector<LogEntry>* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (LogEntry& e : buffer_) out->push_back(std::move(e));
    buffer_.clear();
    bytes_ = 0;
  }

  bool Dropped() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }

  // Writer thread. Returns false when this subscriber is (now) dropped.
  bool Offer(const WriteRequest& r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (dropped_) return false;
      for (size_t i = 0; i < r.ops.size(); ++i) {
        const uint64_t offset = r.first_offset + i;
        if (offset < first_offset_) continue;  // older than the feed: ReadLog has it
        const WriteOp& op = r.ops[i];
        bytes_ += op.value.size() + sizeof(LogEntry);
        if (bytes_ > max_bytes_) {
          dropped_ = true;
          buffer_.clear();
          break;
        }
        buffer_.push_back({offset, op.type, op.key, op.value});
      }
    }
    return true;
  }

  void Notify() { notify_(); }

 private:
  const uint64_t first_offset_;
  const size_t max_bytes_;
  const std::function<void()> notify_;
  mutable std::mutex mu_;
  std::vector<LogEntry> buffer_;  // guarded by mu_
  size_t bytes_ = 0;              // guarded by mu_
  bool dropped_ = false;          // guarded by mu_
};

std::shared_ptr<Subscription> ChangeFeed::Subscribe(uint64_t first_offset, size_t max_buffered_bytes,
                                                    std::function<void()> notify) {
  auto sub = std::make_shared<Sub>(first_offset, max_buffered_bytes, std::move(notify));
  std::lock_guard<std::mutex> lock(mu_);
  subs_.push_back(sub);
  return sub;
}

bool ChangeFeed::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.empty();
}

void ChangeFeed::Publish(const std::vector<WriteRequest>& group) {
  std::vector<std::shared_ptr<Sub>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subs_.empty()) return;
    std::erase_if(subs_, [&](const std::weak_ptr<Sub>& w) {
      auto s = w.lock();
      if (s == nullptr) return true;
      live.push_back(std::move(s));
      return false;
    });
  }
  for (auto& s : live) {
    bool any = false;
    for (const WriteRequest& r : group) {
      if (r.first_offset != 0) any = true;
      if (r.first_offset != 0 && !s->Offer(r)) break;
    }
    if (any) s->Notify();
  }
}

}  // namespace kyrodb
