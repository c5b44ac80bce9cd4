#include "tools/kvcli/selection.h"

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/util/escape.h"

namespace shmkv {
namespace kvcli {

absl::Status SelectionFlags(const Context& ctx, ScanOptions* options) {
  if (const std::string* text = ctx.Get("prefix"); text != nullptr) {
    if (ctx.Has("escaped")) {
      absl::StatusOr<std::string> raw = util::UnescapeKey(*text);
      if (!raw.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--prefix (--escaped): ", raw.status().message()));
      }
      options->prefix = *std::move(raw);
    } else {
      options->prefix = *text;
    }
  }
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

absl::Status ScanEach(
    Store& store, const ScanOptions& options,
    absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) {
  constexpr size_t kPage = 256;
  uint64_t cursor = 0;
  bool more = true;
  do {
    absl::StatusOr<uint64_t> next =
        store.Scan(cursor, kPage, options,
                   [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
                     if (more) more = fn(key, value, meta);
                   });
    if (!next.ok()) return next.status();
    cursor = *next;
  } while (more && cursor != 0);
  return absl::OkStatus();
}

}  // namespace kvcli
}  // namespace shmkv
