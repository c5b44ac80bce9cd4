// Keys, values and the operation stream.
#include "bench/engine/keys_values.h"

#include <cstdio>
#include <string>

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

TEST(KeysValuesTest, EightDigitsMatchesPrintf) {
  const auto check = [](uint64_t n) {
    char want[16];
    std::snprintf(want, sizeof(want), "%08llu", static_cast<unsigned long long>(n));
    const uint64_t word = EightDigits(n);
    ASSERT_EQ(std::string(reinterpret_cast<const char*>(&word), 8), want) << n;
  };
  for (uint64_t n = 0; n < 1000000; ++n) check(n);
  for (uint64_t n = 99999999; n > 99000000; --n) check(n);
  Rng rng(3);
  for (int i = 0; i < 1000000; ++i) check(rng.Below(100000000));
}

TEST(KeysValuesTest, LongKeysAndTruncation) {
  WorkloadConfig c;
  c.keys = 1000;
  c.key_size = 22;  // 20 digits: two whole words and four
  c.prefix = "kv";
  KeyBuffer keys(c);
  EXPECT_EQ(keys.Of(0), "kv00000000000000000000");
  EXPECT_EQ(keys.Of(18446744073709551615ULL), "kv18446744073709551615");
  EXPECT_EQ(keys.Of(1234567890123ULL), "kv00000001234567890123");
  c.key_size = 7;  // 5 digits: a number with more keeps its low five
  KeyBuffer short_keys(c);
  EXPECT_EQ(short_keys.Of(1234567), "kv34567");
  EXPECT_EQ(short_keys.Of(42), "kv00042");
  KeyBuffer copy = short_keys;  // a copy formats into its own bytes
  EXPECT_EQ(copy.Of(7), "kv00007");
  EXPECT_EQ(short_keys.Of(8), "kv00008");
  EXPECT_EQ(copy.Of(9), "kv00009");
  c.prefix = "";
  c.key_size = 16;  // digits only: two whole words
  KeyBuffer digits_only(c);
  EXPECT_EQ(digits_only.Of(1234567890123456ULL), "1234567890123456");
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
