// The store's hit and miss counters: one ReadCounters slot per CPU in the
// header page (layout.h), so that counting a read writes a cache line only
// the reads of the same CPU write, instead of a line every reader of the
// stripe shares.
#ifndef SHMKV_KV_INTERNAL_READ_COUNTERS_H_
#define SHMKV_KV_INTERNAL_READ_COUNTERS_H_

#include <sched.h>

#include <cstdint>

#include "kv/internal/layout.h"

namespace shmkv::internal {

class ReadCounterTable {
 public:
  explicit ReadCounterTable(char* base)
      : slots_(reinterpret_cast<ReadCounters*>(base + kReadCountersOffset)) {}

  // Counts `hits` and `misses` in this CPU's slot. sched_getcpu reads the
  // CPU from the thread's rseq area (glibc 2.35 and later) or the vDSO: no
  // system call. A thread moved to another CPU meanwhile adds to the slot of
  // the one it left: the add is atomic, so nothing is lost either way.
  void Count(uint64_t hits, uint64_t misses) const {
    ReadCounters& slot = slots_[Slot()];
    if (hits != 0) __atomic_fetch_add(&slot.hits, hits, __ATOMIC_RELAXED);
    if (misses != 0) __atomic_fetch_add(&slot.misses, misses, __ATOMIC_RELAXED);
  }
  void CountHit() const { Count(1, 0); }
  void CountMiss() const { Count(0, 1); }

  // The sums over every slot (each slot read once; counts added while the
  // sum is taken may or may not be in it).
  void Sum(uint64_t* hits, uint64_t* misses) const {
    *hits = *misses = 0;
    for (uint32_t i = 0; i < kReadCounterSlots; ++i) {
      *hits += LoadOnce(&slots_[i].hits);
      *misses += LoadOnce(&slots_[i].misses);
    }
  }

  // Zeroes every slot. A count added after a slot was zeroed stays.
  void Reset() const {
    for (uint32_t i = 0; i < kReadCounterSlots; ++i) {
      __atomic_store_n(&slots_[i].hits, uint64_t{0}, __ATOMIC_RELAXED);
      __atomic_store_n(&slots_[i].misses, uint64_t{0}, __ATOMIC_RELAXED);
    }
  }

 private:
  static uint32_t Slot() {
    const int cpu = sched_getcpu();
    return cpu < 0 ? 0 : static_cast<uint32_t>(cpu) % kReadCounterSlots;
  }

  ReadCounters* slots_;
};

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_READ_COUNTERS_H_
