// JSON text for arbitrary bytes (kvcli's --json output).
#ifndef SHMKV_KV_UTIL_JSON_H_
#define SHMKV_KV_UTIL_JSON_H_

#include <string>

#include "absl/strings/string_view.h"

namespace shmkv::util {

// A quoted JSON string for arbitrary bytes. Well-formed UTF-8 is copied as is,
// except that '"' and '\' are escaped and control characters (U+0000..U+001F
// and U+007F) become \u00XX.
//
// LOSSY: a byte that is not part of well-formed UTF-8 (a stray continuation
// byte, an overlong form, a surrogate, a truncated sequence) also becomes
// \u00XX with XX = the byte, which a JSON reader decodes as the character
// U+00XX (Latin-1), not as the original byte. So "\xe9" and "é" both read back
// as "é". Use JsonString for display only; put bytes that must survive into
// JSON as Base64.
std::string JsonString(absl::string_view bytes);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_JSON_H_
