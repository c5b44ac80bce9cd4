// Which keys keys, dump and del --prefix/--match work on (--prefix, --match,
// --escaped), and the walk over them through Store::Scan that those
// commands share.
#ifndef SHMKV_TOOLS_KVCLI_SELECTION_H_
#define SHMKV_TOOLS_KVCLI_SELECTION_H_

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "shmkv/store.h"
#include "tools/kvcli/context.h"

namespace shmkv {
namespace kvcli {

// Reads --prefix (unescaped under --escaped) and --match into *options.
// Returns InvalidArgument naming the flag for a bad value.
absl::Status SelectionFlags(const Context& ctx, ScanOptions* options);

// Whether --prefix or --match was given.
bool HasSelection(const Context& ctx);

// Passes every entry `options` selects to fn (with values if
// options.with_values), a page of Store::Scan at a time, until fn returns
// false or the walk ends.
absl::Status ScanEach(
    Store& store, const ScanOptions& options,
    absl::FunctionRef<bool(absl::string_view key, absl::string_view value, const EntryMeta& meta)>
        fn);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_SELECTION_H_
