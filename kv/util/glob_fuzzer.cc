// libFuzzer target for the byte glob matcher: for patterns whose meaning
// fnmatch(3) shares in the C locale (literals, `*`, `?`, `\` escapes; no
// sets, whose negation and classes differ on purpose, and no NUL bytes,
// which end fnmatch's strings), Glob::Matches agrees with
// fnmatch(pattern, key, 0). Any pattern, valid or not, compiles or fails
// cleanly, and matching a long key stays within the fuzzer's time limit
// (the matcher is linear in the key).
//
// Input: first byte = pattern length (mod the rest's size + 1), then the
// pattern, then the key.
#include <fnmatch.h>

#include <clocale>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "kv/util/glob.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool c_locale = std::setlocale(LC_ALL, "C") != nullptr;
  if (!c_locale || size == 0) return 0;
  const size_t rest = size - 1;
  const size_t pattern_size = data[0] % (rest + 1);
  const std::string pattern(reinterpret_cast<const char*>(data + 1), pattern_size);
  const std::string key(reinterpret_cast<const char*>(data + 1 + pattern_size),
                        rest - pattern_size);
  absl::StatusOr<shmkv::util::Glob> glob = shmkv::util::Glob::Compile(pattern);
  if (!glob.ok()) return 0;
  const bool matched = glob->Matches(key);
  // A long key built from this one: the cost grows with the key, never
  // exponentially with the pattern's stars.
  std::string long_key;
  while (!key.empty() && long_key.size() < 4096) long_key += key;
  (void)glob->Matches(long_key);
  if (pattern.find('[') != std::string::npos || pattern.find('\0') != std::string::npos ||
      key.find('\0') != std::string::npos) {
    return 0;
  }
  const bool expected = fnmatch(pattern.c_str(), key.c_str(), 0) == 0;
  if (matched != expected) {
    std::fprintf(stderr, "glob_fuzzer: pattern \"%s\" key \"%s\": Glob %s, fnmatch %s\n",
                 absl::CEscape(pattern).c_str(), absl::CEscape(key).c_str(),
                 matched ? "matches" : "does not match", expected ? "matches" : "does not match");
    std::abort();
  }
  return 0;
}
