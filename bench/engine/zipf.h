// The zipf key distribution (--dist=zipf:THETA).
#ifndef SHMKV_BENCH_ENGINE_ZIPF_H_
#define SHMKV_BENCH_ENGINE_ZIPF_H_

#include <cstdint>

namespace shmkv {
namespace bench {

// Zipf-distributed ranks in [0, n), rank 0 the most popular, after Gray et
// al., "Quickly generating billion-record synthetic databases" (SIGMOD 1994).
// Setup is O(n); each draw is one pow(). Requires 0 < theta < 1.
class ZipfParams {
 public:
  ZipfParams() = default;
  ZipfParams(uint64_t n, double theta);
  uint64_t Draw(double u) const;

 private:
  uint64_t n_ = 1;
  double zetan_ = 1, alpha_ = 1, eta_ = 0, half_pow_ = 0;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_ZIPF_H_
