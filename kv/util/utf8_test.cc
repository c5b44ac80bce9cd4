#include "kv/util/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace shmkv::util {
namespace {

TEST(Utf8SequenceLength, WellFormedBoundaries) {
  EXPECT_EQ(Utf8SequenceLength(std::string(1, '\0'), 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\x7f", 0), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xc2\x80", 0), 2u);          // U+0080
  EXPECT_EQ(Utf8SequenceLength("\xdf\xbf", 0), 2u);          // U+07FF
  EXPECT_EQ(Utf8SequenceLength("\xe0\xa0\x80", 0), 3u);      // U+0800
  EXPECT_EQ(Utf8SequenceLength("\xed\x9f\xbf", 0), 3u);      // U+D7FF
  EXPECT_EQ(Utf8SequenceLength("\xee\x80\x80", 0), 3u);      // U+E000
  EXPECT_EQ(Utf8SequenceLength("\xef\xbf\xbf", 0), 3u);      // U+FFFF
  EXPECT_EQ(Utf8SequenceLength("\xf0\x90\x80\x80", 0), 4u);  // U+10000
  EXPECT_EQ(Utf8SequenceLength("\xf4\x8f\xbf\xbf", 0), 4u);  // U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("a\xc3\xa9", 1), 2u);         // from an offset
}

TEST(Utf8SequenceLength, IllFormed) {
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 0u);              // lone continuation
  EXPECT_EQ(Utf8SequenceLength("\xc0\xaf", 0), 0u);          // overlong '/'
  EXPECT_EQ(Utf8SequenceLength("\xc1\xbf", 0), 0u);          // overlong
  EXPECT_EQ(Utf8SequenceLength("\xe0\x9f\xbf", 0), 0u);      // overlong U+07FF
  EXPECT_EQ(Utf8SequenceLength("\xed\xa0\x80", 0), 0u);      // surrogate U+D800
  EXPECT_EQ(Utf8SequenceLength("\xed\xbf\xbf", 0), 0u);      // surrogate U+DFFF
  EXPECT_EQ(Utf8SequenceLength("\xf0\x8f\xbf\xbf", 0), 0u);  // overlong U+FFFF
  EXPECT_EQ(Utf8SequenceLength("\xf4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(Utf8SequenceLength("\xf5\x80\x80\x80", 0), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xff", 0), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82", 0), 0u);  // cut short
  EXPECT_EQ(Utf8SequenceLength("\xc3\x41", 0), 0u);  // not a continuation
  EXPECT_EQ(Utf8SequenceLength("ab", 2), 0u);        // past the end
}

TEST(IsUtf8, WholeStrings) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsUtf8("caf\xe9"));
  EXPECT_FALSE(IsUtf8("ok\xe2\x82"));
}

}  // namespace
}  // namespace shmkv::util
