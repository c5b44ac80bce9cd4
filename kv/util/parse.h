// Parsers for command-line values: sizes, durations, IPC keys.
//
// Every parser is strict: the whole text must match (no surrounding spaces,
// no sign, no trailing junk) and every failure is an absl::InvalidArgument
// error that quotes the bad text (escaped with EscapeKey, cut to 64 bytes)
// and shows an example of good input, e.g.
//   bad size "12XB": unknown suffix "XB"; use bytes or a suffix K/KiB, M/MiB,
//   G/GiB, T/TiB (e.g. 64MiB)
#ifndef SHMKV_KV_UTIL_PARSE_H_
#define SHMKV_KV_UTIL_PARSE_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace shmkv::util {

// A byte count: decimal digits with an optional binary suffix, matched
// case-insensitively: K or KiB (2^10), M or MiB (2^20), G or GiB (2^30),
// T or TiB (2^40). "4096", "64KiB", "64mib", "1G". Decimal-unit suffixes
// (KB, MB, ...), fractions ("1.5GiB"), signs and values above 2^64-1 are
// refused.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// A non-negative duration: a decimal number (up to 9 decimal places) with an
// optional unit, matched case-insensitively: ms, s, m (minutes), h, d; a bare
// number is seconds. "500ms", "30s", "1.5s", "5m", "2h", "1d", "0". Values
// that are not a whole number of nanoseconds or exceed 2^63-1 ns (about 292
// years) are refused, as are signs and compound forms ("1h30m").
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// A System V IPC key: hex with a 0x/0X prefix ("0x5f3e0001") or decimal, in
// 1..0xffffffff. The result has the same 32-bit pattern (so 0xffffffff is -1
// as a key_t). 0 is IPC_PRIVATE and is refused.
absl::StatusOr<key_t> ParseIpcKey(absl::string_view text);

// A count of things (kvbench's --keys, --ops): decimal digits with an
// optional fraction and an optional decimal suffix, matched
// case-insensitively: k (10^3), M (10^6), G (10^9). "1000000", "1M", "250k",
// "1.5M". The result must be a whole number ("1.5" and "1.0001k" are
// refused), at most 2^64-1. Unlike ParseSize, the units are powers of 1000:
// these count items, not bytes.
absl::StatusOr<uint64_t> ParseCount(absl::string_view text);

// Strict integers for flag values, for callers that word their own message:
// the whole text must match, with no spaces and no '+'.
// Decimal digits, or hex after 0x/0X when allow_hex; the value at most `max`.
bool ParseUnsigned(absl::string_view text, uint64_t max, bool allow_hex, uint64_t* out);
// An optional '-' then decimal digits, within int64.
bool ParseSigned(absl::string_view text, int64_t* out);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_PARSE_H_
