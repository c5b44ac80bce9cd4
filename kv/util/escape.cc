#include "kv/util/escape.h"

#include <cstddef>

#include "absl/strings/str_cat.h"
#include "kv/util/substr.h"

namespace shmkv::util {
namespace {

constexpr char kEscapeHelp[] = "write a backslash as \\\\ and any byte as \\xHH (e.g. user\\x00id)";

}  // namespace

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string QuoteInput(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string shown = EscapeKey(Clip(text, 0, kMaxShown));
  if (text.size() > kMaxShown) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

absl::Status BadInput(absl::string_view what, absl::string_view text, absl::string_view reason,
                      absl::string_view help) {
  if (reason.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad ", what, " ", QuoteInput(text), ": ", help));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad ", what, " ", QuoteInput(text), ": ", reason, "; ", help));
}

std::string EscapeKey(absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b == '\\') {
      out += "\\\\";
    } else if (b >= 0x20 && b <= 0x7e) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  return out;
}

absl::StatusOr<std::string> UnescapeKey(absl::string_view text) {
  constexpr char kWhat[] = "escaped key";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 >= text.size()) {
      return BadInput(kWhat, text, absl::StrCat("lone backslash at the end (byte ", i, ")"),
                      kEscapeHelp);
    }
    if (text[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    if (text[i + 1] == 'x') {
      const int hi = i + 2 < text.size() ? HexDigitValue(text[i + 2]) : -1;
      const int lo = i + 3 < text.size() ? HexDigitValue(text[i + 3]) : -1;
      if (hi < 0 || lo < 0) {
        return BadInput(kWhat, text, absl::StrCat("\\x at byte ", i, " needs two hex digits"),
                        kEscapeHelp);
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 3;
      continue;
    }
    return BadInput(kWhat, text,
                    absl::StrCat("unknown escape ", QuoteInput(Clip(text, i, 2)), " at byte ", i),
                    kEscapeHelp);
  }
  return out;
}

}  // namespace shmkv::util
