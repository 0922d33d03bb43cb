// BaseTable: the immutable, indexed part of a generation — one snapshot and
// the learned index over its keys. Readers share it through the generation
// pointer; it is freed when the last reader lets go.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/snapshot.h"
#include "kyrodb/store.h"

namespace kyrodb {
namespace index {
class Rmi;
}

class BaseTable {
 public:
  static constexpr size_t kNotFound = ~size_t{0};

  // `index_verified`: false for an index loaded with its key check deferred
  // (Rmi::DeserializeUnverified). Until MarkIndexVerified, lookups do not
  // consult it and binary-search the snapshot's keys instead, which the
  // snapshot loader proved strictly increasing: exact either way, the index
  // only makes them faster.
  BaseTable(std::shared_ptr<const Snapshot> snapshot, std::shared_ptr<const index::Rmi> index, uint64_t generation,
            bool index_verified = true);
  ~BaseTable();

  // Position of `key` in the snapshot, or kNotFound. Lock-free, exact.
  size_t Find(uint64_t key) const;
  // Find for a caller that reads value_at and offset_at of the answer next:
  // their cache misses run while the index searches the keys (bench/
  // base_lookup: about 110 ns less per lookup at 1M keys on the VM of
  // docs/BENCHMARKS.md).
  size_t FindEntry(uint64_t key) const;
  // First position whose key is >= `key` (count() when none).
  size_t LowerBound(uint64_t key) const;

  // True once lookups go through the learned index.
  bool index_verified() const { return index_verified_.load(std::memory_order_acquire); }
  // Called once VerifyIndexKeys passed for index(): lookups switch to it.
  void MarkIndexVerified(double mean_error);
  // Mean |predicted - true| position of the index; 0 until it is verified.
  double index_mean_error() const { return mean_error_.load(std::memory_order_relaxed); }

  const Snapshot& snapshot() const { return *snapshot_; }
  const std::shared_ptr<const Snapshot>& snapshot_ptr() const { return snapshot_; }
  const index::Rmi* index() const { return index_.get(); }
  uint64_t generation() const { return generation_; }
  size_t count() const { return snapshot_->count(); }

  // Touches the index and reads the mapped snapshot ahead.
  void Warm() const;

 private:
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const index::Rmi> index_;
  uint64_t generation_;
  std::atomic<bool> index_verified_;
  std::atomic<double> mean_error_{0};
};

}  // namespace kyrodb
