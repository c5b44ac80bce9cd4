#include "kv/util/base64.h"

#include "absl/strings/escaping.h"

namespace shmkv::util {

std::string Base64(absl::string_view bytes) { return absl::Base64Escape(bytes); }

}  // namespace shmkv::util
