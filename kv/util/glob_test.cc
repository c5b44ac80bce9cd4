#include "kv/util/glob.h"

#include <fnmatch.h>

#include <clocale>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace shmkv::util {
namespace {

bool Match(absl::string_view pattern, absl::string_view text) {
  absl::StatusOr<Glob> g = Glob::Compile(pattern);
  EXPECT_TRUE(g.ok()) << pattern << ": " << g.status();
  return g.ok() && g->Matches(text);
}

std::string Error(absl::string_view pattern) {
  absl::StatusOr<Glob> g = Glob::Compile(pattern, "match");
  if (g.ok()) return "compiled";
  EXPECT_TRUE(absl::IsInvalidArgument(g.status())) << g.status();
  return std::string(g.status().message());
}

TEST(Glob, LiteralsStarsAndQuestionMarks) {
  EXPECT_TRUE(Match("", ""));
  EXPECT_FALSE(Match("", "a"));
  EXPECT_TRUE(Match("abc", "abc"));
  EXPECT_FALSE(Match("abc", "abd"));
  EXPECT_FALSE(Match("abc", "abcd"));
  EXPECT_TRUE(Match("*", ""));
  EXPECT_TRUE(Match("*", "a/b/c"));  // * crosses '/'
  EXPECT_TRUE(Match("a*c", "ac"));
  EXPECT_TRUE(Match("a*c", "abbbc"));
  EXPECT_FALSE(Match("a*c", "abbbcd"));
  EXPECT_TRUE(Match("a**c", "abc"));
  EXPECT_TRUE(Match("*a*b*", "xxaxxbxx"));
  EXPECT_FALSE(Match("*a*b*", "xxbxxaxx"));
  EXPECT_TRUE(Match("user:?", "user:x"));
  EXPECT_FALSE(Match("user:?", "user:"));
  EXPECT_TRUE(Match(".*", ".hidden"));  // no special leading dot
}

TEST(Glob, SetsRangesClassesAndNegation) {
  EXPECT_TRUE(Match("[abc]", "b"));
  EXPECT_FALSE(Match("[abc]", "d"));
  EXPECT_TRUE(Match("[a-c]x", "bx"));
  EXPECT_FALSE(Match("[a-c]x", "dx"));
  EXPECT_TRUE(Match("[!a-c]", "d"));
  EXPECT_FALSE(Match("[!a-c]", "a"));
  EXPECT_TRUE(Match("[^a-c]", "d"));
  EXPECT_TRUE(Match("[]]", "]"));
  EXPECT_TRUE(Match("[!]]", "a"));
  EXPECT_FALSE(Match("[!]]", "]"));
  EXPECT_TRUE(Match("[a-]", "-"));
  EXPECT_TRUE(Match("[-a]", "-"));
  EXPECT_TRUE(Match("[[:digit:]]x", "7x"));
  EXPECT_FALSE(Match("[[:digit:]]x", "ax"));
  EXPECT_TRUE(Match("[![:alpha:]]", "1"));
  EXPECT_TRUE(Match("[\\]]", "]"));
  EXPECT_TRUE(Match("[\x80-\xff]", "\xc3"));  // ranges by byte value
}

TEST(Glob, BackslashEscapes) {
  EXPECT_TRUE(Match("a\\*", "a*"));
  EXPECT_FALSE(Match("a\\*", "ab"));
  EXPECT_TRUE(Match("\\?", "?"));
  EXPECT_FALSE(Match("\\?", "x"));
  EXPECT_TRUE(Match("\\[x]", "[x]"));
  EXPECT_TRUE(Match("\\\\", "\\"));
}

TEST(Glob, NulBytesAreBytes) {
  EXPECT_TRUE(Match("a?b", std::string("a\0b", 3)));
  EXPECT_TRUE(Match(std::string("a\0*", 3), std::string("a\0zz", 4)));
  EXPECT_FALSE(Match("a", std::string("a\0", 2)));
}

TEST(Glob, InvalidPatternsSayWhy) {
  EXPECT_NE(Error("[").find("has no closing ]"), std::string::npos);
  EXPECT_NE(Error("user:[abc").find("the [ at byte 6"), std::string::npos);
  EXPECT_NE(Error("[]").find("has no closing ]"), std::string::npos);
  EXPECT_NE(Error("a\\").find("lone backslash"), std::string::npos);
  EXPECT_NE(Error("[z-a]").find("reversed"), std::string::npos);
  EXPECT_NE(Error("[[:word:]]").find("not a character class"), std::string::npos);
  EXPECT_NE(Error("[[:digit]").find("no closing :]"), std::string::npos);
  EXPECT_NE(Error("[").find("the match is not a valid glob"), std::string::npos);
}

TEST(Glob, PatternLengthIsBounded) {
  EXPECT_EQ(Error(std::string(kMaxGlobBytes, '*')), "compiled");
  const std::string message = Error(std::string(kMaxGlobBytes + 1, 'a'));
  EXPECT_NE(message.find(absl::StrCat("limit of ", kMaxGlobBytes, " bytes")), std::string::npos)
      << message;
}

// Matching bytes, not characters: the same answer in a UTF-8 locale as in
// the C locale, where fnmatch(3) gives two different ones.
TEST(Glob, TheLocaleChangesNothing) {
  const std::string key = "user:\xc3\xa9";  // "user:é" in UTF-8
  ASSERT_NE(std::setlocale(LC_ALL, "C.UTF-8"), nullptr);
  const bool fnmatch_utf8 = fnmatch("user:?", key.c_str(), 0) == 0;
  EXPECT_FALSE(Match("user:?", key));
  EXPECT_TRUE(Match("user:??", key));
  EXPECT_TRUE(Match("user:[\xc3]?", key));
  std::setlocale(LC_ALL, "C");
  const bool fnmatch_c = fnmatch("user:?", key.c_str(), 0) == 0;
  EXPECT_FALSE(Match("user:?", key));
  EXPECT_TRUE(Match("user:??", key));
  EXPECT_NE(fnmatch_utf8, fnmatch_c);  // what this matcher replaces
}

// Patterns that make a backtracking matcher take exponential time take a
// time linear in the key here.
TEST(Glob, NoExponentialBacktracking) {
  std::string pattern;
  for (int i = 0; i < 100; ++i) pattern += "*a";
  pattern += "b";
  const std::string key(60000, 'a');
  const absl::StatusOr<Glob> g = Glob::Compile(pattern);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->Matches(key));
  EXPECT_TRUE(g->Matches(key + "b"));
}

}  // namespace
}  // namespace shmkv::util
