// Byte globs: the key patterns of scans and bulk deletes, matched byte by
// byte whatever the process's locale (fnmatch(3) follows LC_CTYPE, so one
// pattern selected different keys in a C-locale program and a UTF-8 one).
//
// Syntax: `*` any run of bytes (including '/' and none), `?` any one byte,
// `[...]` one byte of a set: bytes, ranges `a-z` (by byte value), POSIX
// classes `[:digit:]` (ASCII only), `!` or `^` first negates, `]` first is
// a member, `-` first or last is a member; `\` makes the next byte literal,
// inside a set too. An unterminated `[`, a reversed range, an unknown class,
// a trailing lone `\` and a pattern over kMaxGlobBytes are InvalidArgument.
//
// Matching is a bit-parallel simulation of the pattern's automaton: time
// proportional to the key's length times (pattern tokens / 64), whatever
// the pattern, never exponential backtracking.
#ifndef SHMKV_KV_UTIL_GLOB_H_
#define SHMKV_KV_UTIL_GLOB_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shmkv::util {

// The longest pattern Glob::Compile takes, in bytes.
inline constexpr size_t kMaxGlobBytes = 1024;

class Glob {
 public:
  // `what` names the pattern in errors (an Options field, a flag).
  static absl::StatusOr<Glob> Compile(absl::string_view pattern, absl::string_view what = "glob");
  bool Matches(absl::string_view text) const;

 private:
  Glob() = default;
  size_t words() const { return (tokens_ + 1 + 63) / 64; }

  size_t tokens_ = 0;              // the accepting state is bit `tokens_`
  std::vector<uint64_t> star_;     // bit i: token i is `*`
  std::vector<uint64_t> accepts_;  // [byte * words() + w]: token i takes that byte
};

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_GLOB_H_
