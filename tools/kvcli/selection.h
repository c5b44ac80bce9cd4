// Which keys keys, dump and del --prefix/--match work on (--prefix, --match,
// --escaped); they walk them with Store::Walk or Store::Scan.
#ifndef SHMKV_TOOLS_KVCLI_SELECTION_H_
#define SHMKV_TOOLS_KVCLI_SELECTION_H_

#include "absl/status/status.h"
#include "shmkv/store.h"
#include "tools/kvcli/context.h"

namespace shmkv {
namespace kvcli {

// Reads --prefix (unescaped under --escaped) and --match into *options.
// Returns InvalidArgument naming the flag for a bad value.
absl::Status SelectionFlags(const Context& ctx, ScanOptions* options);

// Whether --prefix or --match was given.
bool HasSelection(const Context& ctx);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_SELECTION_H_
