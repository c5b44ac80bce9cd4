// Copying bytes of the segment that a reader without the stripe lock may
// read while a writer changes them (doc/locking.md, "Optimistic reads"):
// readers load aligned 8-byte words with relaxed atomic loads, so each word
// a decision rests on (a size, an offset) is loaded once, and a torn read
// shows some mix of old and new words, which the stripe's version then
// rejects (a value's bytes, on which nothing is decided, are copied as
// LoadPayloadBytes says). Writers (holders of the stripe's lock) store aligned words with
// relaxed atomic stores under ThreadSanitizer, which then sees atomics on
// both sides of the race; other builds store with memcpy and memset, whose
// wide stores cost a put less, and whose bytes a racing reader sees torn at
// worst, as it may see words. Records start 8-aligned and are padded to 8
// bytes (layout.h), so the aligned words that cover any part of a record
// lie inside the record.
#ifndef SHMKV_KV_INTERNAL_RELAXED_BYTES_H_
#define SHMKV_KV_INTERNAL_RELAXED_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/base/attributes.h"
#include "kv/platform/sanitizers.h"

namespace shmkv::internal {

inline uint64_t* WordAt(const char* p) {
  return reinterpret_cast<uint64_t*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t{7});
}
inline uint64_t LoadWord(const uint64_t* word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

// Calls fn(segment word's bytes, offset in the range, bytes taken) for each
// aligned word that covers part of the n bytes at `src`: a part of the first
// and last word, and whole words between them (fn inlines to 8-byte moves).
// fn returns false to stop.
template <typename Fn>
inline bool ForEachWord(const char* src, size_t n, Fn fn) {
  if (n == 0) return true;
  const uint64_t* word = WordAt(src);
  const size_t skip = static_cast<size_t>(src - reinterpret_cast<const char*>(word));
  size_t at = 0;
  if (skip != 0) {
    const uint64_t w = LoadWord(word++);
    at = n < 8 - skip ? n : 8 - skip;
    if (!fn(reinterpret_cast<const char*>(&w) + skip, size_t{0}, at)) return false;
  }
  for (; n - at >= 8; at += 8) {
    const uint64_t w = LoadWord(word++);
    if (!fn(reinterpret_cast<const char*>(&w), at, size_t{8})) return false;
  }
  if (at < n) {
    const uint64_t w = LoadWord(word);
    return fn(reinterpret_cast<const char*>(&w), at, n - at);
  }
  return true;
}

// Copies n bytes from `src` (in the segment) to `dst` (private memory).
inline void RelaxedLoadBytes(char* dst, const char* src, size_t n) {
  ForEachWord(src, n, [dst](const char* bytes, size_t at, size_t take) {
    if (take == 8) {
      std::memcpy(dst + at, bytes, 8);
    } else {
      for (size_t i = 0; i < take; ++i) dst[at + i] = bytes[i];
    }
    return true;
  });
}

// Copies n bytes that no check rests on (a value, copied out and then
// validated by the stripe's version) from `src` (in the segment) to `dst`:
// as RelaxedLoadBytes under ThreadSanitizer; with memcpy in other builds,
// whose wide loads copy a value of a few KiB several times faster, and
// which may tear bytes only where words could tear too.
inline void LoadPayloadBytes(char* dst, const char* src, size_t n) {
#if SHMKV_TSAN
  RelaxedLoadBytes(dst, src, n);
#else
  if (n != 0) std::memcpy(dst, src, n);
#endif
}

// 8 bytes of private memory, at any alignment.
inline uint64_t LoadPrivateWord(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// RelaxedEqualBytes for n >= 8 on a little-endian host: each segment word is
// compared whole with 8 private bytes (loaded at any alignment), the partly
// covered first and last words shifted and masked, instead of byte by byte.
inline bool RelaxedEqualLongBytes(const char* src, const char* bytes, size_t n) {
  const uint64_t* word = WordAt(src);
  const size_t skip = static_cast<size_t>(src - reinterpret_cast<const char*>(word));
  size_t at = 0;
  if (skip != 0) {  // the word's last 8 - skip bytes are the range's first
    const unsigned shift = 8 * static_cast<unsigned>(skip);
    if ((LoadWord(word++) >> shift) != (LoadPrivateWord(bytes) & (~uint64_t{0} >> shift))) {
      return false;
    }
    at = 8 - skip;
  }
  for (; n - at >= 8; at += 8) {
    if (LoadWord(word++) != LoadPrivateWord(bytes + at)) return false;
  }
  if (at == n) return true;
  // The word's first n - at bytes are the range's last, as are the top
  // n - at bytes of the last 8 private bytes.
  const unsigned shift = 8 * static_cast<unsigned>(8 - (n - at));
  return (LoadWord(word) << shift) == (LoadPrivateWord(bytes + n - 8) & (~uint64_t{0} << shift));
}

// Whether n bytes at `src` (in the segment) equal `bytes` (private memory).
inline bool RelaxedEqualBytes(const char* src, const char* bytes, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (n >= 8) return RelaxedEqualLongBytes(src, bytes, n);
#endif
  return ForEachWord(src, n, [bytes](const char* word, size_t at, size_t take) {
    if (take == 8) {
      uint64_t a, b;
      std::memcpy(&a, word, 8);
      std::memcpy(&b, bytes + at, 8);
      return a == b;
    }
    for (size_t i = 0; i < take; ++i) {
      if (word[i] != bytes[at + i]) return false;
    }
    return true;
  });
}

// Whether the n bytes of a key at `src` (in the segment) equal `bytes`, for
// a reader that validates what it read by the stripe's version afterwards:
// as RelaxedEqualBytes under ThreadSanitizer; other builds compare 8 bytes
// at a time with loads at any alignment that stay inside the n bytes (the
// last 8 overlapping the ones before), which may see old and new bytes
// mixed, as words may, and then the version check rejects the result.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool EqualKeyBytes(const char* src, const char* bytes,
                                                       size_t n) {
#if SHMKV_TSAN
  return RelaxedEqualBytes(src, bytes, n);
#else
  if (n < 8) return std::memcmp(src, bytes, n) == 0;
  for (size_t at = 0; at + 8 < n; at += 8) {
    if (LoadPrivateWord(src + at) != LoadPrivateWord(bytes + at)) return false;
  }
  return LoadPrivateWord(src + n - 8) == LoadPrivateWord(bytes + n - 8);
#endif
}

// Writes n bytes from `src` to `dst` (in the segment). Only a holder of the
// stripe's lock writes, so a word only partly covered is read, merged and
// written back without losing another writer's bytes.
inline void RelaxedStoreBytes(char* dst, const void* src, size_t n) {
#if SHMKV_TSAN
  const char* from = static_cast<const char*>(src);
  while (n > 0) {
    uint64_t* word = WordAt(dst);
    const size_t skip = static_cast<size_t>(dst - reinterpret_cast<char*>(word));
    uint64_t w;
    size_t take;
    if (skip == 0 && n >= 8) {
      take = 8;
      std::memcpy(&w, from, 8);
    } else {
      take = n < 8 - skip ? n : 8 - skip;
      w = LoadWord(word);
      for (size_t i = 0; i < take; ++i) reinterpret_cast<char*>(&w)[skip + i] = from[i];
    }
    __atomic_store_n(word, w, __ATOMIC_RELAXED);
    dst += take;
    from += take;
    n -= take;
  }
#else
  if (n != 0) std::memcpy(dst, src, n);  // an empty value's data() may be null
#endif
}

// Writes n zero bytes at `dst` (in the segment), as RelaxedStoreBytes.
inline void RelaxedZeroBytes(char* dst, size_t n) {
#if SHMKV_TSAN
  static constexpr char kZeros[64] = {};
  while (n > 0) {
    const size_t take = n < sizeof(kZeros) ? n : sizeof(kZeros);
    RelaxedStoreBytes(dst, kZeros, take);
    dst += take;
    n -= take;
  }
#else
  std::memset(dst, 0, n);
#endif
}

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_RELAXED_BYTES_H_
