// The latency histogram every client thread records into.
#ifndef SHMKV_BENCH_ENGINE_HISTOGRAM_H_
#define SHMKV_BENCH_ENGINE_HISTOGRAM_H_

#include <cstdint>

namespace shmkv {
namespace bench {

// Latencies in nanoseconds, 8 sub-buckets per power of two (relative error
// under 12.5%). Trivially copyable, so it travels through shared memory.
class Histogram {
 public:
  static constexpr int kSubBits = 3;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int Index(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int e = 63 - __builtin_clzll(v);
    return (e - kSubBits + 1) * kSub + static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
  }
  static uint64_t BucketLow(int index);
  static uint64_t BucketHigh(int index);

  void Record(uint64_t v) {
    ++counts_[Index(v)];
    ++count_;
    if (v > max_) max_ = v;
  }
  void Merge(const Histogram& other);
  void Clear();
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The upper bound of the bucket holding the p-th percentile (0 < p <= 100),
  // never above the largest recorded value.
  uint64_t Percentile(double p) const;

 private:
  uint64_t counts_[kBuckets] = {};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_HISTOGRAM_H_
