// MemTable: the delta of recent writes not yet folded into the indexed base.
//
// A skip list ordered by key with one writer (the group-commit thread) and any
// number of lock-free readers, in the manner of LevelDB's memtable: nodes and
// values live in an arena that is freed only with the whole table, links are
// published with release stores, so a reader sees a node only once it is
// complete. Written by hand because no Debian-packaged library offers a
// single-writer, wait-free-read ordered map, and reads must not take a lock.
//
// A hash index (KeyIndex) over the nodes answers point lookups, present or
// absent, in about one cache line; the list is walked only by iterators
// (scans, checkpoints). Every GET asks the delta first, and most GETs are
// for keys only the base has.
//
// Each key keeps a chain of versions, newest first. Readers pass the offset of
// the last fully applied write (the store's visible offset) and get the newest
// version at or below it, so a reader never sees half of a batch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "engine/key_index.h"

namespace kyrodb {

class MemTable {
 public:
  struct Version {
    uint64_t offset;
    const Version* prev;  // older version of the same key, or nullptr
    uint32_t size;
    bool deleted;         // a tombstone
    std::string_view value() const { return {data(), size}; }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  };

  MemTable();
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // Writer thread only. Offsets passed in must increase.
  void Apply(uint64_t key, uint64_t offset, bool deleted, std::string_view value);

  struct Write {
    uint64_t key;
    uint64_t offset;
    bool deleted;
    std::string_view value;
  };
  // Writer thread only: Apply for each write, in order (offsets increasing).
  // Same result, but the skip-list searches of up to kBatchLanes writes are
  // interleaved step by step with prefetches, so their cache misses overlap
  // instead of running one after another (each insert into a delta of ~1M
  // keys walks ~10-20 nodes that are rarely in cache).
  void ApplyBatch(std::span<const Write> writes);
  static constexpr size_t kBatchLanes = 16;

  // Any thread. Newest version of `key` with offset <= max_offset (tombstones
  // included), or nullptr.
  const Version* Get(uint64_t key, uint64_t max_offset) const;

  // Writes applied (versions, tombstones included), distinct keys, and the
  // bytes of the arena plus the key index.
  size_t entries() const { return entries_.load(std::memory_order_relaxed); }
  size_t keys() const { return keys_.load(std::memory_order_relaxed); }
  size_t memory_usage() const { return memory_.load(std::memory_order_relaxed) + index_.bytes(); }
  // False once the key index could not take a node (see KeyIndex::Insert);
  // Get then walks the list. Only tests have a reason to ask.
  bool indexed() const { return indexed_.load(std::memory_order_acquire); }
  // Writer thread only. Turns the key index off as a refused node would, so
  // tests can check that Get still answers from the list.
  void DisableIndexForTesting() { indexed_.store(false, std::memory_order_release); }
  // Largest offset applied (0 when empty).
  uint64_t max_offset() const { return max_offset_.load(std::memory_order_acquire); }

  struct Node;

  // Walks keys in ascending order. Safe while the writer inserts: a reader may
  // or may not see keys inserted after it started, and filters by offset.
  class Iterator {
   public:
    explicit Iterator(const MemTable* table) : table_(table) {}
    bool Valid() const { return node_ != nullptr; }
    void SeekToFirst();
    void Seek(uint64_t key);  // first key >= key
    void Next();
    uint64_t key() const;
    // Newest version with offset <= max_offset, or nullptr.
    const Version* VersionAt(uint64_t max_offset) const;

   private:
    const MemTable* table_;
    const Node* node_ = nullptr;
  };

 private:
  static constexpr int kMaxHeight = 12;

  char* Allocate(size_t bytes);
  Node* NewNode(uint64_t key, int height);
  int RandomHeight();
  // First node with key >= `key`; fills prev[] when given.
  Node* FindGreaterOrEqual(uint64_t key, Node** prev) const;
  // Inserts (or adds a version to) `w.key`, given for each level a node
  // before the key in that level's list (head_ for levels never searched):
  // moves each forward to the key's real predecessor first, which covers
  // nodes inserted since the search.
  void InsertAfter(Node** prev, const Write& w);

  // Arena: blocks freed only in the destructor, so readers may hold pointers
  // for as long as they hold the table. Each block is mapped from the kernel
  // and unmapped with the table (see Allocate for why not malloc).
  struct Unmap {
    size_t bytes;
    void operator()(char* p) const;
  };
  std::vector<std::unique_ptr<char, Unmap>> blocks_;
  char* alloc_ptr_ = nullptr;
  size_t alloc_left_ = 0;

  KeyIndex<Node> index_;
  // Cleared (for good) before the link stores of a node the index could not
  // take, so a reader that could reach that node sees it cleared.
  std::atomic<bool> indexed_{true};
  Node* head_ = nullptr;  // set in the constructor's body (see there)
  std::atomic<int> max_height_{1};
  std::mt19937 rng_{0x6b79726f};
  std::atomic<size_t> entries_{0};
  std::atomic<size_t> keys_{0};
  std::atomic<size_t> memory_{0};
  std::atomic<uint64_t> max_offset_{0};
};

}  // namespace kyrodb
