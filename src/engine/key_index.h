// KeyIndex: a hash index from a u64 key to the item that holds it, with one
// writer and lock-free readers, that grows with its contents. The delta uses
// it so that a GET finds a key (or learns it is absent) in about one cache
// line instead of a skip-list walk: ~20 dependent cache misses at 1M keys,
// 2.2-2.8 us measured (bench/delta_lookup).
//
// Layout: open addressing with linear probing over a power-of-two table of
// 8-byte slots. A slot holds the item's address in its low 48 bits and 16
// bits of the key's hash above them, so a probe compares tags and follows a
// pointer only when the tag matches (a false match is 1 in 65 536). Items
// are never removed (a delta only grows), so a slot, once set, never changes
// and an empty slot ends a probe.
//
// Growth: when half the slots are used, the writer maps a table twice as
// large and publishes it; from then on new keys go there, and each Insert
// also copies kCopyStep slots of the previous table into it, so the writer
// never stalls for a whole copy (measured before this was incremental: 7 ms
// at 64k keys, 20 ms at 512k; the copy itself should take a fraction of
// that, the page faults of the new table the rest). The copy ends long
// before the next growth (a quarter of the way there).
//
// While a copy runs, a key is in the previous table (complete and never
// changed again) or in the new one, so a lookup that misses the new table
// also probes the previous one, which the new table's header points to
// until the copy is done. Old tables stay mapped until the index dies,
// because a reader may be inside one at any time. They sum to less than the
// live one, which is 16-32 bytes a key, so the index costs 32 bytes a key
// just before a growth and 64 right after one.
//
// Written by hand because no Debian-packaged library offers a concurrent
// hash map whose readers take no lock and that one thread may grow.
//
// Ordering: Insert stores the slot with release after the item is complete,
// and a copied slot with release too; Find acquires the table and the slot,
// so an item found is fully visible. A reader that acquired a publication
// made after Insert finds the key: it loads the live table's link to the
// previous one before probing the live one, and the link is cleared (with
// release) only after the last copy, so either the link is still there or
// every copy is visible to the probe.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace kyrodb {

// T has a `uint64_t key` member that does not change once T is inserted.
template <class T>
class KeyIndex {
 public:
  KeyIndex() : table_(NewTable(kMinSlots).release()) {}
  ~KeyIndex() { Unmap(table_.load(std::memory_order_relaxed)); }
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  // The first table: one 4 KiB page.
  static constexpr size_t kMinSlots = 512;

  // Writer thread only. `item`'s key must not be in the index yet. False,
  // and nothing stored, if the item's address does not fit in 48 bits (no
  // Linux mapping is placed there unless asked to); the caller must then
  // stop relying on Find.
  bool Insert(const T* item) {
    const auto address = reinterpret_cast<uintptr_t>(item);
    if ((address >> kAddressBits) != 0) return false;
    Table* t = table_.load(std::memory_order_relaxed);
    if (2 * (count_ + 1) > t->slots) t = Grow(t);
    if (t->Prev(std::memory_order_relaxed) != nullptr) CopySome(t, kCopyStep);
    Place(t, address, Hash(item->key));
    ++count_;
    return true;
  }

  // Any thread. The item inserted with `key`, or nullptr.
  const T* Find(uint64_t key) const {
    const uint64_t h = Hash(key);
    const Table* t = table_.load(std::memory_order_acquire);
    const Table* prev = t->Prev(std::memory_order_acquire);  // before probing t
    if (const T* item = Probe(t, key, h)) return item;
    return prev != nullptr ? Probe(prev, key, h) : nullptr;
  }

  // Writer thread only: loads the cache line an Insert of `key` would probe
  // first, so a batch can overlap that miss with other work.
  void Prefetch(uint64_t key) const {
    const Table* t = table_.load(std::memory_order_relaxed);
    __builtin_prefetch(t->Slots() + (Hash(key) & (t->slots - 1)), 1);
  }

  // Slots of the previous table each Insert copies while a copy runs. A
  // table of S slots is copied in S / kCopyStep inserts and the next growth
  // comes S / 2 inserts later, so any step >= 2 finishes first; 8 leaves the
  // second probe on misses for only a quarter of each cycle.
  static constexpr size_t kCopyStep = 8;

  // Writer thread only: the keys inserted.
  size_t size() const { return count_; }
  // Bytes mapped for all tables, the retired ones included.
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  static constexpr int kAddressBits = 48;
  static constexpr uint64_t kTagMask = ~((uint64_t{1} << kAddressBits) - 1);
  // From this size on a table asks for 2 MiB pages: probes land anywhere in
  // it, and a TLB miss per probe would cost as much as the probe.
  static constexpr size_t kHugePageBytes = size_t{2} << 20;

