// Copying bytes of the segment that a reader without the stripe lock may
// read while a writer changes them (doc/locking.md, "Optimistic reads"):
// both sides go through aligned 8-byte relaxed atomic loads and stores, so
// the race is a defined one (a torn read shows some mix of old and new
// words, which the stripe's version then rejects) and ThreadSanitizer sees
// atomics on both sides. Records start 8-aligned and are padded to 8 bytes
// (layout.h), so the aligned words that cover any part of a record lie
// inside the record.
#ifndef SHMKV_KV_INTERNAL_RELAXED_BYTES_H_
#define SHMKV_KV_INTERNAL_RELAXED_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace shmkv::internal {

inline uint64_t* WordAt(const char* p) {
  return reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t{7});
}

// Copies n bytes from `src` (in the segment) to `dst` (private memory).
inline void RelaxedLoadBytes(char* dst, const char* src, size_t n) {
  while (n > 0) {
    const uint64_t* word = WordAt(src);
    const size_t skip = static_cast<size_t>(src - reinterpret_cast<const char*>(word));
    const size_t take = n < 8 - skip ? n : 8 - skip;
    const uint64_t w = __atomic_load_n(word, __ATOMIC_RELAXED);
    std::memcpy(dst, reinterpret_cast<const char*>(&w) + skip, take);
    dst += take;
    src += take;
    n -= take;
  }
}

// Whether n bytes at `src` (in the segment) equal `bytes` (private memory).
inline bool RelaxedEqualBytes(const char* src, const char* bytes, size_t n) {
  while (n > 0) {
    const uint64_t* word = WordAt(src);
    const size_t skip = static_cast<size_t>(src - reinterpret_cast<const char*>(word));
    const size_t take = n < 8 - skip ? n : 8 - skip;
    const uint64_t w = __atomic_load_n(word, __ATOMIC_RELAXED);
    if (std::memcmp(bytes, reinterpret_cast<const char*>(&w) + skip, take) != 0) return false;
    bytes += take;
    src += take;
    n -= take;
  }
  return true;
}

// Writes n bytes from `src` to `dst` (in the segment). Only a holder of the
// stripe's lock writes, so a word only partly covered is read, merged and
// written back without losing another writer's bytes.
inline void RelaxedStoreBytes(char* dst, const void* src, size_t n) {
  const char* from = static_cast<const char*>(src);
  while (n > 0) {
    uint64_t* word = WordAt(dst);
    const size_t skip = static_cast<size_t>(dst - reinterpret_cast<char*>(word));
    const size_t take = n < 8 - skip ? n : 8 - skip;
    uint64_t w = take == 8 ? 0 : __atomic_load_n(word, __ATOMIC_RELAXED);
    std::memcpy(reinterpret_cast<char*>(&w) + skip, from, take);
    __atomic_store_n(word, w, __ATOMIC_RELAXED);
    dst += take;
    from += take;
    n -= take;
  }
}

// Writes n zero bytes at `dst` (in the segment), as RelaxedStoreBytes.
inline void RelaxedZeroBytes(char* dst, size_t n) {
  static constexpr char kZeros[64] = {};
  while (n > 0) {
    const size_t take = n < sizeof(kZeros) ? n : sizeof(kZeros);
    RelaxedStoreBytes(dst, kZeros, take);
    dst += take;
    n -= take;
  }
}

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_RELAXED_BYTES_H_
