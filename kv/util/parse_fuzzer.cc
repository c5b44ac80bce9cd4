// libFuzzer target for the text helpers of kv/util (parse, escape, json,
// base64, format): feeds the input to every parser and
// formatter and aborts when a round-trip invariant fails.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "kv/util/format.h"
#include "kv/util/json.h"
#include "kv/util/parse.h"
#include "kv/util/substr.h"

namespace {

using ::shmkv::util::Clip;

void Check(bool condition, const char* what, absl::string_view input) {
  if (condition) return;
  std::fprintf(stderr, "parse_fuzzer: invariant failed: %s (input \"%s\")\n", what,
               shmkv::util::EscapeKey(Clip(input, 0, 200)).c_str());
  std::abort();
}

// Reads back a JsonString result the way its writer built it: raw bytes stay,
// \" and \\ are the characters, \u00XX is the byte XX. Returns false if the
// text is not in that form.
bool DecodeJsonStringBytes(absl::string_view json, std::string* out) {
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') return false;
  json = Clip(json, 1, json.size() - 2);
  out->clear();
  for (size_t i = 0; i < json.size(); ++i) {
    const unsigned char b = static_cast<unsigned char>(json[i]);
    if (b < 0x20 || b == 0x7f || b == '"') return false;  // must be escaped
    if (b != '\\') {
      *out += json[i];
      continue;
    }
    if (i + 1 >= json.size()) return false;
    const char e = json[i + 1];
    if (e == '"' || e == '\\') {
      *out += e;
      i += 1;
      continue;
    }
    if (e != 'u' || i + 5 >= json.size() || Clip(json, i + 2, 2) != "00") {
      return false;
    }
    const int hi = shmkv::util::HexDigitValue(json[i + 4]),
              lo = shmkv::util::HexDigitValue(json[i + 5]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 5;
  }
  return true;
}

// A plain, slow UTF-8 check written independently of utf8.cc: decodes each
// sequence and rejects overlong forms, surrogates and values past U+10FFFF.
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    int extra = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      cp = b;
    } else if ((b & 0xe0) == 0xc0) {
      extra = 1, cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      extra = 2, cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      extra = 3, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(extra) >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const unsigned char c = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

uint64_t LoadU64(absl::string_view s) {
  uint64_t v = 0;
  std::memcpy(&v, s.data(), s.size() < 8 ? s.size() : 8);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace util = shmkv::util;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  if (absl::StatusOr<uint64_t> v = util::ParseSize(input); v.ok()) {
    absl::StatusOr<uint64_t> again = util::ParseSize(absl::StrCat(*v));
    Check(again.ok() && *again == *v, "ParseSize(decimal of result)", input);
    struct Unit {
      const char* suffix;
      int shift;
    };
    static constexpr Unit kUnits[] = {{"KiB", 10}, {"m", 20}, {"GIB", 30}, {"t", 40}};
    for (const Unit& unit : kUnits) {
      if (*v % (uint64_t{1} << unit.shift) != 0) continue;
      again = util::ParseSize(absl::StrCat(*v >> unit.shift, unit.suffix));
      Check(again.ok() && *again == *v, "ParseSize(with suffix)", input);
    }
  } else {
    Check(absl::IsInvalidArgument(v.status()), "ParseSize error code", input);
  }

  if (absl::StatusOr<absl::Duration> d = util::ParseDuration(input); d.ok()) {
    Check(*d >= absl::ZeroDuration() && *d < absl::InfiniteDuration(), "ParseDuration range",
          input);
    const std::string formatted = util::FormatDuration(*d);
    absl::StatusOr<absl::Duration> again = util::ParseDuration(formatted);
    Check(again.ok() && *again == *d, "ParseDuration(FormatDuration(d)) == d", input);
  } else {
    Check(absl::IsInvalidArgument(d.status()), "ParseDuration error code", input);
  }

  if (absl::StatusOr<uint64_t> n = util::ParseCount(input); n.ok()) {
    absl::StatusOr<uint64_t> again = util::ParseCount(absl::StrCat(*n));
    Check(again.ok() && *again == *n, "ParseCount(decimal of result)", input);
    uint64_t same = 0;
    Check(util::ParseUnsigned(absl::StrCat(*n), UINT64_MAX, false, &same) && same == *n,
          "ParseUnsigned(decimal of a count)", input);
  } else {
    Check(absl::IsInvalidArgument(n.status()), "ParseCount error code", input);
  }
  if (int64_t i = 0; util::ParseSigned(input, &i)) {
    int64_t again = 0;
    Check(util::ParseSigned(absl::StrCat(i), &again) && again == i, "ParseSigned(decimal)", input);
  }

  if (absl::StatusOr<key_t> k = util::ParseIpcKey(input); k.ok()) {
    Check(*k != 0, "ParseIpcKey never returns IPC_PRIVATE", input);
    const uint32_t bits = static_cast<uint32_t>(*k);
    absl::StatusOr<key_t> again = util::ParseIpcKey(absl::StrCat(bits));
    Check(again.ok() && *again == *k, "ParseIpcKey(decimal)", input);
    again = util::ParseIpcKey(absl::StrCat("0x", absl::Hex(bits)));
    Check(again.ok() && *again == *k, "ParseIpcKey(hex)", input);
  } else {
    Check(absl::IsInvalidArgument(k.status()), "ParseIpcKey error code", input);
  }

  // EscapeKey output is printable ASCII and reads back to the input.
  const std::string escaped = util::EscapeKey(input);
  for (const char c : escaped) {
    Check(c >= 0x20 && c <= 0x7e, "EscapeKey output is printable ASCII", input);
  }
  absl::StatusOr<std::string> unescaped = util::UnescapeKey(escaped);
  Check(unescaped.ok() && *unescaped == input, "UnescapeKey(EscapeKey(s)) == s", input);
  // The input read as escaped text: if accepted, its canonical form is stable.
  if (absl::StatusOr<std::string> raw = util::UnescapeKey(input); raw.ok()) {
    Check(raw->size() <= input.size(), "UnescapeKey never grows", input);
    absl::StatusOr<std::string> back = util::UnescapeKey(util::EscapeKey(*raw));
    Check(back.ok() && *back == *raw, "UnescapeKey round trip", input);
  } else {
    Check(absl::IsInvalidArgument(raw.status()), "UnescapeKey error code", input);
  }

  // JsonString output is valid UTF-8, has no raw control characters, and
  // its escapes map back to exactly the input bytes.
  const std::string json = util::JsonString(input);
  Check(IsUtf8(json), "JsonString output is UTF-8", input);
  std::string decoded;
  Check(DecodeJsonStringBytes(json, &decoded) && decoded == input,
        "JsonString decodes back to the input", input);
  if (IsUtf8(input)) {
    // Nothing but '"', '\' and control characters may be escaped.
    size_t escapes = 0;
    for (const char c : input) {
      const unsigned char b = static_cast<unsigned char>(c);
      if (b < 0x20 || b == 0x7f || b == '"' || b == '\\') ++escapes;
    }
    size_t backslashes = 0;
    for (size_t i = 1; i + 1 < json.size(); ++i) {
      if (json[i] == '\\') {
        ++backslashes;
        ++i;  // skip the escaped character
      }
    }
    Check(backslashes == escapes, "JsonString keeps valid UTF-8 as is", input);
  }

  std::string unbase64;
  Check(absl::Base64Unescape(util::Base64(input), &unbase64) && unbase64 == input,
        "Base64 round trip", input);

  // Formatting arbitrary numbers must not crash and must stay short.
  const uint64_t n = LoadU64(input);
  Check(util::FormatBytes(n).size() <= 12, "FormatBytes length", input);
  const int64_t nanos = static_cast<int64_t>(n);
  const std::string fd = util::FormatDuration(absl::Nanoseconds(nanos));
  if (nanos >= 0) {
    absl::StatusOr<absl::Duration> again = util::ParseDuration(fd);
    Check(again.ok() && *again == absl::Nanoseconds(nanos),
          "ParseDuration(FormatDuration(ns)) == ns", input);
  } else {
    Check(!fd.empty() && fd[0] == '-', "negative durations get a sign", input);
  }
  if (size >= 16) {
    // Durations beyond the int64-nanosecond range, in whole seconds.
    const int64_t secs = static_cast<int64_t>(LoadU64(Clip(input, 8)));
    Check(!util::FormatDuration(absl::Seconds(secs)).empty(), "FormatDuration", input);
  }
  return 0;
}
