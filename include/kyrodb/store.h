// Store: the durable key-value engine behind the HTTP server.
//
// Keys are unsigned 64-bit integers, values are byte strings. Every write gets a
// strictly increasing offset (its log sequence number) and is acknowledged only
// after it is durable per Options::fsync_policy: writes go through one WAL
// appender that batches concurrent requests (group commit), so the caller
// hands in a completion callback instead of blocking.
//
// Reads never take a global lock: they load the current generation (an
// immutable base built from the snapshot and indexed by the learned index, plus
// the delta of recent writes) through an atomic pointer and search it.
//
// Thread-safety: every method may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kyrodb/options.h"
#include "kyrodb/status.h"

namespace kyrodb {

// A value read from the store. `data` stays valid as long as this object (it
// pins the generation it came from, including a mapped snapshot).
struct ValueRef {
  std::string_view data;
  uint64_t offset = 0;  // offset of the write that produced this value
  std::shared_ptr<const void> pin;
};

struct WriteOp {
  enum class Type : uint8_t { kPut = 1, kDelete = 2 };
  Type type = Type::kPut;
  uint64_t key = 0;
  std::string value;  // empty for deletes
};

// Per-write options.
struct WriteOptions {
  // 1..64 bytes, or empty for none. A write whose key is still in the store's
  // window (Options::idempotency_window_keys, the newest keys) is not applied
  // again: its callback gets the offset the first attempt got, even across a
  // restart. The key identifies the request, not its content.
  std::string idempotency_key;
};

// Called once per write, after the write is durable (or has failed), on the
// store's WAL completion thread, in write order (a write refused up front, e.g.
// an oversized value or a closing store, is answered at once on the caller's
// thread). Keep it short: post the real work to your own executor; while it
// runs, later groups are written and synced, but none are answered.
//   ok            -> `offset` is the write's offset (first offset for a batch)
//   NotFound      -> Delete of a key that does not exist; nothing was written
//   InvalidArgument, Unavailable, IOError -> nothing was acknowledged
using WriteCallback = std::function<void(const Status&, uint64_t offset)>;

struct ScanEntry {
  uint64_t key = 0;
  ValueRef value;
};

// One write as the log holds it (the change stream and replay).
struct LogEntry {
  uint64_t offset = 0;
  WriteOp::Type type = WriteOp::Type::kPut;
  uint64_t key = 0;
  std::string value;  // empty for deletes
};

// A live feed of acknowledged writes, in offset order, from the moment it was
// created. The writer never waits for a subscriber: a subscriber that lets
// more than its buffer limit pile up is dropped (Dropped() turns true and no
// further entries arrive). Destroying the object unsubscribes.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // First offset this feed delivers: every write >= it is delivered, every
  // older one is for ReadLog.
  virtual uint64_t first_offset() const = 0;
  // Moves the entries buffered so far into `out` (appending). Thread-safe.
  virtual void Drain(std::vector<LogEntry>* out) = 0;
  // True once the subscriber fell too far behind and was cut off.
  virtual bool Dropped() const = 0;
};

struct CheckpointInfo {
  uint64_t offset = 0;          // the last offset the new snapshot contains
  uint64_t snapshot_bytes = 0;  // size of snapshot.bin
  uint64_t count = 0;           // live keys in the snapshot
  uint64_t leaves = 0;          // learned-index leaves
  uint64_t max_error = 0;       // largest per-leaf error bound
  double snapshot_ms = 0;       // time to write and install the snapshot
  double build_ms = 0;          // time to build the index
  uint64_t wal_segments_removed = 0;
};

struct StoreStats {
  uint64_t last_offset = 0;
  uint64_t base_keys = 0;       // keys in the indexed base generation
  uint64_t delta_entries = 0;   // writes (incl. tombstones) not yet in the base
  uint64_t index_generation = 0;
  uint64_t index_leaves = 0;
  uint64_t index_max_error = 0;
  double index_mean_error = 0;  // 0 until the index is verified
  // false from start until the index loaded from index-rmi.bin has been
  // checked against every key (in the background, after Open returns);
  // lookups binary-search the keys meanwhile, exact but slower.
  bool index_verified = true;
  uint64_t wal_bytes = 0;       // bytes in live WAL segments
  uint64_t wal_segments = 0;
  uint64_t snapshot_offset = 0;
  uint64_t snapshot_bytes = 0;
  int64_t snapshot_age_seconds = -1;  // -1: no snapshot yet
  bool read_only = false;
  std::string read_only_reason;
};

