// kvcli bigkeys: the entries with the largest values (LargestEntries).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "shmkv/store_stats.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {

int RunBigkeys(Context& ctx) {
  std::string prefix;
  if (absl::Status s = ctx.PrefixFlag(&prefix); !s.ok()) return ctx.Usage(s.message());
  uint64_t top = 10;
  if (absl::Status s = ctx.UnsignedFlag("top", 1000000, false, &top); !s.ok()) {
    return ctx.Usage(s.message());
  }
  if (top == 0) return ctx.Usage("--top must be at least 1");
  return ctx.WithStore([&](Store& store) {
    absl::StatusOr<std::vector<LargeEntry>> largest = LargestEntries(store, top, prefix);
    if (!largest.ok()) return ctx.StoreFailure(largest.status());
    std::string text;
    if (!ctx.Has("json")) {
      text = absl::StrFormat("%12s %8s %10s  %s\n", "VALUE_SIZE", "KEY_SIZE", "TTL", "KEY");
    }
    for (const LargeEntry& e : *largest) {
      if (ctx.Has("json")) {
        JsonObject object;
        object.Str("key", e.key)
            .Str("key_b64", util::Base64(e.key))
            .Str("key_escaped", util::EscapeKey(e.key))
            .U64("value_size", e.value_size)
            .U64("key_size", e.key_size)
            .I64("ttl_ms", TtlMillis(e.ttl_remaining));
        absl::StrAppend(&text, object.Build(), "\n");
      } else {
        absl::StrAppend(&text, absl::StrFormat("%12d %8d %10s  %s\n", e.value_size, e.key_size,
                                               TtlText(e.ttl_remaining), util::EscapeKey(e.key)));
      }
    }
    ctx.Write(text);
    return ctx.Finish();
  });
}

}  // namespace kvcli
}  // namespace shmkv
