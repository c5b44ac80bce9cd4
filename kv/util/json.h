// JSON text for the programs' machine-readable output (kvcli's --json, the
// benchmarks' JSON lines): strings for arbitrary bytes, and one-line objects.
#ifndef SHMKV_KV_UTIL_JSON_H_
#define SHMKV_KV_UTIL_JSON_H_

#include <cstdint>
#include <string>
#include <vector>

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

// A one-line JSON object, written field by field in the order given. Field
// names are fixed ASCII chosen by the program (not escaped); string values go
// through JsonString.
class JsonObject {
 public:
  JsonObject& Str(absl::string_view name, absl::string_view bytes);
  JsonObject& U64(absl::string_view name, uint64_t value);
  JsonObject& I64(absl::string_view name, int64_t value);
  JsonObject& Bool(absl::string_view name, bool value);
  JsonObject& Null(absl::string_view name);
  // Fixed-point with `digits` decimals; NaN and infinities become null.
  JsonObject& Double(absl::string_view name, double value, int digits = 4);
  JsonObject& StrArray(absl::string_view name, const std::vector<std::string>& items);
  // An array of complete JSON values (numbers already formatted, objects).
  JsonObject& Array(absl::string_view name, const std::vector<std::string>& json_values);
  // `json` must be a complete JSON value.
  JsonObject& Raw(absl::string_view name, absl::string_view json);
  std::string Build() const;

 private:
  std::string body_;
};

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_JSON_H_
