// Keys, values and the operation stream.
#include "bench/engine/keys_values.h"

#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(KeysValuesTest, KeysAreFixedSizeZeroPadded) {
  WorkloadConfig c;
  c.keys = 1000;
  c.key_size = 12;
  c.prefix = "k:";
  KeyBuffer keys(c);
  EXPECT_EQ(keys.Of(0), "k:0000000000");
  EXPECT_EQ(keys.Of(999), "k:0000000999");
  EXPECT_EQ(keys.Of(5), "k:0000000005");  // every digit rewritten, not just the low ones
  c.key_size = 4;                         // "k:" + 3 digits does not fit
  EXPECT_FALSE(Validate(c).ok());
}

TEST(KeysValuesTest, OpMixAndValueSizes) {
  WorkloadConfig c;
  c.keys = 100;
  c.read_pct = 90;
  c.value_min = 10;
  c.value_max = 20;
  Workload w(c);
  OpStream ops(w, 7);
  int gets = 0;
  for (int i = 0; i < 100000; ++i) {
    Op op = ops.Next();
    gets += op.get;
    ASSERT_LT(op.key, 100u);
    ASSERT_GE(op.value_size, 10u);
    ASSERT_LE(op.value_size, 20u);
  }
  EXPECT_NEAR(gets / 100000.0, 0.9, 0.01);
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
