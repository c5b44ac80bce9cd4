// FlagSet (the parsers it uses are tested in kv/util/parse_test.cc).
#include "bench/engine/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

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
  uint64_t count = 0;
  int number = 0;
  flags.Count("count", "a count", &count);
  flags.Integer("number", "an integer", 1, 10, &number);
  char* argv[] = {const_cast<char*>("t"),
                  const_cast<char*>("--size=64MiB"),
                  const_cast<char*>("--small"),
                  const_cast<char*>("4K"),
                  const_cast<char*>("--on"),
                  const_cast<char*>("--off=false"),
                  const_cast<char*>("--text"),
                  const_cast<char*>("a=b"),
                  const_cast<char*>("--count=1.5k"),
                  const_cast<char*>("--number=7")};
  flags.ParseOrExit(10, argv);
  EXPECT_EQ(size, uint64_t{64} << 20);  // sizes are util::ParseSize's
  EXPECT_EQ(small, 4096);
  EXPECT_TRUE(on);
  EXPECT_FALSE(off);
  EXPECT_EQ(text, "a=b");
  EXPECT_EQ(count, 1500u);
  EXPECT_EQ(number, 7);
  EXPECT_NE(flags.Usage().find("--size=SIZE"), std::string::npos);
}

}  // namespace
}  // namespace bench
}  // namespace shmkv

namespace shmkv {
namespace bench {
namespace {

// Integers are strict (no spaces, no '+') and bounded: a bad one exits 2
// with the flag's name.
TEST(FlagSetDeathTest, IntegerIsStrict) {
  for (const char* bad : {"--number=+3", "--number= 3", "--number=0", "--number=11"}) {
    int number = 0;
    FlagSet flags("t", "test");
    flags.Integer("number", "an integer", 1, 10, &number);
    char* argv[] = {const_cast<char*>("t"), const_cast<char*>(bad)};
    EXPECT_EXIT(flags.ParseOrExit(2, argv), ::testing::ExitedWithCode(2),
                "t: --number: .* is not a whole number from 1 to 10")
        << bad;
  }
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
