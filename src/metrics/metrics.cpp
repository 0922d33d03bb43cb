#include "metrics/metrics.h"

namespace kyrodb::metrics {
namespace {

prometheus::Counter& Counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}
prometheus::Gauge& Gauge(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}
prometheus::Histogram& Histogram(prometheus::Registry& r, const std::string& name, const std::string& help,
                                 const prometheus::Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, buckets);
}

}  // namespace

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
          0.005,   0.01,     0.025,   0.05,   0.1,     0.25,   0.5,   1,     2.5, 10};
}

WalMetrics::WalMetrics(prometheus::Registry& r)
    : appends(Counter(r, "kyrodb_wal_appends_total", "WAL records appended")),
      bytes(Counter(r, "kyrodb_wal_bytes_total", "Bytes appended to the WAL")),
      fsyncs(Counter(r, "kyrodb_wal_fsyncs_total", "WAL fdatasync/fsync calls")),
      errors(Counter(r, "kyrodb_wal_errors_total", "WAL appends or syncs that failed")),
      group_size(Histogram(r, "kyrodb_wal_group_size_requests", "Write requests made durable by one group commit",
                           {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})),
      fsync_seconds(Histogram(r, "kyrodb_wal_fsync_duration_seconds", "Duration of one WAL sync", LatencyBuckets())),
      segments(Gauge(r, "kyrodb_wal_segments", "Live WAL segment files")),
      live_bytes(Gauge(r, "kyrodb_wal_live_bytes", "Bytes in live WAL segment files")),
      truncated_bytes(Counter(r, "kyrodb_wal_truncated_bytes_total", "Torn-tail bytes dropped during recovery")) {}

SnapshotMetrics::SnapshotMetrics(prometheus::Registry& r)
    : writes(Counter(r, "kyrodb_snapshot_writes_total", "Snapshots written and installed")),
      failures(Counter(r, "kyrodb_snapshot_failures_total", "Snapshot attempts that failed")),
      duration_seconds(Histogram(r, "kyrodb_snapshot_duration_seconds", "Time to write and install a snapshot",
                                 {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120})),
      bytes(Gauge(r, "kyrodb_snapshot_size_bytes", "Size of the installed snapshot.bin")),
      offset(Gauge(r, "kyrodb_snapshot_offset", "Last write offset contained in the installed snapshot")),
      timestamp_seconds(Gauge(r, "kyrodb_snapshot_last_success_timestamp_seconds",
                              "Unix time of the last snapshot install")) {}

IndexMetrics::IndexMetrics(prometheus::Registry& r)
    : lookups(Counter(r, "kyrodb_index_lookups_total", "Point lookups searched in the learned index")),
      delta_hits(Counter(r, "kyrodb_index_delta_hits_total", "Point lookups answered by the delta of recent writes")),
      window_keys(Histogram(r, "kyrodb_index_probe_window_keys",
                            "Probe window of each leaf (keys searched after the prediction), observed at build",
                            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096})),
      build_seconds(Histogram(r, "kyrodb_index_build_duration_seconds", "Learned index build time",
                              {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      generation(Gauge(r, "kyrodb_index_generation", "Published index generation")),
      leaves(Gauge(r, "kyrodb_index_leaves", "Leaves in the published learned index")),
      max_error(Gauge(r, "kyrodb_index_max_error_keys", "Largest per-leaf error bound of the published index")),
      keys(Gauge(r, "kyrodb_index_keys", "Keys covered by the published index")) {}

StoreMetrics::StoreMetrics(prometheus::Registry& r)
    : delta_entries(Gauge(r, "kyrodb_store_delta_entries", "Writes not yet folded into the indexed base")),
      delta_bytes(Gauge(r, "kyrodb_store_delta_bytes",
                        "Memory held by the deltas (the active one and any being folded): entries, values, key index")),
      last_offset(Gauge(r, "kyrodb_store_last_offset", "Offset of the last acknowledged write")),
      read_only(Gauge(r, "kyrodb_store_read_only", "1 when the store refuses writes after an I/O error")),
      checkpoints(Counter(r, "kyrodb_store_checkpoints_total", "Delta folds into a new snapshot and index")),
      checkpoint_failures(Counter(r, "kyrodb_store_checkpoint_failures_total", "Checkpoints that failed")) {}

EngineMetrics::EngineMetrics(prometheus::Registry& r) : wal(r), snapshot(r), index(r), store(r) {
  AddScrapeHook(r, this, [this] {
    index.lookups.Flush();
    index.delta_hits.Flush();
  });
}

EngineMetrics::~EngineMetrics() { RemoveScrapeHooks(this); }

}  // namespace kyrodb::metrics
