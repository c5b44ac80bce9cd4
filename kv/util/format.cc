#include "kv/util/format.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shmkv::util {

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

}  // namespace shmkv::util
