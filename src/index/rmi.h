// The learned index over the base generation's sorted key array (SPEC §5,
// docs/INDEX.md).
//
// Shape: a two-stage recursive model index (RMI).
//   Stage 1, the router: a radix table over the top `router_bits` bits of
//     (key - min_key) that stores, per bucket, the rank of the bucket's first
//     key. Interpolating inside the bucket gives a CDF estimate in O(1) (two
//     adjacent u32 loads, no search), and that estimate picks the leaf.
//   Stage 2, the leaves: one linear model per leaf over the router's estimate,
//     with error bounds below/above measured at build over every key the leaf
//     covers (and its two boundaries, so that absent keys are bounded too).
//   Probe: only [pos - err_lo, pos + err_hi] of the key array is read, with
//     xsimd batch compares (probe.h); windows wider than a few cache lines are
//     narrowed by a branchless binary search first.
// The comment at the top of rmi_builder.cpp explains why the router is a
// radix table rather than a trained linear root (measured in docs/INDEX.md).
//
// Thread safety: an Rmi is immutable once built or loaded; any number of
// threads may call the const methods concurrently. The engine publishes
// generations as std::shared_ptr<const Rmi> (see rmi_concurrency_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kyrodb/status.h"

namespace kyrodb::index {

// Build parameters. Defaults are what the engine uses; each costs as noted.
struct RmiOptions {
  // Radix router width (KYRODB_RMI_ROUTER_BITS). The router holds
  // 2^bits + 1 u32 ranks: 256 KiB at 16 bits, 4 MiB at 20. More bits follow a
  // skewed CDF more closely (smaller leaf errors) but the table competes with
  // the key array for cache. Capped at kMaxRouterBits, and automatically at
  // about 4x the key count and at the key range's width, so tiny or dense key
  // sets never pay for an oversized table.
  uint32_t router_bits = 16;
  // Target keys per leaf when `leaves` is 0. Each leaf costs 16 bytes
  // (256 keys/leaf = 1/16 byte per key: 625 KiB of leaves at 10M keys, which
  // stays in L2 while the key array streams through the caches). Fewer keys
  // per leaf shrink the probe window (mean ~17 keys, 3 cache lines read in
  // parallel, at 256) but a leaf array that falls out of cache costs a second
  // dependent miss per lookup: measured at 10M and 50M keys, 256 beat 16, 32,
  // 64, 128 and 1024 (docs/INDEX.md).
  uint32_t keys_per_leaf = 256;
  // Exact leaf count; 0 = ceil(n / keys_per_leaf). Tests use it to force one
  // leaf or more leaves than keys. Capped at kMaxLeaves.
  uint32_t leaves = 0;
};

// Where a key is, approximately: if present, it is in keys[lo, hi), and the
// first position with keys[i] >= key is in [lo, hi] (hi inclusive, for misses).
struct ApproxPos {
  size_t pos;  // the model's prediction, lo <= pos <= hi
  size_t lo;
  size_t hi;
};

struct RmiStats {
  uint64_t count = 0;          // keys indexed
  uint64_t leaves = 0;         // leaf models
  uint64_t max_error = 0;      // largest per-leaf bound max(err_lo, err_hi), keys
  double mean_error = 0;       // mean |predicted - true| position over all keys
  double mean_window = 0;      // mean probe window (keys) over all keys
  double build_ms = 0;         // wall time of Build (0 when loaded from a file)
  uint32_t router_bits = 0;    // effective router width after the caps
  bool log_router = false;     // the router splits powers of two (skewed keys)
  uint64_t bytes = 0;          // router + leaves, excluding the keys themselves
};

class Rmi {
 public:
  static constexpr uint32_t kMaxRouterBits = 24;          // 64 MiB router
  static constexpr uint64_t kMaxLeaves = uint64_t{1} << 28;  // 4 GiB of leaves
  static constexpr uint64_t kMaxKeys = 0xFFFFFFFEull;        // ranks are u32

  // Builds the index over `keys`, which must be sorted strictly increasing,
  // hold at most kMaxKeys entries, and outlive the Rmi (it is not copied: the
  // engine's keys live in the mmapped snapshot). Returns nullptr if the keys
  // break these rules. Single-threaded; O(n + leaves + 2^router_bits).
  static std::unique_ptr<Rmi> Build(std::span<const uint64_t> keys, const RmiOptions& opts = {});

  // The model's bounded guess for `key` (no key array access).
  ApproxPos Predict(uint64_t key) const;
  // Exact position of `key`, or size() if it is absent.
  size_t Find(uint64_t key) const;
  // The router's rough rank for `key`, clamped to [0, size()): no leaf or key
  // is read, only the router (which stays in cache). Usually within a few
  // keys of the answer, so a caller can start fetching what it keeps beside
  // the keys (the snapshot's value positions) while Find reads the leaf and
  // the keys. 0 for an empty index.
  size_t RoughRank(uint64_t key) const;
  // First position with keys[pos] >= key, size() if none (for scans).
  size_t LowerBound(uint64_t key) const;

  size_t size() const { return keys_.size(); }
  std::span<const uint64_t> keys() const { return keys_; }
  const RmiStats& stats() const { return stats_; }

  // Probe window (keys) of every leaf, for the window-size histogram the
  // engine observes once per build. Empty leaves report 1.
  std::vector<uint32_t> WindowSizes() const;

