// The library's messages say what to do in the API's terms (an Options
// field, a Store call); kvcli says the same in its own: its flags and
// commands.
#ifndef SHMKV_TOOLS_KVCLI_FLAG_TERMS_H_
#define SHMKV_TOOLS_KVCLI_FLAG_TERMS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace kvcli {

// `message` with each API term replaced by kvcli's flag or command; a
// command names the store `name` (nullptr: --key=KEY).
std::string InKvcliTerms(absl::string_view message, const StoreName* name);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_FLAG_TERMS_H_
