#include "engine/memtable.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace kyrodb {

struct MemTable::Node {
  uint64_t key;
  std::atomic<const Version*> latest;

  // The tower of links (as many as the node's random height; nothing reads
  // the height back, so it is not stored) sits right behind the node in the
  // arena. 16 bytes + 8 per level: a delta of 1M keys costs ~8 MB less than
  // with a stored height padded to 8.
  std::atomic<Node*>* links() { return reinterpret_cast<std::atomic<Node*>*>(this + 1); }
  const std::atomic<Node*>* links() const { return reinterpret_cast<const std::atomic<Node*>*>(this + 1); }
  Node* Next(int level) const { return links()[level].load(std::memory_order_acquire); }
  void SetNext(int level, Node* n) { links()[level].store(n, std::memory_order_release); }
};
static_assert(sizeof(MemTable::Node) % alignof(std::atomic<MemTable::Node*>) == 0);

namespace {
constexpr size_t kBlockSize = 1 << 20;
}

// The head node is allocated in the body, once every member exists: as a
// member initializer it ran before memory_ (declared after head_) was
// initialized, which then reset the count and left the first arena block
// out of memory_usage().
MemTable::MemTable() { head_ = NewNode(0, kMaxHeight); }

MemTable::~MemTable() = default;

void MemTable::Unmap::operator()(char* p) const { ::munmap(p, bytes); }

char* MemTable::Allocate(size_t bytes) {
  bytes = (bytes + 7) & ~size_t{7};  // keep every object 8-byte aligned
  if (bytes > alloc_left_) {
    // Large values get a block of their own so the current block's tail is not wasted.
    const size_t block = bytes > kBlockSize / 4 ? bytes : kBlockSize;
    // mmap, not malloc. A fresh mapping becomes resident only as the arena
    // reaches it (no MiB resident before a delta's first write), and munmap
    // returns it when the table dies. glibc would serve 1 MiB from its heap
    // once its mmap threshold had risen past that (it does when the first
    // such block is freed) and then keep the pages of every freed delta:
    // measured after 3M puts, 221 MiB anonymous memory with malloc'd blocks,
    // 110 MiB after a malloc_trim, the live delta being about 100 MiB.
    void* mem = ::mmap(nullptr, block, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::bad_alloc();
    blocks_.emplace_back(static_cast<char*>(mem), Unmap{block});
    memory_.fetch_add(block, std::memory_order_relaxed);
    if (block != kBlockSize) return blocks_.back().get();
    alloc_ptr_ = blocks_.back().get();
    alloc_left_ = block;
  }
  char* p = alloc_ptr_;
  alloc_ptr_ += bytes;
  alloc_left_ -= bytes;
  return p;
}

MemTable::Node* MemTable::NewNode(uint64_t key, int height) {
  const size_t bytes = sizeof(Node) + sizeof(std::atomic<Node*>) * static_cast<size_t>(height);
  char* mem = Allocate(bytes);
  Node* n = new (mem) Node;
  n->key = key;
  n->latest.store(nullptr, std::memory_order_relaxed);
  for (int i = 0; i < height; ++i) new (&n->links()[i]) std::atomic<Node*>(nullptr);
  return n;
}

int MemTable::RandomHeight() {
  int height = 1;
  while (height < kMaxHeight && (rng_() & 3) == 0) ++height;  // branching factor 4
  return height;
}

MemTable::Node* MemTable::FindGreaterOrEqual(uint64_t key, Node** prev) const {
  Node* x = head_;
  int level = max_height_.load(std::memory_order_relaxed) - 1;
  for (;;) {
    Node* next = x->Next(level);
    if (next != nullptr && next->key < key) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      --level;
    }
  }
}

void MemTable::Apply(uint64_t key, uint64_t offset, bool deleted, std::string_view value) {
  Node* prev[kMaxHeight];
  FindGreaterOrEqual(key, prev);
  for (int i = max_height_.load(std::memory_order_relaxed); i < kMaxHeight; ++i) prev[i] = head_;
  InsertAfter(prev, {key, offset, deleted, value});
}

