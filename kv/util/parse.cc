#include "kv/util/parse.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kv/util/escape.h"
#include "kv/util/substr.h"

namespace shmkv::util {
namespace {

constexpr char kSizeHelp[] = "use bytes or a suffix K/KiB, M/MiB, G/GiB, T/TiB (e.g. 64MiB)";
constexpr char kDurationHelp[] =
    "use a number and a unit ms, s, m, h or d (e.g. 500ms, 30s, 1.5h); a bare "
    "number is seconds";
constexpr char kIpcKeyHelp[] = "use hex or decimal from 1 to 0xffffffff (e.g. 0x5f3e0001)";
constexpr char kCountHelp[] =
    "use a whole number with an optional k, M or G (e.g. 1000000, 1M, 250k)";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

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
  if (text.empty()) return BadInput(what, text, "it is empty", help);
  if (text[0] == '-') {
    return BadInput(what, text, absl::StrCat("a ", what, " cannot be negative"), help);
  }
  if (!IsDigit(text[0])) return BadInput(what, text, "", help);
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
    return BadInput(kWhat, text,
                    "fractions are not accepted, use a smaller unit (1536MiB, not "
                    "1.5GiB)",
                    kSizeHelp);
  }
  const std::string suffix = absl::AsciiStrToLower(Clip(text, pos));
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
    return BadInput(
        kWhat, text,
        absl::StrCat("decimal suffix \"", Clip(text, pos),
                     "\" is ambiguous, use the binary one (\"", Clip(text, pos, 1), "iB\")"),
        kSizeHelp);
  } else {
    return BadInput(kWhat, text, absl::StrCat("unknown suffix ", QuoteInput(Clip(text, pos))),
                    kSizeHelp);
  }
  if (!fits || (shift > 0 && number > (std::numeric_limits<uint64_t>::max() >> shift))) {
    return BadInput(kWhat, text, "too large, the maximum is 2^64-1 bytes", kSizeHelp);
  }
  return number << shift;
}

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  constexpr char kWhat[] = "duration";
  constexpr uint64_t kMaxNanos = std::numeric_limits<int64_t>::max();
  auto too_large = [&] {
    return BadInput(kWhat, text, "too large, the maximum is 106751d (2^63-1 ns)", kDurationHelp);
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
    absl::string_view digits = Clip(text, start, pos - start);
    if (digits.empty()) {
      return BadInput(kWhat, text, "a digit must follow the decimal point", kDurationHelp);
    }
    while (!digits.empty() && digits.back() == '0') digits.remove_suffix(1);
    if (digits.size() > 9) {
      return BadInput(kWhat, text, "at most 9 decimal places are accepted", kDurationHelp);
    }
    for (size_t i = 0; i < 9; ++i) {
      billionths = billionths * 10 + (i < digits.size() ? digits[i] - '0' : 0);
    }
  }

  const std::string unit = absl::AsciiStrToLower(Clip(text, pos));
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
    return BadInput(kWhat, text, absl::StrCat("unknown unit ", QuoteInput(Clip(text, pos))),
                    kDurationHelp);
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
      return BadInput(kWhat, text, "it is not a whole number of nanoseconds", kDurationHelp);
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
  if (text.empty()) return BadInput(kWhat, text, "it is empty", kIpcKeyHelp);
  if (text[0] == '-') {
    return BadInput(kWhat, text, "a key cannot be negative", kIpcKeyHelp);
  }
  uint64_t value = 0;
  bool too_large = false;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    if (text.size() == 2) return BadInput(kWhat, text, "no digits after 0x", kIpcKeyHelp);
    for (size_t i = 2; i < text.size(); ++i) {
      const int digit = HexDigitValue(text[i]);
      if (digit < 0) {
        return BadInput(kWhat, text, absl::StrCat("not a hex digit at byte ", i), kIpcKeyHelp);
      }
      value = value * 16 + static_cast<uint64_t>(digit);
      if (value > 0xffffffffu) too_large = true;
      if (too_large) value = 0x100000000u;  // keep it from wrapping
    }
  } else {
    size_t pos = 0;
    if (!ConsumeDecimal(text, &pos, &value)) too_large = true;
    if (pos == 0 || pos != text.size()) {
      return BadInput(kWhat, text, "", kIpcKeyHelp);
    }
  }
  if (too_large || value > 0xffffffffu) {
    return BadInput(kWhat, text, "too large, keys are 32 bits", kIpcKeyHelp);
  }
  if (value == 0) {
    return BadInput(kWhat, text, "0 is IPC_PRIVATE, which cannot name a shared store", kIpcKeyHelp);
  }
  return static_cast<key_t>(static_cast<uint32_t>(value));
}

absl::StatusOr<uint64_t> ParseCount(absl::string_view text) {
  constexpr char kWhat[] = "count";
  if (absl::Status s = CheckLeadingDigit(kWhat, text, kCountHelp); !s.ok()) {
    return s;
  }
  size_t pos = 0;
  uint64_t whole = 0;
  bool fits = ConsumeDecimal(text, &pos, &whole);
  // The fraction's digits, scaled below once the unit is known.
  absl::string_view fraction;
  if (pos < text.size() && text[pos] == '.') {
    const size_t start = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    fraction = Clip(text, start, pos - start);
    if (fraction.empty()) {
      return BadInput(kWhat, text, "a digit must follow the decimal point", kCountHelp);
    }
  }
  const std::string suffix = absl::AsciiStrToLower(Clip(text, pos));
  int exponent = -1;
  if (suffix.empty()) {
    exponent = 0;
  } else if (suffix == "k") {
    exponent = 3;
  } else if (suffix == "m") {
    exponent = 6;
  } else if (suffix == "g") {
    exponent = 9;
  } else {
    return BadInput(kWhat, text, absl::StrCat("unknown suffix ", QuoteInput(Clip(text, pos))),
                    kCountHelp);
  }
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (fraction.size() > static_cast<size_t>(exponent)) {
    return BadInput(kWhat, text, "it is not a whole number", kCountHelp);
  }
  uint64_t value = whole;
  for (int i = 0; i < exponent; ++i) {
    const size_t digit_index = static_cast<size_t>(i);
    const uint64_t digit =
        digit_index < fraction.size() ? static_cast<uint64_t>(fraction[digit_index] - '0') : 0;
    if (__builtin_mul_overflow(value, uint64_t{10}, &value) ||
        __builtin_add_overflow(value, digit, &value)) {
      fits = false;
    }
  }
  if (!fits) return BadInput(kWhat, text, "too large, the maximum is 2^64-1", kCountHelp);
  return value;
}

bool ParseUnsigned(absl::string_view text, uint64_t max, bool allow_hex, uint64_t* out) {
  uint64_t base = 10;
  if (allow_hex && text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    const int digit = base == 16 ? HexDigitValue(c) : (IsDigit(c) ? c - '0' : -1);
    if (digit < 0) return false;
    if (__builtin_mul_overflow(value, base, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(digit), &value)) {
      return false;
    }
  }
  if (value > max) return false;
  *out = value;
  return true;
}

bool ParseSigned(absl::string_view text, int64_t* out) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  uint64_t magnitude = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (!ParseUnsigned(text, limit, /*allow_hex=*/false, &magnitude)) return false;
  // Two's complement negation of a magnitude of at most 2^63.
  *out = static_cast<int64_t>(negative ? ~magnitude + 1 : magnitude);
  return true;
}

}  // namespace shmkv::util
