#include "engine/key_filter.h"

#include <sys/mman.h>

#include <bit>
#include <new>

namespace kyrodb {

namespace {
constexpr size_t kBlockBytes = 32;
constexpr size_t kBitsPerKey = 16;
constexpr size_t kMinBlocks = 128;  // one 4 KiB page
}  // namespace

KeyFilter::KeyFilter(size_t expected_keys) {
  if (expected_keys < 1) expected_keys = 1;
  if (expected_keys > kMaxExpectedKeys) expected_keys = kMaxExpectedKeys;
  size_t blocks = std::bit_ceil((expected_keys * kBitsPerKey + kBlockBytes * 8 - 1) / (kBlockBytes * 8));
  if (blocks < kMinBlocks) blocks = kMinBlocks;
  block_shift_ = 64 - static_cast<unsigned>(std::countr_zero(blocks));
  bytes_ = blocks * kBlockBytes;
  // mmap, not new[]: zero pages that become resident only where keys land,
  // and given back whole when the delta dies.
  void* mem = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::bad_alloc();
  static_assert(std::atomic_ref<uint32_t>::is_always_lock_free);
  words_ = static_cast<uint32_t*>(mem);
}

KeyFilter::~KeyFilter() { ::munmap(words_, bytes_); }

}  // namespace kyrodb
