#include "kv/util/json.h"

#include <cstddef>

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

}  // namespace shmkv::util
