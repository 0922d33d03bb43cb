// The metric families of every layer, registered in one prometheus-cpp registry
// and served as text by the HTTP layer's /metrics route (SPEC §6).
//
// Names follow kyrodb_<layer>_<what>_<unit>. Each layer gets one struct, built
// once at start-up; hot paths hold plain references to the children so that
// recording a sample is an atomic add, never a map lookup. What every request
// touches goes through per-thread shards (metrics/sharded.h), so serve the
// registry with metrics::Collect.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "metrics/sharded.h"

namespace kyrodb::metrics {

// Histogram bucket boundaries shared by the latency families (seconds).
prometheus::Histogram::BucketBoundaries LatencyBuckets();

struct WalMetrics {
  explicit WalMetrics(prometheus::Registry& r);
  prometheus::Counter& appends;          // records appended (a batch counts once)
  prometheus::Counter& bytes;            // bytes appended
  prometheus::Counter& fsyncs;           // fdatasync/fsync calls
  prometheus::Counter& errors;           // failed appends or syncs
  prometheus::Histogram& group_size;     // write requests per group commit
  prometheus::Histogram& fsync_seconds;  // time of one sync
  prometheus::Gauge& segments;           // live segment files
  prometheus::Gauge& live_bytes;         // bytes in live segments
  prometheus::Counter& truncated_bytes;  // torn-tail bytes dropped at recovery
};

struct SnapshotMetrics {
  explicit SnapshotMetrics(prometheus::Registry& r);
  prometheus::Counter& writes;             // snapshots installed
  prometheus::Counter& failures;           // snapshot attempts that failed
  prometheus::Histogram& duration_seconds; // write + install time
  prometheus::Gauge& bytes;                // size of the current snapshot.bin
  prometheus::Gauge& offset;               // last offset the snapshot contains
  prometheus::Gauge& timestamp_seconds;    // unix time of the last install
};

struct IndexMetrics {
  explicit IndexMetrics(prometheus::Registry& r);
  ShardedCounter lookups;                   // point lookups that reached the index
  ShardedCounter delta_hits;                // point lookups answered by the delta
  prometheus::Histogram& window_keys;       // per-leaf probe window, observed at build
  prometheus::Histogram& build_seconds;     // index build time
  prometheus::Gauge& generation;            // published index generation
  prometheus::Gauge& leaves;                // leaves in the published index
  prometheus::Gauge& max_error;             // largest per-leaf error bound (keys)
  prometheus::Gauge& keys;                  // keys covered by the index
};

struct StoreMetrics {
  explicit StoreMetrics(prometheus::Registry& r);
  prometheus::Gauge& delta_entries;      // writes not yet folded into the base
  prometheus::Gauge& delta_bytes;        // memory of the deltas (active and frozen)
  prometheus::Gauge& last_offset;        // last acknowledged offset
  prometheus::Gauge& read_only;          // 1 once writes are refused after an I/O error
  prometheus::Counter& checkpoints;      // delta folds (snapshot + index) completed
  prometheus::Counter& checkpoint_failures;
};

struct EngineMetrics {
  // Registers the scrape hook that flushes the sharded counters.
  explicit EngineMetrics(prometheus::Registry& r);
  ~EngineMetrics();
  EngineMetrics(const EngineMetrics&) = delete;
  EngineMetrics& operator=(const EngineMetrics&) = delete;
  WalMetrics wal;
  SnapshotMetrics snapshot;
  IndexMetrics index;
  StoreMetrics store;
};

}  // namespace kyrodb::metrics
