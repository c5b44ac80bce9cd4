#include "tools/cli/parse.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/snapshot/utf8.h"

namespace shmkv {
namespace cli {
namespace {

// string_view::substr (and absl::ClippedSubstr, which calls it) references
// absl's throw helper, a library outside this project's Abseil labels; this
// clips the same way without it.
absl::string_view Sub(absl::string_view s, size_t pos, size_t n = absl::string_view::npos) {
  if (pos > s.size()) pos = s.size();
  return absl::string_view(s.data() + pos, std::min(n, s.size() - pos));
}

constexpr char kSizeHelp[] = "use bytes or a suffix K/KiB, M/MiB, G/GiB, T/TiB (e.g. 64MiB)";
constexpr char kDurationHelp[] =
    "use a number and a unit ms, s, m, h or d (e.g. 500ms, 30s, 1.5h); a bare "
    "number is seconds";
constexpr char kIpcKeyHelp[] = "use hex or decimal from 1 to 0xffffffff (e.g. 0x5f3e0001)";
constexpr char kEscapeHelp[] = "write a backslash as \\\\ and any byte as \\xHH (e.g. user\\x00id)";

// The bad text for an error message: escaped, quoted, cut to 64 bytes.
std::string Quote(absl::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string shown = EscapeKey(Sub(text, 0, kMaxShown));
  if (text.size() > kMaxShown) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

absl::Status Bad(absl::string_view what, absl::string_view text, absl::string_view reason,
                 absl::string_view help) {
  if (reason.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad ", what, " ", Quote(text), ": ", help));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("bad ", what, " ", Quote(text), ": ", reason, "; ", help));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the decimal digits of `text` starting at *pos into *value. Returns
// false on overflow; *pos ends after the last digit either way.
bool ConsumeDecimal(absl::string_view text, size_t* pos, uint64_t* value) {
  bool ok = true;
  uint64_t v = 0;
  size_t i = *pos;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(text[i] - '0'), &v)) {
      ok = false;
    }
  }
  *pos = i;
  *value = v;
  return ok;
}

// What ParseSize and ParseDuration check first: the text starts with a
// digit (it is not empty and has no sign).
absl::Status CheckLeadingDigit(absl::string_view what, absl::string_view text,
                               absl::string_view help) {
  if (text.empty()) return Bad(what, text, "it is empty", help);
  if (text[0] == '-') {
    return Bad(what, text, absl::StrCat("a ", what, " cannot be negative"), help);
  }
  if (!IsDigit(text[0])) return Bad(what, text, "", help);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  constexpr char kWhat[] = "size";
  if (absl::Status s = CheckLeadingDigit(kWhat, text, kSizeHelp); !s.ok()) {
    return s;
  }
  size_t pos = 0;
  uint64_t number = 0;
  const bool fits = ConsumeDecimal(text, &pos, &number);
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    return Bad(kWhat, text,
               "fractions are not accepted, use a smaller unit (1536MiB, not "
               "1.5GiB)",
               kSizeHelp);
  }
  const std::string suffix = absl::AsciiStrToLower(Sub(text, pos));
  int shift = -1;
  if (suffix.empty()) {
    shift = 0;
  } else if (suffix == "k" || suffix == "kib") {
    shift = 10;
  } else if (suffix == "m" || suffix == "mib") {
    shift = 20;
  } else if (suffix == "g" || suffix == "gib") {
    shift = 30;
  } else if (suffix == "t" || suffix == "tib") {
    shift = 40;
  } else if (suffix == "kb" || suffix == "mb" || suffix == "gb" || suffix == "tb") {
    return Bad(kWhat, text,
               absl::StrCat("decimal suffix \"", Sub(text, pos),
                            "\" is ambiguous, use the binary one (\"", Sub(text, pos, 1), "iB\")"),
               kSizeHelp);
  } else {
    return Bad(kWhat, text, absl::StrCat("unknown suffix ", Quote(Sub(text, pos))), kSizeHelp);
  }
  if (!fits || (shift > 0 && number > (std::numeric_limits<uint64_t>::max() >> shift))) {
    return Bad(kWhat, text, "too large, the maximum is 2^64-1 bytes", kSizeHelp);
  }
  return number << shift;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  constexpr char kWhat[] = "duration";
  constexpr uint64_t kMaxNanos = std::numeric_limits<int64_t>::max();
  auto too_large = [&] {
    return Bad(kWhat, text, "too large, the maximum is 106751d (2^63-1 ns)", kDurationHelp);
  };
  if (absl::Status s = CheckLeadingDigit(kWhat, text, kDurationHelp); !s.ok()) {
    return s;
  }
  size_t pos = 0;
  uint64_t whole = 0;
  if (!ConsumeDecimal(text, &pos, &whole)) return too_large();

