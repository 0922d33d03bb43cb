// KeyFilter: a Bloom filter over u64 keys with one writer and lock-free
// readers, so that a GET for a key the delta does not hold skips the delta's
// skip list (about 20 dependent cache misses at 1M entries; one here).
//
// Split-block layout (the one Apache Parquet specifies): the key's hash picks
// one 32-byte block, and sets or tests one bit in each of its eight 32-bit
// words. One cache line per query; with 16 bits per expected key about 0.2 %
// false positives, more once the filter holds more keys than it was sized for
// (never a false negative: a filter past its size just answers "maybe" more
// often). Written by hand because the Debian-packaged libraries offer no
// filter whose bits can be set by one thread while others test them.
//
// Memory: 2 bytes per expected key, rounded up to a power of two, mapped from
// the kernel and resident only as keys land in it.
//
// Ordering: Add sets bits with relaxed atomics; the writer must publish what
// the key stands for (the skip-list node) with a release store afterwards.
// A reader that acquired that publication sees the bits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace kyrodb {

class KeyFilter {
 public:
  // Sized for `expected_keys` (at least 1), capped at kMaxExpectedKeys.
  explicit KeyFilter(size_t expected_keys);
  ~KeyFilter();
  KeyFilter(const KeyFilter&) = delete;
  KeyFilter& operator=(const KeyFilter&) = delete;

  static constexpr size_t kMaxExpectedKeys = size_t{1} << 26;  // a 128 MiB filter

  // Writer thread only.
  void Add(uint64_t key) {
    const uint64_t h = Hash(key);
    uint32_t* block = BlockOf(h);
    for (int i = 0; i < 8; ++i) {
      std::atomic_ref<uint32_t> word(block[i]);
      // One writer: a load and a store cannot lose another writer's bit.
      word.store(word.load(std::memory_order_relaxed) | BitOf(h, i), std::memory_order_relaxed);
    }
  }

  // Any thread. False: the key was never added (before the last publication
  // this thread acquired). True: it may have been.
  bool MayContain(uint64_t key) const {
    const uint64_t h = Hash(key);
    uint32_t* block = BlockOf(h);
    for (int i = 0; i < 8; ++i) {
      if ((std::atomic_ref<uint32_t>(block[i]).load(std::memory_order_relaxed) & BitOf(h, i)) == 0) return false;
    }
    return true;
  }

  size_t bytes() const { return bytes_; }

 private:
  // A 64-bit mixer (the splitmix64 finalizer): keys are often dense or
  // strided, and both the block and the bits come from the hash.
  static uint64_t Hash(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
  }
  // The block from the hash's high bits, the bits from its low 32.
  uint32_t* BlockOf(uint64_t h) const { return words_ + ((h >> block_shift_) << 3); }
  static uint32_t BitOf(uint64_t h, int i) {
    static constexpr uint32_t kSalt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                          0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};
    return uint32_t{1} << ((static_cast<uint32_t>(h) * kSalt[i]) >> 27);
  }

  // Plain words, read and written only through std::atomic_ref: zeroed
  // mapped memory is already an array of them, with no page touched.
  uint32_t* words_ = nullptr;
  size_t bytes_ = 0;
  unsigned block_shift_ = 0;  // 64 - log2(blocks)
};

}  // namespace kyrodb
