// Parsing and formatting of kvcli's command-line values.
//
// Every parser is strict: the whole text must match (no surrounding spaces,
// no sign, no trailing junk) and every failure is an absl::InvalidArgument
// error that quotes the bad text (escaped with EscapeKey, cut to 64 bytes)
// and shows an example of good input, e.g.
//   bad size "12XB": unknown suffix "XB"; use bytes or a suffix K/KiB, M/MiB,
//   G/GiB, T/TiB (e.g. 64MiB)
#ifndef SHMKV_TOOLS_CLI_PARSE_H_
#define SHMKV_TOOLS_CLI_PARSE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace shmkv {
namespace cli {

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

// Makes any byte string printable and unambiguous: printable ASCII (0x20 to
// 0x7e) stays as is, a backslash becomes "\\", every other byte "\xHH" (lower
// case hex). UnescapeKey(EscapeKey(s)) == s for every s.
std::string EscapeKey(absl::string_view bytes);
// The inverse of EscapeKey. Accepts "\\", and "\xHH" with either case of hex
// digit; any other backslash sequence is an error.
absl::StatusOr<std::string> UnescapeKey(absl::string_view text);

// A quoted JSON string for arbitrary bytes. Well-formed UTF-8 is copied as is,
// except that '"' and '\' are escaped and control characters (U+0000..U+001F
// and U+007F) become \u00XX.
//
// LOSSY: a byte that is not part of well-formed UTF-8 (a stray continuation
// byte, an overlong form, a surrogate, a truncated sequence) also becomes
// \u00XX with XX = the byte, which a JSON reader decodes as the character
// U+00XX (Latin-1), not as the original byte. So "\xe9" and "é" both read back
// as "é". Use JsonString for display only; put bytes that must survive into
// JSON as Base64.
std::string JsonString(absl::string_view bytes);

// Standard base64 (RFC 4648 alphabet, with '=' padding): how binary values
// travel in kvcli's JSON output.
std::string Base64(absl::string_view bytes);

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

}  // namespace cli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_CLI_PARSE_H_
