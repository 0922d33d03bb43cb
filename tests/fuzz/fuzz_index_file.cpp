// fuzz_index_file: index::Rmi::Deserialize (the index-rmi.bin loader).
//
// Deserialize checks a file against the snapshot's key array, so the input
// first names a key set, generated deterministically (fuzz_util.h MakeKeys):
//
//   mode u8 | dist u8 | n u16 (keys, mod 1025) | seed u64 | rest
//
// mode bit 0 = 0, "raw file": `rest` is the file. snapshot_id is taken from
//   the file itself (bytes 16..23) so that check does not stop every input;
//   mode bit 1 recomputes the trailing crc first.
// mode bit 0 = 1, "built then mutated": rest = router_bits u8 | keys_per_leaf
//   u16 | leaves u8 | mutations (pos u16, xor u8)*. The keys are indexed with
//   Rmi::Build, serialized, and the file must load back as is; then the
//   mutations are applied, the crc recomputed unless mode bit 1 is set, and
//   the result loaded again.
//
// Invariants:
//  - Build over strictly increasing keys succeeds, and the serialized index
//    loads back (the writer and the loader agree, for every key shape);
//  - Deserialize fails with Corruption, leaving *out untouched, or succeeds,
//    and then the index serializes back to exactly the bytes it was read from;
//  - a loaded (or built) index is exact: Find() of every key returns its
//    position, LowerBound() of every key, of its neighbours and of the
//    extremes equals std::lower_bound, and Predict()'s window holds it.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "index/rmi.h"