  // Plain fields, shared ones read and written only through std::atomic_ref:
  // zeroed mapped memory is already a Table with prev == nullptr, copied == 0
  // and every slot empty, with no page touched.
  struct Table {
    size_t slots;        // a power of two; set before the table is published
    const Table* prev;   // the previous table while its slots are copied here, then nullptr
    size_t copied;       // writer only: slots of prev copied so far
    // The `slots` slots follow the header in the same mapping.

    uint64_t* Slots() const { return const_cast<uint64_t*>(reinterpret_cast<const uint64_t*>(this + 1)); }
    std::atomic_ref<uint64_t> At(size_t i) { return std::atomic_ref<uint64_t>(Slots()[i]); }
    uint64_t Load(size_t i, std::memory_order order) const { return std::atomic_ref<uint64_t>(Slots()[i]).load(order); }
    const Table* Prev(std::memory_order order) const {
      return std::atomic_ref<const Table*>(const_cast<const Table*&>(prev)).load(order);
    }
    void SetPrev(const Table* p, std::memory_order order) { std::atomic_ref<const Table*>(prev).store(p, order); }
  };
  struct Deleter {
    void operator()(Table* t) const { Unmap(t); }
  };
  using TablePtr = std::unique_ptr<Table, Deleter>;

  // The splitmix64 finalizer: keys are often dense or strided, and both the
  // slot (low bits) and the tag (high bits) come from the hash.
  static uint64_t Hash(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
  }

  static size_t MappedBytes(size_t slots) { return sizeof(Table) + slots * sizeof(uint64_t); }

  TablePtr NewTable(size_t slots) {
    const size_t bytes = MappedBytes(slots);
    // mmap, not new[]: zeroed pages, given back whole with the index.
    void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::bad_alloc();
    if (bytes >= 2 * kHugePageBytes) ::madvise(mem, bytes, MADV_HUGEPAGE);  // a hint; failure is harmless
    static_assert(std::atomic_ref<uint64_t>::is_always_lock_free);
    auto* t = static_cast<Table*>(mem);
    t->slots = slots;
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    return TablePtr(t);
  }

  static void Unmap(Table* t) { ::munmap(t, MappedBytes(t->slots)); }

  static const T* Probe(const Table* t, uint64_t key, uint64_t h) {
    const uint64_t tag = h & kTagMask;
    for (size_t i = h & (t->slots - 1);; i = (i + 1) & (t->slots - 1)) {
      const uint64_t s = t->Load(i, std::memory_order_acquire);
      if (s == 0) return nullptr;
      if ((s & kTagMask) == tag) {
        const T* item = reinterpret_cast<const T*>(s & ~kTagMask);
        if (item->key == key) return item;
      }
    }
  }

  static void Place(Table* t, uint64_t address, uint64_t h) {
    size_t i = h & (t->slots - 1);
    while (t->Load(i, std::memory_order_relaxed) != 0) i = (i + 1) & (t->slots - 1);
    t->At(i).store((h & kTagMask) | address, std::memory_order_release);
  }

  // Copies up to `n` more slots of t->prev into t; unlinks prev when done.
  static void CopySome(Table* t, size_t n) {
    const Table* prev = t->Prev(std::memory_order_relaxed);
    const size_t end = std::min(prev->slots, t->copied + n);
    // Each item's key is read to rehash it: prefetch the next step's items
    // so those misses (scattered over the delta's arena) overlap.
    for (size_t i = end; i < std::min(prev->slots, end + n); ++i) {
      if (const uint64_t s = prev->Load(i, std::memory_order_relaxed)) {
        __builtin_prefetch(reinterpret_cast<const T*>(s & ~kTagMask));
      }
    }
    for (size_t i = t->copied; i < end; ++i) {
      if (const uint64_t s = prev->Load(i, std::memory_order_relaxed)) {
        const T* item = reinterpret_cast<const T*>(s & ~kTagMask);
        Place(t, s & ~kTagMask, Hash(item->key));
      }
    }
    t->copied = end;
    if (end == prev->slots) t->SetPrev(nullptr, std::memory_order_release);  // after every copy
  }

  Table* Grow(Table* old) {
    if (old->Prev(std::memory_order_relaxed) != nullptr) CopySome(old, old->slots);  // not reached: see kCopyStep
    TablePtr next = NewTable(old->slots * 2);
    next->SetPrev(old, std::memory_order_relaxed);  // published with the table
    Table* t = next.release();
    table_.store(t, std::memory_order_release);
    retired_.emplace_back(old);
    return t;
  }

  std::atomic<size_t> bytes_{0};  // before table_: the first table adds to it
  std::atomic<Table*> table_;
  std::vector<TablePtr> retired_;  // writer only; readers may still probe them
  size_t count_ = 0;               // writer only
};

}  // namespace kyrodb