class Store {
 public:
  // Opens (creating if needed) the store in options.data_dir and recovers it:
  // load snapshot.bin, replay the WAL tail, load or build the index. A torn WAL
  // tail is truncated and logged; corruption anywhere else fails with a
  // Corruption status naming the file and byte offset.
  static Status Open(const Options& options, std::unique_ptr<Store>* out);

  virtual ~Store() = default;

  // Durable writes. `cb` runs exactly once. Values above max_value_bytes are
  // rejected with InvalidArgument before anything is written.
  virtual void Put(uint64_t key, std::string value, const WriteOptions& options, WriteCallback cb) = 0;
  virtual void Delete(uint64_t key, const WriteOptions& options, WriteCallback cb) = 0;
  // All or nothing: the ops are written as one WAL record and become visible
  // together. Each op gets its own offset: first_offset + index.
  virtual void Write(std::vector<WriteOp> ops, const WriteOptions& options, WriteCallback cb) = 0;

  void Put(uint64_t key, std::string value, WriteCallback cb) { Put(key, std::move(value), {}, std::move(cb)); }
  void Delete(uint64_t key, WriteCallback cb) { Delete(key, {}, std::move(cb)); }
  void Write(std::vector<WriteOp> ops, WriteCallback cb) { Write(std::move(ops), {}, std::move(cb)); }

  // Newest value of `key`, or NotFound.
  virtual Status Get(uint64_t key, ValueRef* out) const = 0;
  // Live keys in [start, end) in ascending order — through 2^64-1 inclusive
  // when `end` is nullopt — at most `limit`, read from one consistent point
  // (never half of a batch). `*more` tells whether keys remain after the last
  // one returned.
  virtual Status Scan(uint64_t start, std::optional<uint64_t> end, size_t limit,
                      std::vector<ScanEntry>* out, bool* more) const = 0;

  // Writes with offsets in [start, end) that the WAL still holds, oldest
  // first, at most `limit` of them. `*first_available` is the oldest offset
  // the log still holds (older writes were folded into the snapshot and their
  // segments removed); when start < *first_available the caller is missing
  // history and should say so. Reads files: not for an I/O thread on huge ranges.
  virtual Status ReadLog(uint64_t start, uint64_t end, size_t limit, std::vector<LogEntry>* out,
                         uint64_t* first_available) const = 0;

  // Starts a live feed of writes (see Subscription). `notify` runs on the WAL
  // completion thread whenever entries were added or the feed was dropped: it must not
  // block (post to your own executor and Drain there). `max_buffered_bytes`
  // bounds what may pile up before the subscriber is dropped.
  virtual std::shared_ptr<Subscription> Subscribe(size_t max_buffered_bytes, std::function<void()> notify) = 0;

  // The offset of the last acknowledged write (0 when none).
  virtual uint64_t LastOffset() const = 0;

  // Folds the delta into a new snapshot, rebuilds and swaps the index, then
  // removes the WAL segments the snapshot covers. Blocking (seconds on large
  // stores): never call it on an I/O thread. Concurrent calls are serialised.
  virtual Status Checkpoint(CheckpointInfo* info) = 0;

  // Touches the index and the mapped snapshot so first reads are fast.
  virtual void Warmup() const = 0;

  virtual StoreStats Stats() const = 0;

  // False once a write could not be made durable; reads keep working.
  virtual bool Writable() const = 0;

  // Stops taking writes, finishes the batch in flight, syncs the WAL and joins
  // the background threads. Idempotent; the destructor calls it.
  virtual void Close() = 0;
};

}  // namespace kyrodb
