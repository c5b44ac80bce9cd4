// kvcli get --through=ADDR: reads through the near cache in front of Redis
// (shmkv/near/near_cache.h), as programs using NearCache do.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "shmkv/near/near_cache.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {

int RunGetThrough(Context& ctx, const std::vector<std::string>& keys) {
  if (ctx.Has("meta")) return ctx.Usage("--meta does not go with --through; use --json");
  near::NearCacheOptions options;
  options.redis = *ctx.Get("through");
  return ctx.WithStore([&](Store& store) {
    absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
        near::NearCache::Create(&store, options);
    if (!cache.ok()) return ctx.Usage(absl::StrCat("--through: ", cache.status().message()));
    const bool json = ctx.Has("json");
    int exit = kExitOk;
    for (const std::string& key : keys) {
      near::ReadInfo info;
      absl::StatusOr<std::string> value = (*cache)->Get(key, &info);
      if (value.ok()) {
        if (json) {
          ctx.Write(JsonObject()
                        .Str("key", key)
                        .Str("key_b64", util::Base64(key))
                        .Str("value_b64", util::Base64(*value))
                        .U64("size", value->size())
                        .Bool("found", true)
                        .Str("path", near::ReadPathName(info.path))
                        .Str("bypass_reason", info.bypass_reason)
                        .Build() +
                    "\n");
        } else if (keys.size() == 1) {
          ctx.Write(*value);
        } else {
          ctx.Write(absl::StrCat(util::EscapeKey(key), "\t", util::EscapeKey(*value), "\n"));
        }
        continue;
      }
      const bool missing = absl::IsNotFound(value.status());
      if (json) {
        JsonObject object;
        object.Str("key", key).Str("key_b64", util::Base64(key)).Bool("found", false);
        if (!missing) object.Str("error", value.status().message());
        ctx.Write(object.Build() + "\n");
      }
      const int code = missing                                   ? kExitNotFound
                       : absl::IsInvalidArgument(value.status()) ? kExitUsage
                                                                 : kExitStore;
      exit = std::max(
          exit, ctx.Fail(code, missing ? absl::StrCat("key ", QuotedKey(key), " not found in Redis")
                                       : absl::StrCat("key ", QuotedKey(key), ": ",
                                                      value.status().message())));
    }
    if (int finished = ctx.Finish("cannot write the values to stdout"); finished != kExitOk) {
      return finished;
    }
    return exit;
  });
}

}  // namespace kvcli
}  // namespace shmkv
