#include "bench/engine/histogram.h"

#include <algorithm>
#include <cmath>

namespace shmkv {
namespace bench {

uint64_t Histogram::BucketLow(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int e = index / kSub + kSubBits - 1;
  const uint64_t sub = static_cast<uint64_t>(index % kSub);
  return (uint64_t{kSub} + sub) << (e - kSubBits);
}

uint64_t Histogram::BucketHigh(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int e = index / kSub + kSubBits - 1;
  return BucketLow(index) + ((uint64_t{1} << (e - kSubBits)) - 1);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

void Histogram::Clear() { *this = Histogram(); }

uint64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(BucketHigh(i), max_);
  }
  return max_;
}

}  // namespace bench
}  // namespace shmkv
