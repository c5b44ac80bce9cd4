// UTF-8 well-formedness (RFC 3629), shared by the snapshot format's JSON
// lines and kvcli's JSON output.
#ifndef SHMKV_KV_UTIL_UTF8_H_
#define SHMKV_KV_UTIL_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace shmkv::util {

// Length (1 to 4) of the well-formed UTF-8 sequence that starts at s[i], or 0
// if none does: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF, no sequence cut short by the end of `s`. 0 when i >= size.
size_t Utf8SequenceLength(absl::string_view s, size_t i);

// Whether all of `s` is well-formed UTF-8 (the empty string is).
bool IsUtf8(absl::string_view s);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_UTF8_H_
