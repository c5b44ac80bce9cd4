// A minimal writer for kvcli's one-line JSON objects. Field names are fixed
// ASCII chosen by kvcli; string values go through util::JsonString.
#ifndef SHMKV_TOOLS_KVCLI_JSON_H_
#define SHMKV_TOOLS_KVCLI_JSON_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "kv/util/json.h"

namespace shmkv {
namespace kvcli {

class JsonObject {
 public:
  JsonObject& Str(absl::string_view name, absl::string_view bytes) {
    return Raw(name, util::JsonString(bytes));
  }
  JsonObject& U64(absl::string_view name, uint64_t value) { return Raw(name, absl::StrCat(value)); }
  JsonObject& I64(absl::string_view name, int64_t value) { return Raw(name, absl::StrCat(value)); }
  JsonObject& Bool(absl::string_view name, bool value) {
    return Raw(name, value ? "true" : "false");
  }
  JsonObject& Null(absl::string_view name) { return Raw(name, "null"); }
  // Fixed-point with `digits` decimals; NaN and infinities become null.
  JsonObject& Double(absl::string_view name, double value, int digits = 4) {
    if (!std::isfinite(value)) return Null(name);
    return Raw(name, absl::StrFormat("%.*f", digits, value));
  }
  JsonObject& StrArray(absl::string_view name, const std::vector<std::string>& items) {
    std::string json = "[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) json += ",";
      json += util::JsonString(items[i]);
    }
    json += "]";
    return Raw(name, json);
  }
  // `json` must be a complete JSON value.
  JsonObject& Raw(absl::string_view name, absl::string_view json) {
    if (!body_.empty()) body_ += ",";
    absl::StrAppend(&body_, "\"", name, "\":", json);
    return *this;
  }
  std::string Build() const { return absl::StrCat("{", body_, "}"); }

 private:
  std::string body_;
};

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_JSON_H_
