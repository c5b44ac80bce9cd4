// The key hash is part of the segment format: every process, and every build
// of shmkv with the same layout version, must compute the same value. So it
// is defined here (doc/layout.md) instead of using a seeded library hash.
#ifndef SHMKV_KV_INTERNAL_HASH_H_
#define SHMKV_KV_INTERNAL_HASH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace shmkv::internal {

inline uint64_t HashMix(uint64_t a, uint64_t b) {
  __uint128_t product = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

// 64-bit hash of `size` bytes: 8-byte little-endian words folded with a
// 128-bit multiply, then length and a final mix.
inline uint64_t Hash64(const void* data, size_t size, uint64_t seed = 0) {
  constexpr uint64_t kMul0 = 0x9e3779b97f4a7c15ull;
  constexpr uint64_t kMul1 = 0xd6e8feb86659fd93ull;
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t state = seed ^ kMul1;
  size_t remaining = size;
  while (remaining >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    state = HashMix(state ^ word, kMul0);
    p += 8;
    remaining -= 8;
  }
  if (remaining > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, remaining);
    state = HashMix(state ^ word, kMul0);
  }
  return HashMix(state ^ size, kMul1);
}

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_HASH_H_
