// How kvcli shows values in its text output and messages. (--json output is
// written with json.h.)
#ifndef SHMKV_TOOLS_KVCLI_OUTPUT_H_
#define SHMKV_TOOLS_KVCLI_OUTPUT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace shmkv {
namespace kvcli {

std::string KeyHex(key_t key);            // "0x5f3e0001"
std::string ModeText(int mode);           // "0600"
std::string UserName(uid_t uid);          // "root", or "" if unknown
std::string TtlText(absl::Duration ttl);  // "30s", "none"
std::string ErrnoText(int err);           // "No such file or directory"
int64_t TtlMillis(absl::Duration ttl);    // -1 for never; >= 1 otherwise
// `message` with control characters (newlines included) shown as \xHH, so
// that every error stays on one line.
std::string OneLine(absl::string_view message);
// "1 entry", "2 entries": `n` and the word that goes with it.
std::string Plural(uint64_t n, absl::string_view one, absl::string_view many);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_OUTPUT_H_