void MemTable::ApplyBatch(std::span<const Write> writes) {
  for (size_t base = 0; base < writes.size(); base += kBatchLanes) {
    const size_t n = std::min(kBatchLanes, writes.size() - base);
    // One search per lane, advanced one step per round: a lane reads the node
    // it prefetched a round earlier, then prefetches its next candidate.
    Node* prev[kBatchLanes][kMaxHeight];
    Node* at[kBatchLanes];
    Node* next[kBatchLanes];
    int level[kBatchLanes];
    const int top = max_height_.load(std::memory_order_relaxed) - 1;
    for (size_t i = 0; i < n; ++i) {
      // A new key's index slot is written after the search: start its miss now.
      index_.Prefetch(writes[base + i].key);
      at[i] = head_;
      level[i] = top;
      next[i] = head_->Next(top);
      for (int l = top + 1; l < kMaxHeight; ++l) prev[i][l] = head_;
    }
    for (size_t active = n; active > 0;) {
      active = 0;
      for (size_t i = 0; i < n; ++i) {
        if (level[i] < 0) continue;
        if (next[i] != nullptr && next[i]->key < writes[base + i].key) {
          at[i] = next[i];
        } else {
          prev[i][level[i]] = at[i];
          if (--level[i] < 0) continue;
        }
        next[i] = at[i]->Next(level[i]);
        if (next[i] != nullptr) __builtin_prefetch(next[i]);
        ++active;
      }
    }
    for (size_t i = 0; i < n; ++i) InsertAfter(prev[i], writes[base + i]);
  }
}

void MemTable::InsertAfter(Node** prev, const Write& w) {
  auto advance = [&](int l) {
    for (Node* nx = prev[l]->Next(l); nx != nullptr && nx->key < w.key; nx = prev[l]->Next(l)) prev[l] = nx;
  };
  advance(0);
  Node* node = prev[0]->Next(0);
  if (node == nullptr || node->key != w.key) {
    const int height = RandomHeight();
    const int cur = max_height_.load(std::memory_order_relaxed);
    if (height > cur) {
      for (int i = cur; i < height; ++i) prev[i] = head_;
      // Readers that see the new height before the links find nullptr at the
      // upper levels of head_ and simply drop down: benign.
      max_height_.store(height, std::memory_order_relaxed);
    }
    for (int i = 1; i < height; ++i) advance(i);
    node = NewNode(w.key, height);
    // The index's slot is published before the links: a reader finds the
    // node either way. A node the index cannot take turns it off, also
    // before the links.
    if (indexed_.load(std::memory_order_relaxed) && !index_.Insert(node)) {
      indexed_.store(false, std::memory_order_release);
    }
    for (int i = 0; i < height; ++i) {
      node->links()[i].store(prev[i]->Next(i), std::memory_order_relaxed);
      prev[i]->SetNext(i, node);
    }
    keys_.fetch_add(1, std::memory_order_relaxed);
  }
  char* mem = Allocate(sizeof(Version) + w.value.size());
  auto* v = new (mem) Version;
  v->offset = w.offset;
  v->prev = node->latest.load(std::memory_order_relaxed);
  v->size = static_cast<uint32_t>(w.value.size());
  v->deleted = w.deleted;
  if (!w.value.empty()) std::memcpy(mem + sizeof(Version), w.value.data(), w.value.size());
  node->latest.store(v, std::memory_order_release);
  entries_.fetch_add(1, std::memory_order_relaxed);
  max_offset_.store(w.offset, std::memory_order_release);
}

namespace {
const MemTable::Version* NewestAtOrBelow(const MemTable::Version* v, uint64_t max_offset) {
  while (v != nullptr && v->offset > max_offset) v = v->prev;
  return v;
}
}  // namespace

const MemTable::Version* MemTable::Get(uint64_t key, uint64_t max_offset) const {
  const Node* node;
  if (indexed_.load(std::memory_order_acquire)) {
    node = index_.Find(key);
  } else {
    node = FindGreaterOrEqual(key, nullptr);
    if (node != nullptr && node->key != key) node = nullptr;
  }
  if (node == nullptr) return nullptr;
  return NewestAtOrBelow(node->latest.load(std::memory_order_acquire), max_offset);
}

void MemTable::Iterator::SeekToFirst() { node_ = table_->head_->Next(0); }

void MemTable::Iterator::Seek(uint64_t key) { node_ = table_->FindGreaterOrEqual(key, nullptr); }

void MemTable::Iterator::Next() { node_ = node_->Next(0); }

uint64_t MemTable::Iterator::key() const { return node_->key; }

const MemTable::Version* MemTable::Iterator::VersionAt(uint64_t max_offset) const {
  return NewestAtOrBelow(node_->latest.load(std::memory_order_acquire), max_offset);
}

}  // namespace kyrodb
