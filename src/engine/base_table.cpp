#include "engine/base_table.h"

#include <algorithm>

#include "index/rmi.h"

namespace kyrodb {

BaseTable::BaseTable(std::shared_ptr<const Snapshot> snapshot, std::shared_ptr<const index::Rmi> index,
                     uint64_t generation, bool index_verified)
    : snapshot_(std::move(snapshot)),
      index_(std::move(index)),
      generation_(generation),
      index_verified_(index_verified),
      mean_error_(index_verified ? index_->stats().mean_error : 0) {}

BaseTable::~BaseTable() = default;

void BaseTable::MarkIndexVerified(double mean_error) {
  mean_error_.store(mean_error, std::memory_order_relaxed);
  index_verified_.store(true, std::memory_order_release);
}

size_t BaseTable::Find(uint64_t key) const {
  if (!index_verified()) {
    const std::span<const uint64_t> keys = snapshot_->keys();
    const auto it = std::lower_bound(keys.begin(), keys.end(), key);
    return it != keys.end() && *it == key ? static_cast<size_t>(it - keys.begin()) : kNotFound;
  }
  const size_t pos = index_->Find(key);
  return pos < snapshot_->count() ? pos : kNotFound;
}

size_t BaseTable::FindEntry(uint64_t key) const {
  // The router's rank is usually within a few keys of the answer, so the
  // entry's lines are usually the ones loaded here; a wrong guess costs a
  // few wasted loads. Without the index there is no guess worth making.
  if (index_verified()) snapshot_->TouchEntry(index_->RoughRank(key));
  return Find(key);
}

size_t BaseTable::LowerBound(uint64_t key) const {
  if (!index_verified()) {
    const std::span<const uint64_t> keys = snapshot_->keys();
    return static_cast<size_t>(std::lower_bound(keys.begin(), keys.end(), key) - keys.begin());
  }
  return index_->LowerBound(key);
}

void BaseTable::Warm() const {
  snapshot_->Prefetch();
  index_->Warm();
}

}  // namespace kyrodb
