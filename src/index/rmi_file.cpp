// index-rmi.bin: writing and (distrustful) loading. Byte format, all
// little-endian (docs/INDEX.md and docs/FORMATS.md):
//
//   off  size  field
//     0     8  magic "KYRORMI\0"
//     8     4  format version (1)
//    12     4  header size in bytes (80)
//    16     8  snapshot_id (opaque, from the engine)
//    24     8  key count n
//    32     8  min key (2^64-1 when n = 0)
//    40     8  max key (0 when n = 0)
//    48     4  router kind: 0 linear, 1 log (rmi.h)
//    52     4  router bits in effect (informational)
//    56     4  shift: linear: bucket = (key - min) >> shift; log: mantissa bits
//    60     4  exp_lo: log: bucket 0 holds key - min < 2^exp_lo; linear: 0
//    64     8  bucket count B, which must equal what kind/shift/exp_lo imply
//    72     8  leaf count L
//    80  4(B+1)  router: u32 rank of each bucket's first key; router[B] = n
//     .  16(L+1) leaves: u32 first, u32 centre, f32 slope, u16 err_lo,
//                u16 err_hi (0xFFFF = search the whole leaf); leaf L is the
//                sentinel {first = n, 0, 0, 0, 0}
//     .     4  CRC32C of every byte before it
//
// The loader never trusts the file: sizes are checked against the byte count
// before anything is allocated, and after the structural checks every key is
// routed and must land inside its leaf's window (docs/INDEX.md explains why
// that makes every lookup, hit or miss, exact).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "index/rmi.h"
#include "index/rmi_model.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace kyrodb::index {
namespace {

constexpr char kMagic[8] = {'K', 'Y', 'R', 'O', 'R', 'M', 'I', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 80;
constexpr size_t kLeafBytes = 16;
constexpr size_t kTrailerSize = 4;

Status Bad(const std::string& what) { return Status::Corruption("index-rmi.bin: " + what); }

}  // namespace

std::string Rmi::Serialize(uint64_t snapshot_id) const {
  std::string out;
  out.reserve(kHeaderSize + router_.size() * 4 + leaves_.size() * kLeafBytes + kTrailerSize);
  out.append(kMagic, sizeof kMagic);
  PutFixed32(&out, kVersion);
  PutFixed32(&out, kHeaderSize);
  PutFixed64(&out, snapshot_id);
  PutFixed64(&out, keys_.size());
  PutFixed64(&out, min_key_);
  PutFixed64(&out, max_key_);
  PutFixed32(&out, router_kind_);
  PutFixed32(&out, router_bits_);
  PutFixed32(&out, shift_);
  PutFixed32(&out, exp_lo_);
  PutFixed64(&out, router_.size() - 1);
  PutFixed64(&out, leaves_.size() - 1);
  for (uint32_t rank : router_) PutFixed32(&out, rank);
  for (const Leaf& leaf : leaves_) {
    PutFixed32(&out, leaf.first);
    PutFixed32(&out, leaf.centre);
    PutFixed32(&out, std::bit_cast<uint32_t>(leaf.slope));
    PutFixed32(&out, uint32_t{leaf.err_lo} | (uint32_t{leaf.err_hi} << 16));
  }
  PutFixed32(&out, crc32c::Value(out));
  return out;
}

Status Rmi::Deserialize(std::string_view bytes, std::span<const uint64_t> keys, uint64_t snapshot_id,
                        std::unique_ptr<Rmi>* out) {
  std::unique_ptr<Rmi> rmi;
  KYRODB_RETURN_IF_ERROR(DeserializeUnverified(bytes, keys, snapshot_id, &rmi));
  // --- Semantics: every key must route to its leaf and fall in its window.
  double abs_error_sum = 0;
  KYRODB_RETURN_IF_ERROR(rmi->VerifyKeys(0, keys.size(), &abs_error_sum));
  rmi->stats_.mean_error = keys.empty() ? 0 : abs_error_sum / static_cast<double>(keys.size());
  *out = std::move(rmi);
  return Status::OK();
}

Status Rmi::DeserializeUnverified(std::string_view bytes, std::span<const uint64_t> keys, uint64_t snapshot_id,
                                  std::unique_ptr<Rmi>* out) {
  // --- Framing: magic, version, size, checksum.
  if (bytes.size() < kHeaderSize + kTrailerSize) {
    return Bad("file is " + std::to_string(bytes.size()) + " bytes, shorter than the header");
  }
  const char* p = bytes.data();
  if (std::memcmp(p, kMagic, sizeof kMagic) != 0) return Bad("bad magic");
  const uint32_t version = DecodeFixed32(p + 8);
  if (version != kVersion) return Bad("unsupported format version " + std::to_string(version));
  if (DecodeFixed32(p + 12) != kHeaderSize) return Bad("bad header size");
  const size_t body = bytes.size() - kTrailerSize;
  const uint32_t stored_crc = DecodeFixed32(p + body);
  if (crc32c::Value(p, body) != stored_crc) return Bad("checksum mismatch");

  // --- Header fields against the keys we were given.
  const uint64_t file_snapshot = DecodeFixed64(p + 16);
  if (file_snapshot != snapshot_id) {
    return Bad("built for snapshot " + std::to_string(file_snapshot) + ", current snapshot is " +
               std::to_string(snapshot_id));
  }
  const uint64_t n = DecodeFixed64(p + 24);
  if (n != keys.size()) {
    return Bad("indexes " + std::to_string(n) + " keys, snapshot has " + std::to_string(keys.size()));
  }
  if (n > kMaxKeys) return Bad("too many keys");
  const uint64_t min_key = DecodeFixed64(p + 32);
  const uint64_t max_key = DecodeFixed64(p + 40);
  if (n == 0 ? (min_key != ~uint64_t{0} || max_key != 0) : (min_key != keys.front() || max_key != keys.back())) {
    return Bad("key range does not match the snapshot's keys");
  }
  const uint32_t kind = DecodeFixed32(p + 48);
  const uint32_t router_bits = DecodeFixed32(p + 52);
  const uint32_t shift = DecodeFixed32(p + 56);
  const uint32_t exp_lo = DecodeFixed32(p + 60);
  const uint64_t buckets = DecodeFixed64(p + 64);
  const uint64_t leaf_count = DecodeFixed64(p + 72);
  const uint64_t range = max_key - min_key;  // wraps for n = 0; unused then
  const auto range_bits = static_cast<uint32_t>(std::bit_width(range));
  if (router_bits > kMaxRouterBits) return Bad("router width out of range");
  uint64_t expected_buckets = 1;
  if (n == 0) {
    if (kind != kRouterLinear || shift != 0 || exp_lo != 0) return Bad("bad router for an empty index");
  } else if (kind == kRouterLinear) {
    if (shift > 63 || exp_lo != 0) return Bad("linear router shift out of range");
    expected_buckets = (range >> shift) + 1;
  } else if (kind == kRouterLog) {
    // Needs a key range to split, exp_lo inside it, and a table no larger
    // than a linear router may be.
    if (range_bits == 0 || exp_lo >= range_bits || shift > kMaxRouterBits) {
      return Bad("log router shape out of range");
    }
    const uint64_t slots = range_bits - exp_lo;
    expected_buckets = 1 + (slots << shift);
  } else {
    return Bad("unknown router kind " + std::to_string(kind));
  }
  if (buckets != expected_buckets || buckets > (uint64_t{1} << kMaxRouterBits) + 1) {
    return Bad("bucket count " + std::to_string(buckets) + " does not match the router shape");
  }
  if (leaf_count == 0 || leaf_count > kMaxLeaves || (n == 0 && leaf_count != 1)) {
    return Bad("leaf count " + std::to_string(leaf_count) + " out of range");
  }
  // Both counts are bounded above, so these products cannot overflow.
  const uint64_t router_bytes = (buckets + 1) * 4;
  const uint64_t leaf_bytes = (leaf_count + 1) * kLeafBytes;
  if (kHeaderSize + router_bytes + leaf_bytes != body) {
    return Bad("file is " + std::to_string(bytes.size()) + " bytes, header implies " +
               std::to_string(kHeaderSize + router_bytes + leaf_bytes + kTrailerSize));
  }

  // --- The model, checked entry by entry. Allocation is bounded by `body`.
  std::unique_ptr<Rmi> rmi(new Rmi());
  rmi->keys_ = keys;
  rmi->min_key_ = min_key;
  rmi->max_key_ = max_key;
  rmi->router_bits_ = router_bits;
  rmi->SetRouterShape(kind, shift, exp_lo);
  rmi->leaf_scale_ = n == 0 ? 1.0 : static_cast<double>(leaf_count) / static_cast<double>(n);

  const char* q = p + kHeaderSize;
  rmi->router_.resize(buckets + 1);
  for (uint64_t b = 0; b <= buckets; ++b, q += 4) {
    const uint32_t rank = DecodeFixed32(q);
    if ((b == 0 && rank != 0) || (b > 0 && rank < rmi->router_[b - 1]) || rank > n) {
      return Bad("router rank " + std::to_string(b) + " out of order or out of range");
    }
    rmi->router_[b] = rank;
  }
  if (rmi->router_[buckets] != n) return Bad("router does not end at the key count");

  rmi->leaves_.resize(leaf_count + 1);
  for (uint64_t j = 0; j <= leaf_count; ++j, q += kLeafBytes) {
    Leaf leaf;
    leaf.first = DecodeFixed32(q);
    leaf.centre = DecodeFixed32(q + 4);
    leaf.slope = std::bit_cast<float>(DecodeFixed32(q + 8));
    const uint32_t errs = DecodeFixed32(q + 12);
    leaf.err_lo = static_cast<uint16_t>(errs & 0xFFFF);
    leaf.err_hi = static_cast<uint16_t>(errs >> 16);
    const uint32_t prev_first = j == 0 ? 0 : rmi->leaves_[j - 1].first;
    if ((j == 0 && leaf.first != 0) || leaf.first < prev_first || leaf.first > n) {
      return Bad("leaf " + std::to_string(j) + " starts out of order or out of range");
    }
    if (!std::isfinite(leaf.slope) || leaf.slope < 0 || leaf.slope > kMaxLeafSlope) {
      return Bad("leaf " + std::to_string(j) + " has invalid model parameters");
    }
    if (leaf.err_hi == kWholeLeaf && leaf.err_lo != 0) {
      return Bad("leaf " + std::to_string(j) + " has invalid error bounds");
    }
    rmi->leaves_[j] = leaf;
  }
  const Leaf& sentinel = rmi->leaves_[leaf_count];
  if (sentinel.first != n || sentinel.centre != 0 || sentinel.slope != 0 || sentinel.err_lo != 0 ||
      sentinel.err_hi != 0) {
    return Bad("bad sentinel leaf");
  }

  rmi->FinishStats();
  *out = std::move(rmi);
  return Status::OK();
}

Status Rmi::VerifyKeys(size_t begin, size_t end, double* abs_error_sum) const {
  // Routing is monotone by construction (the router ranks were checked to be
  // non-decreasing), so checking each key's leaf and window here is what the
  // exactness argument in rmi_model.h needs; misses follow from it.
  end = std::min(end, keys_.size());
  double sum_abs_error = 0;
  for (size_t i = begin; i < end; ++i) {
    const uint64_t k = keys_[i];
    if (i > 0 && k <= keys_[i - 1]) {
      return Bad("snapshot keys are not strictly increasing at position " + std::to_string(i));
    }
    const Routed r = Route(k);
    if (i < leaves_[r.leaf].first || i >= leaves_[r.leaf + 1].first) {
      return Bad("key at position " + std::to_string(i) + " routes to leaf " + std::to_string(r.leaf) +
                 ", which does not cover it");
    }
    const ApproxPos w = WindowOf(r);
    if (i < w.lo || i >= w.hi) {
      return Bad("key at position " + std::to_string(i) + " lies outside its leaf's error window");
    }
    sum_abs_error += static_cast<double>(w.pos > i ? w.pos - i : i - w.pos);
  }
  *abs_error_sum += sum_abs_error;
  return Status::OK();
}

}  // namespace kyrodb::index