  // The fraction, as billionths of the unit.
  uint64_t billionths = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    absl::string_view digits = Sub(text, start, pos - start);
    if (digits.empty()) {
      return Bad(kWhat, text, "a digit must follow the decimal point", kDurationHelp);
    }
    while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
    if (digits.size() > 9) {
      return Bad(kWhat, text, "at most 9 decimal places are accepted", kDurationHelp);
    }
    for (size_t i = 0; i < 9; ++i) {
      billionths = billionths * 10 + (i < digits.size() ? digits[i] - '0' : 0);
    }
  }

  const std::string unit = absl::AsciiStrToLower(Sub(text, pos));
  uint64_t seconds_per_unit = 0;  // 0 for milliseconds
  if (unit.empty() || unit == "s") {
    seconds_per_unit = 1;
  } else if (unit == "ms") {
    seconds_per_unit = 0;
  } else if (unit == "m") {
    seconds_per_unit = 60;
  } else if (unit == "h") {
    seconds_per_unit = 3600;
  } else if (unit == "d") {
    seconds_per_unit = 86400;
  } else {
    return Bad(kWhat, text, absl::StrCat("unknown unit ", Quote(Sub(text, pos))), kDurationHelp);
  }

  // The value in billionths of the unit, then in nanoseconds.
  uint64_t scaled = 0;
  if (__builtin_mul_overflow(whole, uint64_t{1000000000}, &scaled) ||
      __builtin_add_overflow(scaled, billionths, &scaled)) {
    return too_large();
  }
  uint64_t nanos = 0;
  if (seconds_per_unit == 0) {
    if (scaled % 1000 != 0) {
      return Bad(kWhat, text, "it is not a whole number of nanoseconds", kDurationHelp);
    }
    nanos = scaled / 1000;
  } else if (__builtin_mul_overflow(scaled, seconds_per_unit, &nanos)) {
    return too_large();
  }
  if (nanos > kMaxNanos) return too_large();
  return absl::Nanoseconds(static_cast<int64_t>(nanos));
}

absl::StatusOr<key_t> ParseIpcKey(absl::string_view text) {
  constexpr char kWhat[] = "IPC key";
  if (text.empty()) return Bad(kWhat, text, "it is empty", kIpcKeyHelp);
  if (text[0] == '-') {
    return Bad(kWhat, text, "a key cannot be negative", kIpcKeyHelp);
  }
  uint64_t value = 0;
  bool too_large = false;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    if (text.size() == 2) return Bad(kWhat, text, "no digits after 0x", kIpcKeyHelp);
    for (size_t i = 2; i < text.size(); ++i) {
      const int digit = HexValue(text[i]);
      if (digit < 0) {
        return Bad(kWhat, text, absl::StrCat("not a hex digit at byte ", i), kIpcKeyHelp);
      }
      value = value * 16 + static_cast<uint64_t>(digit);
      if (value > 0xffffffffu) too_large = true;
      if (too_large) value = 0x100000000u;  // keep it from wrapping
    }
  } else {
    size_t pos = 0;
    if (!ConsumeDecimal(text, &pos, &value)) too_large = true;
    if (pos == 0 || pos != text.size()) {
      return Bad(kWhat, text, "", kIpcKeyHelp);
    }
  }
  if (too_large || value > 0xffffffffu) {
    return Bad(kWhat, text, "too large, keys are 32 bits", kIpcKeyHelp);
  }
  if (value == 0) {
    return Bad(kWhat, text, "0 is IPC_PRIVATE, which cannot name a shared store", kIpcKeyHelp);
  }
  return static_cast<key_t>(static_cast<uint32_t>(value));
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
      return Bad(kWhat, text, absl::StrCat("lone backslash at the end (byte ", i, ")"),
                 kEscapeHelp);
    }
    if (text[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    if (text[i + 1] == 'x') {
      const int hi = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      const int lo = i + 3 < text.size() ? HexValue(text[i + 3]) : -1;
      if (hi < 0 || lo < 0) {
        return Bad(kWhat, text, absl::StrCat("\\x at byte ", i, " needs two hex digits"),
                   kEscapeHelp);
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 3;
      continue;
    }
    return Bad(kWhat, text, absl::StrCat("unknown escape ", Quote(Sub(text, i, 2)), " at byte ", i),
               kEscapeHelp);
  }
  return out;
}

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

std::string Base64(absl::string_view bytes) { return absl::Base64Escape(bytes); }

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  // Tenths of the unit, rounded to nearest; move up a unit when rounding
  // reaches 1024.0 (so 1048575 bytes is "1.0 MiB", not "1024.0 KiB").
  auto tenths = [bytes](int u) {
    const unsigned shift = 10 * static_cast<unsigned>(u + 1);
    const unsigned __int128 scaled = static_cast<unsigned __int128>(bytes) * 10;
    const unsigned __int128 half = static_cast<unsigned __int128>(1) << (shift - 1);
    return static_cast<uint64_t>((scaled + half) >> shift);
  };
  while (unit < 5 && tenths(unit) >= 10240) ++unit;
  const uint64_t t = tenths(unit);
  return absl::StrCat(t / 10, ".", t % 10, " ", kUnits[unit]);
}

