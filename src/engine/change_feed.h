// ChangeFeed: fans acknowledged writes out to live subscribers (the SSE change
// stream) without ever slowing the writer: each subscriber has a bounded
// buffer, and one that overflows is cut off rather than waited for.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/group_commit.h"
#include "kyrodb/store.h"

namespace kyrodb {

class ChangeFeed {
 public:
  // `first_offset`: the offset of the next write (last acknowledged + 1).
  std::shared_ptr<Subscription> Subscribe(uint64_t first_offset, size_t max_buffered_bytes,
                                          std::function<void()> notify);

  // Writer thread, after a group is durable and published.
  void Publish(const std::vector<WriteRequest>& group);

  bool empty() const;

 private:
  class Sub;
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Sub>> subs_;  // guarded by mu_
};

}  // namespace kyrodb
