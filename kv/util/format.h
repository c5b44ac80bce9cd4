// Human-readable byte counts and durations (the inverse of parse.h's parsers
// for durations).
#ifndef SHMKV_KV_UTIL_FORMAT_H_
#define SHMKV_KV_UTIL_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace shmkv::util {

// Human-readable byte count: "0 B", "512 B", "1.5 KiB", "64.0 MiB",
// "16.0 EiB" (one decimal, rounded to nearest, units up to EiB).
std::string FormatBytes(uint64_t bytes);

// Compact duration: the largest unit that divides it exactly for whole
// seconds ("2h", "90m", "30s", "1d"), otherwise decimal seconds ("1.5s") or,
// under one second, milliseconds ("500ms", "0.25ms"). Zero is "0s", infinite
// durations are "inf" / "-inf", negative ones get a leading '-', and
// fractions of a nanosecond are dropped. ParseDuration reads back every
// output for non-negative durations of at most 2^63-1 ns.
std::string FormatDuration(absl::Duration duration);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_FORMAT_H_
