#include "kv/util/json.h"

#include <cmath>
#include <cstddef>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kv/util/utf8.h"

namespace shmkv::util {

std::string JsonString(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char b = static_cast<unsigned char>(bytes[i]);
    if (b == '"' || b == '\\') {
      out += '\\';
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    const size_t n = (b < 0x20 || b == 0x7f) ? 0 : Utf8SequenceLength(bytes, i);
    if (n == 0) {  // a control character or a byte outside well-formed UTF-8
      out += "\\u00";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
      ++i;
      continue;
    }
    out.append(bytes.data() + i, n);
    i += n;
  }
  out += '"';
  return out;
}

JsonObject& JsonObject::Str(absl::string_view name, absl::string_view bytes) {
  return Raw(name, JsonString(bytes));
}

JsonObject& JsonObject::U64(absl::string_view name, uint64_t value) {
  return Raw(name, absl::StrCat(value));
}

JsonObject& JsonObject::I64(absl::string_view name, int64_t value) {
  return Raw(name, absl::StrCat(value));
}

JsonObject& JsonObject::Bool(absl::string_view name, bool value) {
  return Raw(name, value ? "true" : "false");
}

JsonObject& JsonObject::Null(absl::string_view name) { return Raw(name, "null"); }

JsonObject& JsonObject::Double(absl::string_view name, double value, int digits) {
  if (!std::isfinite(value)) return Null(name);
  return Raw(name, absl::StrFormat("%.*f", digits, value));
}

JsonObject& JsonObject::StrArray(absl::string_view name, const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& item : items) quoted.push_back(JsonString(item));
  return Array(name, quoted);
}

JsonObject& JsonObject::Array(absl::string_view name, const std::vector<std::string>& json_values) {
  return Raw(name, absl::StrCat("[", absl::StrJoin(json_values, ","), "]"));
}

JsonObject& JsonObject::Raw(absl::string_view name, absl::string_view json) {
  if (!body_.empty()) body_ += ",";
  absl::StrAppend(&body_, "\"", name, "\":", json);
  return *this;
}

std::string JsonObject::Build() const { return absl::StrCat("{", body_, "}"); }

}  // namespace shmkv::util
