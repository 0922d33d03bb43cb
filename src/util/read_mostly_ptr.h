// ReadMostlyPtr<T>: an immutable object that a writer replaces now and then
// and every reader thread reads on every request, without a lock or a cache
// line that all readers write.
//
// Why not std::atomic<std::shared_ptr<T>>: libstdc++ 12 implements its load
// with a spin lock in the pointer word, then increments the object's shared
// reference count. Every GET on every I/O thread wrote both lines, so
// readers serialised on one lock and the lines bounced between cores
// (bench/read_pin.cpp measures it).
//
// How: each reader thread has a Slot of its own (registered on its first
// Pin) holding a reference to the current object, wrapped in a holder only
// that thread's pins share. Pin() locks the thread's own slot (uncontended:
// only Publish also takes it), copies the holder and unlocks. Publish()
// replaces the object, then empties every slot, so no slot keeps an old
// object alive: it dies when its last pin goes, as with a shared_ptr. A
// thread's next Pin after a Publish takes the lock of the current object,
// once, to refill its slot.
//
// Thread-safe. A thread caches the slot of the ReadMostlyPtr it pinned last:
// a thread that alternates between several pays the registration each time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace kyrodb {

template <typename T>
class ReadMostlyPtr {
 public:
  explicit ReadMostlyPtr(std::shared_ptr<const T> initial = nullptr) : current_(std::move(initial)) {}
  // Empties every slot, so threads that outlive this do not keep the object.
  ~ReadMostlyPtr() { ClearSlots(); }
  ReadMostlyPtr(const ReadMostlyPtr&) = delete;
  ReadMostlyPtr& operator=(const ReadMostlyPtr&) = delete;

  // Replaces the object. Every Pin that starts after Publish returns sees
  // `next` (or a later one); pins taken before keep the old object alive.
  void Publish(std::shared_ptr<const T> next) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_.swap(next);
    }
    // `next` is now the old object: dropped here unless a pin holds it.
    ClearSlots();
  }

  // The current object, or nullptr if none was published. It stays valid
  // while `*pin` (or a copy) is held; a pin costs a reference count that
  // only this thread's pins share.
  const T* Pin(std::shared_ptr<const void>* pin) const {
    Slot& slot = ThisThreadSlot();
    std::lock_guard<std::mutex> lock(slot.mu);
    if (slot.holder == nullptr) {
      std::shared_ptr<const T> current = Load();
      if (current == nullptr) {
        pin->reset();
        return nullptr;
      }
      slot.object = current.get();
      slot.holder = std::make_shared<const std::shared_ptr<const T>>(std::move(current));
    }
    *pin = slot.holder;
    return slot.object;
  }

  // A plain reference to the current object, under the lock every Publish
  // takes: for paths that run rarely.
  std::shared_ptr<const T> Load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

 private:
  struct Slot {
    std::mutex mu;
    std::shared_ptr<const void> holder;  // owns a std::shared_ptr<const T> to `object`
    const T* object = nullptr;
  };
  // The slot of the ReadMostlyPtr this thread pinned last, identified by id_
  // (never reused, unlike an address).
  struct ThreadCache {
    uint64_t owner = 0;
    std::shared_ptr<Slot> slot;
  };

  static ThreadCache& Cache() {
    thread_local ThreadCache cache;
    return cache;
  }

  Slot& ThisThreadSlot() const {
    ThreadCache& cache = Cache();
    if (cache.owner != id_) [[unlikely]] {
      auto slot = std::make_shared<Slot>();
      {
        std::lock_guard<std::mutex> lock(mu_);
        std::erase_if(slots_, [](const std::weak_ptr<Slot>& s) { return s.expired(); });
        slots_.push_back(slot);
      }
      cache.owner = id_;
      cache.slot = std::move(slot);  // drops this thread's slot of another ReadMostlyPtr
    }
    return *cache.slot;
  }

  // Lock order: a slot's mutex, then mu_ (Pin). So this never holds mu_
  // while it takes a slot's.
  void ClearSlots() {
    std::vector<std::shared_ptr<Slot>> live;
    {
      std::lock_guard<std::mutex> lock(mu_);
      live.reserve(slots_.size());
      for (const auto& s : slots_) {
        if (auto p = s.lock()) live.push_back(std::move(p));
      }
    }
    for (const auto& slot : live) {
      std::shared_ptr<const void> old;  // released after the slot's lock
      std::lock_guard<std::mutex> lock(slot->mu);
      old.swap(slot->holder);
      slot->object = nullptr;
    }
  }

  static inline std::atomic<uint64_t> next_id_{1};
  const uint64_t id_ = next_id_.fetch_add(1, std::memory_order_relaxed);

  mutable std::mutex mu_;  // guards current_ and slots_
  std::shared_ptr<const T> current_;
  mutable std::vector<std::weak_ptr<Slot>> slots_;
};

}  // namespace kyrodb
