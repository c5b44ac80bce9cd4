// Base64 for binary values in JSON output.
#ifndef SHMKV_KV_UTIL_BASE64_H_
#define SHMKV_KV_UTIL_BASE64_H_

#include <string>

#include "absl/strings/string_view.h"

namespace shmkv::util {

// Standard base64 (RFC 4648 alphabet, with '=' padding): how binary values
// travel in kvcli's JSON output and the snapshot format's JSON lines.
std::string Base64(absl::string_view bytes);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_BASE64_H_
