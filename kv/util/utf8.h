// UTF-8 well-formedness (RFC 3629), shared by the snapshot format's JSON
// lines and kvcli's JSON output (tools/cli). Kept in its own small library so
// that tools can use it without the rest of the snapshot code.
#ifndef SHMKV_KV_SNAPSHOT_UTF8_H_
#define SHMKV_KV_SNAPSHOT_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace shmkv {

// Length (1 to 4) of the well-formed UTF-8 sequence that starts at s[i], or 0
// if none does: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
// above U+10FFFF, no sequence cut short by the end of `s`. 0 when i >= size.
size_t Utf8SequenceLength(absl::string_view s, size_t i);

// Whether all of `s` is well-formed UTF-8 (the empty string is).
bool IsUtf8(absl::string_view s);

}  // namespace shmkv

#endif  // SHMKV_KV_SNAPSHOT_UTF8_H_
