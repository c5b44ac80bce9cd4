// FlagSet and ParseCount.
#include "bench/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(ParseCountTest, DecimalUnitsAndFractions) {
  EXPECT_EQ(*ParseCount("1000000"), 1000000u);
  EXPECT_EQ(*ParseCount("1M"), 1000000u);
  EXPECT_EQ(*ParseCount("250k"), 250000u);
  EXPECT_EQ(*ParseCount("1.5M"), 1500000u);
  EXPECT_FALSE(ParseCount("").ok());
  EXPECT_FALSE(ParseCount("abc").ok());
  EXPECT_FALSE(ParseCount("3X").ok());
}

TEST(FlagSetTest, ValuesSizesAndBools) {
  uint64_t size = 0;
  int small = 0;
  bool on = false, off = true;
  std::string text;
  FlagSet flags("t", "test");
  flags.ByteSize("size", "a size", &size);
  flags.ByteSize("small", "a size", &small);
  flags.Bool("on", "a bool", &on);
  flags.Bool("off", "a bool", &off);
  flags.String("text", "TEXT", "a string", &text);
  char* argv[] = {const_cast<char*>("t"),       const_cast<char*>("--size=64MiB"),
                  const_cast<char*>("--small"), const_cast<char*>("4K"),
                  const_cast<char*>("--on"),    const_cast<char*>("--off=false"),
                  const_cast<char*>("--text"),  const_cast<char*>("a=b")};
  flags.ParseOrExit(8, argv);
  EXPECT_EQ(size, uint64_t{64} << 20);  // sizes are cli::ParseSize's
  EXPECT_EQ(small, 4096);
  EXPECT_TRUE(on);
  EXPECT_FALSE(off);
  EXPECT_EQ(text, "a=b");
  EXPECT_NE(flags.Usage().find("--size=SIZE"), std::string::npos);
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