namespace {

using kyrodb::Status;
using kyrodb::index::Rmi;

constexpr size_t kSpecSize = 1 + 1 + 2 + 8;
constexpr size_t kMaxKeys = 1024;

// `want` is std::lower_bound(keys, probe), which the callers know without a
// search (instrumented searches in the harness would dominate its run time).
void CheckLowerBound(const Rmi& rmi, std::span<const uint64_t> keys, uint64_t probe, size_t want) {
  const size_t got = rmi.LowerBound(probe);
  FUZZ_CHECK(got == want, "LowerBound(%llu) = %zu, expected %zu", static_cast<unsigned long long>(probe), got, want);
  const bool present = want < keys.size() && keys[want] == probe;
  const size_t found = rmi.Find(probe);
  FUZZ_CHECK(found == (present ? want : keys.size()), "Find(%llu) = %zu, expected %zu",
             static_cast<unsigned long long>(probe), found, present ? want : keys.size());
  const kyrodb::index::ApproxPos p = rmi.Predict(probe);
  FUZZ_CHECK(p.lo <= p.pos && p.pos <= p.hi && p.hi <= keys.size(), "Predict(%llu) = {%zu, %zu, %zu}",
             static_cast<unsigned long long>(probe), p.pos, p.lo, p.hi);
  FUZZ_CHECK(p.lo <= want && want <= p.hi, "Predict(%llu) window [%zu, %zu] misses %zu",
             static_cast<unsigned long long>(probe), p.lo, p.hi, want);
}

void CheckLowerBound(const Rmi& rmi, std::span<const uint64_t> keys, uint64_t probe) {
  CheckLowerBound(rmi, keys, probe,
                  static_cast<size_t>(std::lower_bound(keys.begin(), keys.end(), probe) - keys.begin()));
}

void CheckExact(const Rmi& rmi, std::span<const uint64_t> keys) {
  const size_t n = keys.size();
  FUZZ_CHECK(rmi.size() == n, "size %zu, keys %zu", rmi.size(), n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = keys[i];
    // A hit: Find is LowerBound plus a compare, so this checks both.
    FUZZ_CHECK(rmi.Find(k) == i, "Find(keys[%zu]) = %zu", i, rmi.Find(k));
    const kyrodb::index::ApproxPos p = rmi.Predict(k);
    FUZZ_CHECK(p.lo <= i && i <= p.hi && p.hi <= n, "Predict(keys[%zu]) = {%zu, %zu, %zu}", i, p.pos, p.lo, p.hi);
    // The misses on both sides of it, where a gap between keys begins and ends.
    if (k != ~uint64_t{0} && (i + 1 == n || keys[i + 1] != k + 1)) CheckLowerBound(rmi, keys, k + 1, i + 1);
    if (k != 0 && (i == 0 || keys[i - 1] != k - 1)) CheckLowerBound(rmi, keys, k - 1, i);
  }
  CheckLowerBound(rmi, keys, 0);
  CheckLowerBound(rmi, keys, ~uint64_t{0});
  CheckLowerBound(rmi, keys, uint64_t{1} << 63);
  (void)rmi.WindowSizes();
}

// Loads `file`; on success checks exactness. Returns the index or nullptr.
std::unique_ptr<Rmi> Load(std::string_view file, std::span<const uint64_t> keys, uint64_t snapshot_id,
                          bool check_exact = true) {
  std::unique_ptr<Rmi> out;
  Status s = Rmi::Deserialize(file, keys, snapshot_id, &out);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), "status %s", s.ToString().c_str());
    FUZZ_CHECK(out == nullptr, "failed Deserialize set *out");
    return nullptr;
  }
  FUZZ_CHECK(out != nullptr, "Deserialize succeeded without an index");
  FUZZ_CHECK(out->Serialize(snapshot_id) == file, "an accepted file does not serialize back to itself");
  if (check_exact) CheckExact(*out, keys);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kSpecSize) return 0;
  const uint8_t mode = data[0];
  const uint8_t dist = data[1];
  const size_t n = (data[2] | (size_t{data[3]} << 8)) % (kMaxKeys + 1);
  const uint64_t seed = kyrodb::DecodeFixed64(reinterpret_cast<const char*>(data) + 4);
  const std::vector<uint64_t> keys = kyrodb::fuzz::MakeKeys(dist, n, seed);
  std::string_view rest(reinterpret_cast<const char*>(data) + kSpecSize, size - kSpecSize);

  if ((mode & 1) == 0) {
    std::string file(rest);
    if (mode & 2) kyrodb::fuzz::FixTrailerCrc(&file);
    const uint64_t snapshot_id = file.size() >= 24 ? kyrodb::DecodeFixed64(file.data() + 16) : 0;
    Load(file, keys, snapshot_id);
    return 0;
  }

  kyrodb::index::RmiOptions opts;
  if (rest.size() >= 4) {
    opts.router_bits = static_cast<uint8_t>(rest[0]) % (Rmi::kMaxRouterBits + 1);
    opts.keys_per_leaf = 1 + (static_cast<uint8_t>(rest[1]) | (static_cast<uint32_t>(static_cast<uint8_t>(rest[2])) << 8)) % 1024;
    opts.leaves = static_cast<uint8_t>(rest[3]) % 64;  // 0: derive from keys_per_leaf
    rest.remove_prefix(4);
  }
  std::unique_ptr<Rmi> built = Rmi::Build(keys, opts);
  FUZZ_CHECK(built != nullptr, "Build refused %zu strictly increasing keys", keys.size());
  CheckExact(*built, keys);
  std::string file = built->Serialize(seed);
  // The built index was just checked exact; the loaded one is the same model,
  // as Load's check that it serializes back to the same bytes shows.
  FUZZ_CHECK(Load(file, keys, seed, /*check_exact=*/false) != nullptr,
             "a freshly serialized index does not load (%zu keys, dist %u)", keys.size(),
             static_cast<unsigned>(dist % 6));
  {
    std::unique_ptr<Rmi> wrong;
    FUZZ_CHECK(!Rmi::Deserialize(file, keys, seed + 1, &wrong).ok(), "loaded for another snapshot id");
  }

  bool mutated = false;
  while (rest.size() >= 3 && !file.empty()) {
    const size_t pos = (static_cast<uint8_t>(rest[0]) | (size_t{static_cast<uint8_t>(rest[1])} << 8)) % file.size();
    const auto x = static_cast<char>(rest[2]);
    file[pos] = static_cast<char>(file[pos] ^ x);
    mutated = mutated || x != 0;
    rest.remove_prefix(3);
  }
  if (!mutated) return 0;
  if ((mode & 2) == 0) kyrodb::fuzz::FixTrailerCrc(&file);
  Load(file, keys, seed);
  return 0;
}
