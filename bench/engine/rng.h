// Rng, the pseudo-random numbers behind the keys, operations and value sizes.
#ifndef SHMKV_BENCH_ENGINE_RNG_H_
#define SHMKV_BENCH_ENGINE_RNG_H_

#include <cstdint>

namespace shmkv {
namespace bench {

// splitmix64: small, fast, good enough to pick keys.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without a division.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double Unit() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_RNG_H_
