#include "kv/util/glob.h"

#include <fnmatch.h>

#include <clocale>
#include <string>
#include <utility>
#include <vector>

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

// A pattern, a text, and whether the pattern matches the text.
struct MatchCase {
  std::string pattern, text;
  bool matches;
};

void ExpectMatches(const std::vector<MatchCase>& cases) {
  for (const MatchCase& c : cases) {
    EXPECT_EQ(Match(c.pattern, c.text), c.matches)
        << "pattern \"" << c.pattern << "\", text \"" << c.text << "\"";
  }
}

TEST(Glob, LiteralsStarsAndQuestionMarks) {
  ExpectMatches({
      {"", "", true},
      {"", "a", false},
      {"abc", "abc", true},
      {"abc", "abd", false},
      {"abc", "abcd", false},
      {"*", "", true},
      {"*", "a/b/c", true},  // * crosses '/'
      {"a*c", "ac", true},
      {"a*c", "abbbc", true},
      {"a*c", "abbbcd", false},
      {"a**c", "abc", true},
      {"*a*b*", "xxaxxbxx", true},
      {"*a*b*", "xxbxxaxx", false},
      {"user:?", "user:x", true},
      {"user:?", "user:", false},
      {".*", ".hidden", true},  // no special leading dot
  });
}

TEST(Glob, SetsRangesClassesAndNegation) {
  ExpectMatches({
      {"[abc]", "b", true},
      {"[abc]", "d", false},
      {"[a-c]x", "bx", true},
      {"[a-c]x", "dx", false},
      {"[!a-c]", "d", true},
      {"[!a-c]", "a", false},
      {"[^a-c]", "d", true},
      {"[]]", "]", true},
      {"[!]]", "a", true},
      {"[!]]", "]", false},
      {"[a-]", "-", true},
      {"[-a]", "-", true},
      {"[[:digit:]]x", "7x", true},
      {"[[:digit:]]x", "ax", false},
      {"[![:alpha:]]", "1", true},
      {"[\\]]", "]", true},
      {"[\x80-\xff]", "\xc3", true},  // ranges by byte value
  });
}

TEST(Glob, BackslashEscapes) {
  ExpectMatches({
      {"a\\*", "a*", true},
      {"a\\*", "ab", false},
      {"\\?", "?", true},
      {"\\?", "x", false},
      {"\\[x]", "[x]", true},
      {"\\\\", "\\", true},
  });
}

TEST(Glob, NulBytesAreBytes) {
  ExpectMatches({
      {"a?b", std::string("a\0b", 3), true},
      {std::string("a\0*", 3), std::string("a\0zz", 4), true},
      {"a", std::string("a\0", 2), false},
  });
}

TEST(Glob, InvalidPatternsSayWhy) {
  // A pattern, and what the error says about it.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[", "has no closing ]"},      {"user:[abc", "the [ at byte 6"},
      {"[]", "has no closing ]"},     {"a\\", "lone backslash"},
      {"[z-a]", "reversed"},          {"[[:word:]]", "not a character class"},
      {"[[:digit]", "no closing :]"}, {"[", "the match is not a valid glob"},
  };
  for (const auto& [pattern, why] : cases) {
    EXPECT_NE(Error(pattern).find(why), std::string::npos) << pattern;
  }
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
