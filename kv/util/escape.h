// Printable, unambiguous forms of arbitrary bytes (keys in kvcli's output and
// arguments), and the error messages the text parsers of this package build
// around bad input.
#ifndef SHMKV_KV_UTIL_ESCAPE_H_
#define SHMKV_KV_UTIL_ESCAPE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shmkv::util {

// Makes any byte string printable and unambiguous: printable ASCII (0x20 to
// 0x7e) stays as is, a backslash becomes "\\", every other byte "\xHH" (lower
// case hex). UnescapeKey(EscapeKey(s)) == s for every s.
std::string EscapeKey(absl::string_view bytes);
// The inverse of EscapeKey. Accepts "\\", and "\xHH" with either case of hex
// digit; any other backslash sequence is an error.
absl::StatusOr<std::string> UnescapeKey(absl::string_view text);

// The value of a hex digit of either case, or -1.
int HexDigitValue(char c);

// Bad input quoted for an error message: escaped with EscapeKey, cut to 64
// bytes ("..." marks the cut), in double quotes.
std::string QuoteInput(absl::string_view text);

// InvalidArgument "bad <what> "<text>": <reason>; <help>" (without the
// reason and its "; " when `reason` is empty).
absl::Status BadInput(absl::string_view what, absl::string_view text, absl::string_view reason,
                      absl::string_view help);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_ESCAPE_H_