  // Reads every router and leaf cache line and one word per 4 KiB page of the
  // key array, so the first lookups after start or a swap hit warm memory.
  void Warm() const;

  // index-rmi.bin contents (byte format in docs/INDEX.md), tied to the
  // snapshot through the engine's opaque `snapshot_id`.
  std::string Serialize(uint64_t snapshot_id) const;

  // Loads an index serialized over exactly these `keys`. Never trusts the
  // bytes: checks magic, version, sizes, checksum, snapshot_id, key count and
  // range, every router rank and leaf parameter, and then that every key
  // routes to its leaf and sits inside its window (so lookups on the loaded
  // index are exact even if the file came from a different build). On any
  // mismatch returns Status::Corruption naming the first problem and leaves
  // *out untouched. Allocates no more than the size of `bytes`.
  static Status Deserialize(std::string_view bytes, std::span<const uint64_t> keys,
                            uint64_t snapshot_id, std::unique_ptr<Rmi>* out);

  // Deserialize in two halves, so that a server can start serving before the
  // O(n) half is done. DeserializeUnverified makes every check of Deserialize
  // except routing the keys (framing, checksum, snapshot_id, key count and
  // range, router and leaf parameters). Its result is NOT known to answer
  // exactly: the caller must not use Predict/Find/LowerBound until
  // VerifyKeys has returned OK for every position in [0, size()) (in any
  // number of calls, on any threads), and must search the keys some other
  // way until then. stats().mean_error stays 0; VerifyKeys reports the sum.
  static Status DeserializeUnverified(std::string_view bytes, std::span<const uint64_t> keys,
                                      uint64_t snapshot_id, std::unique_ptr<Rmi>* out);
  // The semantic half of Deserialize over positions [begin, end): each key
  // must be greater than the one before it, route to the leaf that covers it
  // and lie inside that leaf's error window. Adds |predicted - true position|
  // of each key to *abs_error_sum. Corruption names the first bad position.
  // Const and thread-safe.
  Status VerifyKeys(size_t begin, size_t end, double* abs_error_sum) const;

  Rmi(const Rmi&) = delete;
  Rmi& operator=(const Rmi&) = delete;
  ~Rmi();

  // One leaf model (16 bytes, 4 per cache line). Public only so that the
  // builder, the file code and the tests can share it.
  struct Leaf {
    uint32_t first;     // rank of the first key routed to this leaf
    uint32_t centre;    // mean t of the leaf's keys, fixed point (2^-32 units)
    float slope;        // predicted local rank = (count - 1) / 2 + slope * (t - centre)
    uint16_t err_lo;    // prediction may be this much above the true rank
    uint16_t err_hi;    // ... or this much below; kWholeLeaf = search all of it
  };
  static constexpr uint16_t kWholeLeaf = 0xFFFF;
  static constexpr uint32_t kRouterLinear = 0;
  static constexpr uint32_t kRouterLog = 1;

 private:
  Rmi() = default;

  struct Routed {
    size_t leaf;
    double t;
    double rank;  // the router's own CDF estimate, used as a prefetch hint
  };
  // Defined in rmi_model.h, shared by build, lookup and load so that the
  // error bounds are measured with exactly the arithmetic lookups use.
  Routed Route(uint64_t key) const;       // key must be in [min_key_, max_key_]
  void Bucket(uint64_t x, uint64_t* bucket, double* frac) const;  // x = key - min_key_
  // Sets the router's kind and shape and derives the lookup constants.
  // Returns the bucket count the shape implies for the key range.
  uint64_t SetRouterShape(uint32_t kind, uint32_t shift, uint32_t exp_lo);
  // Builds router_ (buckets + 1 ranks) for the current shape; false if the
  // keys are not strictly increasing. *crowding = sum over buckets of
  // count^2 / n, the mean number of keys sharing a key's bucket.
  bool FillRouter(uint64_t buckets, double* crowding);
  ApproxPos Window(uint64_t key) const;   // key must be in [min_key_, max_key_]
  ApproxPos WindowOf(const Routed& r) const;
  void FinishStats();                     // fills stats_ from the model and keys

  std::span<const uint64_t> keys_;
  uint64_t min_key_ = ~uint64_t{0};  // n == 0: every key is below min or above max
  uint64_t max_key_ = 0;
  // The router comes in two kinds (rmi_builder.cpp explains the choice):
  //  kRouterLinear: bucket = x >> shift_, x = key - min_key_.
  //  kRouterLog:    bucket 0 holds x < 2^exp_lo_; above it, each power of two
  //                 of x gets 2^shift_ buckets (the bits after x's leading 1).
  uint32_t router_kind_ = kRouterLinear;
  uint32_t shift_ = 0;
  uint32_t exp_lo_ = 0;
  uint32_t router_bits_ = 0;
  uint64_t bucket_mask_ = 0;         // (1 << shift_) - 1
  double bucket_scale_ = 1.0;        // linear: 2^-shift_; log: 2^-exp_lo_ (exact)
  double leaf_scale_ = 1.0;          // leaves / n
  std::vector<uint32_t> router_;     // buckets + 1 ranks, router_[buckets] == n
  std::vector<Leaf> leaves_;         // leaves + 1; the last is a sentinel {first = n}
  RmiStats stats_;
};

static_assert(sizeof(Rmi::Leaf) == 16, "leaf params must stay 16 bytes");

}  // namespace kyrodb::index
