#include "engine/base_table.h"

#include "index/rmi.h"

namespace kyrodb {

BaseTable::BaseTable(std::shared_ptr<const Snapshot> snapshot, std::shared_ptr<const index::Rmi> index,
                     uint64_t generation)
    : snapshot_(std::move(snapshot)), index_(std::move(index)), generation_(generation) {}

BaseTable::~BaseTable() = default;

size_t BaseTable::Find(uint64_t key) const {
  const size_t pos = index_->Find(key);
  return pos < snapshot_->count() ? pos : kNotFound;
}

size_t BaseTable::LowerBound(uint64_t key) const { return index_->LowerBound(key); }

void BaseTable::Warm() const {
  snapshot_->Prefetch();
  index_->Warm();
}

}  // namespace kyrodb
