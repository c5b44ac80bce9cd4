#include "kv/util/glob.h"

#include <bitset>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace shmkv::util {
namespace {

using ByteSet = std::bitset<256>;

struct Token {
  bool star = false;
  ByteSet bytes;  // when not a star: the bytes it takes
};

bool InClass(absl::string_view name, unsigned char c, bool* known) {
  *known = true;
  if (name == "alnum") return absl::ascii_isalnum(c);
  if (name == "alpha") return absl::ascii_isalpha(c);
  if (name == "blank") return absl::ascii_isblank(c);
  if (name == "cntrl") return absl::ascii_iscntrl(c);
  if (name == "digit") return absl::ascii_isdigit(c);
  if (name == "graph") return absl::ascii_isgraph(c);
  if (name == "lower") return absl::ascii_islower(c);
  if (name == "print") return absl::ascii_isprint(c);
  if (name == "punct") return absl::ascii_ispunct(c);
  if (name == "space") return absl::ascii_isspace(c);
  if (name == "upper") return absl::ascii_isupper(c);
  if (name == "xdigit") return absl::ascii_isxdigit(c);
  *known = false;
  return false;
}

class Parser {
 public:
  Parser(absl::string_view pattern, absl::string_view what) : p_(pattern), what_(what) {}

  absl::Status Parse(std::vector<Token>* tokens) {
    while (i_ < p_.size()) {
      Token t;
      const char c = p_[i_++];
      if (c == '*') {
        t.star = true;
        if (!tokens->empty() && tokens->back().star) continue;  // ** is *
      } else if (c == '?') {
        t.bytes.set();
      } else if (c == '[') {
        if (absl::Status s = ParseSet(&t.bytes); !s.ok()) return s;
      } else {
        absl::StatusOr<unsigned char> b = Literal(c);
        if (!b.ok()) return b.status();
        t.bytes.set(*b);
      }
      tokens->push_back(t);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Invalid(absl::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what_, " is not a valid glob: ", why,
                     " (escape a literal [ ] * ? or \\ with a backslash)"));
  }
  // `c` was just read: the byte it stands for, after a backslash if it is one.
  absl::StatusOr<unsigned char> Literal(char c) {
    if (c != '\\') return static_cast<unsigned char>(c);
    if (i_ == p_.size()) return Invalid("it ends in a lone backslash");
    return static_cast<unsigned char>(p_[i_++]);
  }
  // After '[': the set up to its ']'.
  absl::Status ParseSet(ByteSet* set) {
    const size_t open = i_ - 1;
    bool negate = false;
    if (i_ < p_.size() && (p_[i_] == '!' || p_[i_] == '^')) {
      negate = true;
      ++i_;
    }
    bool first = true;
    for (;;) {
      if (i_ >= p_.size()) {
        return Invalid(absl::StrCat("the [ at byte ", open + 1, " has no closing ]"));
      }
      const char c = p_[i_++];
      if (c == ']' && !first) break;
      first = false;
      if (c == '[' && i_ < p_.size() && p_[i_] == ':') {
        const size_t end = p_.find(":]", i_ + 1);
        if (end == absl::string_view::npos) {
          return Invalid(absl::StrCat("the [: at byte ", i_, " has no closing :]"));
        }
        const absl::string_view name = p_.substr(i_ + 1, end - i_ - 1);
        for (int b = 0; b < 256; ++b) {
          bool known;
          if (InClass(name, static_cast<unsigned char>(b), &known)) set->set(b);
          if (!known) return Invalid(absl::StrCat("[:", name, ":] is not a character class"));
        }
        i_ = end + 2;
        continue;
      }
      absl::StatusOr<unsigned char> low = Literal(c);
      if (!low.ok()) return low.status();
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        absl::StatusOr<unsigned char> high = Literal(p_[i_++]);
        if (!high.ok()) return high.status();
        if (*high < *low) {
          return Invalid(absl::StrCat("the range ending at byte ", i_, " is reversed"));
        }
        for (int b = *low; b <= *high; ++b) set->set(b);
      } else {
        set->set(*low);
      }
    }
    if (negate) set->flip();
    return absl::OkStatus();
  }

  absl::string_view p_;
  absl::string_view what_;
  size_t i_ = 0;
};

// state <<= 1, over `words` words.
void ShiftLeft(uint64_t* state, size_t words) {
  for (size_t w = words; w-- > 0;) {
    state[w] = (state[w] << 1) | (w > 0 ? state[w - 1] >> 63 : 0);
  }
}

}  // namespace

absl::StatusOr<Glob> Glob::Compile(absl::string_view pattern, absl::string_view what) {
  if (pattern.size() > kMaxGlobBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " is ", pattern.size(),
                                                   " bytes, over the limit of ", kMaxGlobBytes,
                                                   " bytes for a glob; use a shorter pattern"));
  }
  std::vector<Token> tokens;
  if (absl::Status s = Parser(pattern, what).Parse(&tokens); !s.ok()) return s;
  Glob g;
  g.tokens_ = tokens.size();
  const size_t words = g.words();
  g.star_.assign(words, 0);
  g.accepts_.assign(256 * words, 0);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (tokens[i].star) {
      g.star_[i / 64] |= bit;
      continue;
    }
    for (int b = 0; b < 256; ++b) {
      if (tokens[i].bytes.test(b)) g.accepts_[b * words + i / 64] |= bit;
    }
  }
  return g;
}

// State bit i: the text so far matches the first i tokens. A star keeps its
// bit on every byte and, matching nothing, also sets the next bit (stars
// never follow each other, so one step of that closure is all of it).
bool Glob::Matches(absl::string_view text) const {
  const size_t n = words();
  uint64_t small[4];
  std::vector<uint64_t> large;
  uint64_t* state = small;
  uint64_t* next = small + 2;
  if (n > 2) {
    large.assign(2 * n, 0);
    state = large.data();
    next = large.data() + n;
  }
  auto close = [&](uint64_t* s) {
    for (size_t w = 0; w < n; ++w) next[w] = s[w] & star_[w];
    ShiftLeft(next, n);
    for (size_t w = 0; w < n; ++w) s[w] |= next[w];
  };
  for (size_t w = 0; w < n; ++w) state[w] = w == 0 ? 1 : 0;
  close(state);
  for (const char ch : text) {
    const uint64_t* accepts = &accepts_[static_cast<unsigned char>(ch) * n];
    uint64_t any = 0;
    for (size_t w = 0; w < n; ++w) {
      const uint64_t stay = state[w] & star_[w];
      state[w] &= accepts[w];
      next[w] = stay;
    }
    ShiftLeft(state, n);
    for (size_t w = 0; w < n; ++w) {
      state[w] |= next[w];
      any |= state[w];
    }
    if (any == 0) return false;
    close(state);
  }
  return (state[tokens_ / 64] >> (tokens_ % 64)) & 1;
}

}  // namespace shmkv::util
