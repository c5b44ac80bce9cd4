// The zipf distribution.
#include "bench/engine/zipf.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "bench/engine/rng.h"
#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(ZipfTest, FavorsLowRanks) {
  const uint64_t n = 10000;
  ZipfParams z(n, 0.99);
  Rng rng(1);
  std::vector<uint64_t> counts(n);
  const int draws = 1000000;
  for (int i = 0; i < draws; ++i) {
    uint64_t r = z.Draw(rng.Unit());
    ASSERT_LT(r, n);
    ++counts[r];
  }
  double zeta = 0;
  for (uint64_t i = 1; i <= n; ++i) zeta += 1.0 / std::pow(static_cast<double>(i), 0.99);
  // Rank 0 gets 1/zeta of the draws, rank 1 2^-0.99 of that.
  EXPECT_NEAR(counts[0] / static_cast<double>(draws), 1.0 / zeta, 0.01);
  EXPECT_NEAR(counts[1] / static_cast<double>(draws), std::pow(0.5, 0.99) / zeta, 0.01);
  EXPECT_GT(counts[0], counts[10]);
  EXPECT_GT(counts[10], counts[1000]);
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
