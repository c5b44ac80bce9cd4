#include "tools/kvcli/selection.h"

#include <string>

namespace shmkv {
namespace kvcli {

absl::Status SelectionFlags(const Context& ctx, ScanOptions* options) {
  if (absl::Status s = ctx.PrefixFlag(&options->prefix); !s.ok()) return s;
  if (const std::string* glob = ctx.Get("match"); glob != nullptr) {
    if (glob->empty()) {
      return absl::InvalidArgumentError(
          "--match is empty; give a glob such as 'user:*' (or leave --match out)");
    }
    options->match = *glob;
  }
  return absl::OkStatus();
}

bool HasSelection(const Context& ctx) { return ctx.Has("prefix") || ctx.Has("match"); }

}  // namespace kvcli
}  // namespace shmkv
