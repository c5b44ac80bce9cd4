// The latency histogram.
#include "bench/engine/histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(HistogramTest, BucketsCoverEveryValue) {
  for (uint64_t v : {0ull, 1ull, 7ull, 8ull, 15ull, 16ull, 17ull, 1000ull, 123456789ull, ~0ull}) {
    const int i = Histogram::Index(v);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, Histogram::kBuckets);
    EXPECT_LE(Histogram::BucketLow(i), v);
    EXPECT_GE(Histogram::BucketHigh(i), v);
    // Relative width under 12.5%.
    EXPECT_LE(Histogram::BucketHigh(i) - Histogram::BucketLow(i), Histogram::BucketLow(i) / 8 + 1);
  }
}

TEST(HistogramTest, Percentiles) {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.Record(v * 1000);  // 1..1000 us
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1000000u);
  const double p50 = static_cast<double>(h.Percentile(50));
  EXPECT_GE(p50, 500000);
  EXPECT_LE(p50, 500000 * 1.125);
  const double p99 = static_cast<double>(h.Percentile(99));
  EXPECT_GE(p99, 990000);
  EXPECT_LE(p99, 1000000);
  Histogram other;
  other.Record(5);
  h.Merge(other);
  EXPECT_EQ(h.count(), 1001u);
  EXPECT_EQ(h.Percentile(0.01), 5u);
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
