// A substring clipped to the string, like absl::Clip.
#ifndef SHMKV_KV_UTIL_SUBSTR_H_
#define SHMKV_KV_UTIL_SUBSTR_H_

#include <algorithm>
#include <cstddef>

#include "absl/strings/string_view.h"

namespace shmkv::util {

// The bytes of `s` from `pos` (clipped to its end), at most `n` of them.
// string_view::substr (and absl::Clip, which calls it) references
// absl's throw helper, a library outside this project's Abseil labels; this
// clips the same way without it.
inline absl::string_view Clip(absl::string_view s, size_t pos, size_t n = absl::string_view::npos) {
  if (pos > s.size()) pos = s.size();
  return absl::string_view(s.data() + pos, std::min(n, s.size() - pos));
}

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_SUBSTR_H_
