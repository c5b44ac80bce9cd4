// A store's segment mapped raw, for tests that play a process writing the
// segment behind the store's back (a buggy or hostile writer, or a holder
// that takes a stripe's mutex directly).
#ifndef SHMKV_TESTS_RAW_SEGMENT_H_
#define SHMKV_TESTS_RAW_SEGMENT_H_

#include <sys/ipc.h>
#include <sys/shm.h>

#include <cstdint>

#include "kv/internal/layout.h"

namespace shmkv {
namespace testutil {

// Attaches the segment at `key` read-write; detaches on destruction (a
// process that must die holding a mutex of it must not destroy this first:
// the kernel finds a dead thread's robust mutexes through its mapping).
class RawSegment {
 public:
  explicit RawSegment(key_t key) {
    const int id = shmget(key, 0, 0);
    if (id >= 0) base_ = static_cast<char*>(shmat(id, nullptr, 0));
    if (base_ == reinterpret_cast<char*>(-1)) base_ = nullptr;
  }
  ~RawSegment() {
    if (base_ != nullptr) shmdt(base_);
  }
  RawSegment(const RawSegment&) = delete;
  RawSegment& operator=(const RawSegment&) = delete;

  bool ok() const { return base_ != nullptr; }
  const internal::Header& header() const { return *reinterpret_cast<internal::Header*>(base_); }
  internal::Header* mutable_header() { return reinterpret_cast<internal::Header*>(base_); }
  internal::Stripe* stripe(uint32_t i) {
    return reinterpret_cast<internal::Stripe*>(base_ + header().stripe_table_offset) + i;
  }
  // The record at `offset` of stripe i's slice.
  internal::EntryHeader* record(uint32_t i, uint64_t offset) {
    return reinterpret_cast<internal::EntryHeader*>(base_ + header().arena_offset +
                                                    i * header().stripe_arena_bytes + offset);
  }

 private:
  char* base_ = nullptr;
};

}  // namespace testutil
}  // namespace shmkv

#endif  // SHMKV_TESTS_RAW_SEGMENT_H_