std::string FormatDuration(absl::Duration duration) {
  if (duration == absl::InfiniteDuration()) return "inf";
  if (duration == -absl::InfiniteDuration()) return "-inf";
  absl::Duration rem;
  const int64_t secs = absl::IDivDuration(duration, absl::Seconds(1), &rem);
  const int64_t rem_nanos = absl::ToInt64Nanoseconds(rem);  // |rem| < 1s
  const bool negative = secs < 0 || rem_nanos < 0;
  const uint64_t s = secs < 0 ? 0 - static_cast<uint64_t>(secs) : static_cast<uint64_t>(secs);
  const uint64_t ns = static_cast<uint64_t>(rem_nanos < 0 ? -rem_nanos : rem_nanos);
  const char* sign = negative ? "-" : "";

  // Digits of `frac` (out of 10^width) with trailing zeros removed.
  auto fraction = [](uint64_t frac, int width) {
    std::string digits = absl::StrFormat("%0*d", width, frac);
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return digits;
  };
  if (s == 0 && ns == 0) return "0s";
  if (ns == 0) {
    if (s % 86400 == 0) return absl::StrCat(sign, s / 86400, "d");
    if (s % 3600 == 0) return absl::StrCat(sign, s / 3600, "h");
    if (s % 60 == 0) return absl::StrCat(sign, s / 60, "m");
    return absl::StrCat(sign, s, "s");
  }
  if (s > 0) return absl::StrCat(sign, s, ".", fraction(ns, 9), "s");
  const uint64_t ms = ns / 1000000, sub = ns % 1000000;
  if (sub == 0) return absl::StrCat(sign, ms, "ms");
  return absl::StrCat(sign, ms, ".", fraction(sub, 6), "ms");
}

}  // namespace cli
}  // namespace shmkv
