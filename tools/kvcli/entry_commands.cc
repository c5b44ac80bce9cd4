// kvcli's commands on single entries (get, put, del, incr, touch) and on the
// list of keys (keys).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "kv/util/parse.h"
#include "kv/util/utf8.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/near_sync.h"
#include "tools/kvcli/output.h"
#include "tools/kvcli/selection.h"

namespace shmkv {
namespace kvcli {
namespace {}  // namespace

namespace {

// get --json's object for a found key.
JsonObject ValueJson(absl::string_view key, absl::string_view value, const EntryMeta& meta) {
  JsonObject json;
  json.Str("key", key).Str("key_b64", util::Base64(key));
  if (util::IsUtf8(value)) json.Str("value", value);
  json.Str("value_b64", util::Base64(value))
      .U64("size", value.size())
      .U64("version", meta.version)
      .U64("flags", meta.flags)
      .I64("ttl_ms", TtlMillis(meta.ttl_remaining))
      .I64("expires_at_ms", meta.expires_at_ms);
  return json;
}

std::string MissingKeyMessage(Context& ctx, absl::string_view key) {
  return absl::StrCat("no key ", QuotedKey(key), " in the store at ", ctx.name().ToString(),
                      " (never set, deleted, expired or evicted); kvcli keys lists the keys");
}

// get with several keys: one Store::GetMany. Prints a line per key found
// (its JSON object, or key and value escaped with a tab between), and a
// message on stderr for each key that is not; exit 1 if any is missing.
int RunGetMany(Context& ctx, const std::vector<std::string>& keys) {
  const bool json = ctx.Has("json");
  return ctx.WithStore([&](Store& store) {
    const std::vector<absl::string_view> views(keys.begin(), keys.end());
    std::vector<GetResult> results;
    if (absl::Status s = store.GetMany(views, &results); !s.ok()) return ctx.StoreFailure(s);
    int exit = kExitOk;
    for (size_t i = 0; i < keys.size(); ++i) {
      const GetResult& r = results[i];
      if (r.status.ok()) {
        if (json) {
          ctx.Write(ValueJson(keys[i], r.value, r.meta).Bool("found", true).Build() + "\n");
        } else {
          ctx.Write(absl::StrCat(util::EscapeKey(keys[i]), "\t", util::EscapeKey(r.value), "\n"));
        }
        continue;
      }
      const bool missing = absl::IsNotFound(r.status);
      if (json) {
        JsonObject object;
        object.Str("key", keys[i]).Str("key_b64", util::Base64(keys[i])).Bool("found", false);
        if (!missing) object.Str("error", r.status.message());
        ctx.Write(object.Build() + "\n");
      }
      const int code = missing                             ? kExitNotFound
                       : absl::IsInvalidArgument(r.status) ? kExitUsage
                                                           : kExitStore;
      exit = std::max(exit, ctx.Fail(code, missing ? MissingKeyMessage(ctx, keys[i])
                                                   : absl::StrCat("key ", QuotedKey(keys[i]), ": ",
                                                                  r.status.message())));
    }
    if (int finished = ctx.Finish("cannot write the values to stdout"); finished != kExitOk) {
      return finished;
    }
    return exit;
  });
}

}  // namespace

int RunGet(Context& ctx) {
  std::vector<std::string> keys(ctx.arg_count());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (absl::Status s = ctx.KeyArg(i, &keys[i]); !s.ok()) return ctx.Usage(s.message());
  }
  if (ctx.Has("through")) return RunGetThrough(ctx, keys);
  if (keys.size() > 1) {
    if (ctx.Has("meta")) return ctx.Usage("--meta takes one KEY; use --json for several");
    return RunGetMany(ctx, keys);
  }
  const std::string& key = keys[0];
  return ctx.WithStore([&](Store& store) {
    std::string value;
    EntryMeta meta;
    absl::Status status = store.Get(key, &value, &meta);
    if (absl::IsNotFound(status)) return ctx.Fail(kExitNotFound, MissingKeyMessage(ctx, key));
    if (!status.ok()) return ctx.StoreFailure(status);
    if (ctx.Has("json")) {
      ctx.Write(ValueJson(key, value, meta).Build() + "\n");
    } else {
      ctx.Write(value);
      if (ctx.Has("meta")) {
        std::fprintf(ctx.err(), "version=%llu flags=%u ttl=%s size=%zu\n",
                     static_cast<unsigned long long>(meta.version), meta.flags,
                     TtlText(meta.ttl_remaining).c_str(), value.size());
      }
    }
    return ctx.Finish("cannot write the value to stdout");
  });
}

namespace {

// Reads all of `in`, up to `limit` bytes (one more tells that it is larger).
absl::Status ReadAll(std::FILE* in, uint64_t limit, std::string* out) {
  out->clear();
  char buffer[65536];
  while (out->size() <= limit) {
    size_t n = std::fread(buffer, 1, sizeof(buffer), in);
    out->append(buffer, n);
    if (n < sizeof(buffer)) break;
  }
  if (std::ferror(in)) return absl::DataLossError("reading the value from stdin failed");
  return absl::OkStatus();
}

// Says what a plain write of `key` (done) means when the near cache tracks it.
void WarnIfNearTracked(Context& ctx, Store& store, absl::string_view key, absl::string_view verb) {
  if (std::string warning = NearTrackedWriteWarning(store, key, verb); !warning.empty()) {
    ctx.Warn(warning);
  }
}

}  // namespace

int RunPut(Context& ctx) {
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  WriteOptions options;
  if (absl::Status s = ctx.TtlFlag("ttl", &options.ttl); !s.ok()) return ctx.Usage(s.message());
  uint64_t flags = 0;
  if (absl::Status s = ctx.UnsignedFlag("flags", UINT32_MAX, true, &flags); !s.ok()) {
    return ctx.Usage(s.message());
  }
  options.flags = static_cast<uint32_t>(flags);
  const int conditions =
      (ctx.Has("if-absent") ? 1 : 0) + (ctx.Has("if-present") ? 1 : 0) + (ctx.Has("cas") ? 1 : 0);
  if (conditions > 1) return ctx.Usage("give at most one of --if-absent, --if-present, --cas");
  if (ctx.Has("if-absent")) options.condition = WriteCondition::kIfAbsent;
  if (ctx.Has("if-present")) options.condition = WriteCondition::kIfPresent;
  if (ctx.Has("cas")) {
    options.condition = WriteCondition::kIfVersion;
    if (absl::Status s = ctx.UnsignedFlag("cas", UINT64_MAX, false, &options.expected_version);
        !s.ok()) {
      return ctx.Usage(s.message());
    }
  }
  const bool from_stdin = ctx.arg(1) == "-";
  return ctx.WithStore([&](Store& store) {
    std::string value;
    if (from_stdin) {
      uint64_t limit = uint64_t{1} << 31;
      if (absl::StatusOr<StoreInfo> info = store.Info(); info.ok()) limit = info->max_value_size;
      if (absl::Status s = ReadAll(ctx.in(), limit, &value); !s.ok()) {
        return ctx.Fail(kExitStore, s.message());
      }
      if (value.size() > limit) {
        return ctx.Fail(kExitStore,
                        absl::StrCat("the value on stdin is over this store's maximum of ", limit,
                                     " bytes; store smaller values or create the store with a "
                                     "larger --max-value"));
      }
    } else {
      value = ctx.arg(1);
    }
    absl::Status status = store.Put(key, value, options);
    if (status.ok()) {
      WarnIfNearTracked(ctx, store, key, "put");
      return kExitOk;
    }
    switch (options.condition) {
      case WriteCondition::kIfAbsent:
        if (absl::IsAlreadyExists(status)) {
          return ctx.Fail(kExitNotFound, absl::StrCat("key ", QuotedKey(key),
                                                      " already exists (--if-absent); nothing "
                                                      "was stored"));
        }
        break;
      case WriteCondition::kIfPresent:
        if (absl::IsNotFound(status)) {
          return ctx.Fail(kExitNotFound, absl::StrCat("no key ", QuotedKey(key),
                                                      " (--if-present); nothing was stored"));
        }
        break;
      case WriteCondition::kIfVersion:
        if (absl::IsNotFound(status)) {
          return ctx.Fail(kExitNotFound, absl::StrCat("no key ", QuotedKey(key),
                                                      " (--cas needs an existing entry); nothing "
                                                      "was stored"));
        }
        if (absl::IsFailedPrecondition(status) && !IsStoreDestroyed(status)) {
          return ctx.Fail(kExitNotFound,
                          absl::StrCat("key ", QuotedKey(key), ": ", status.message(),
                                       " (--cas); nothing was stored; read the current version "
                                       "with kvcli get --meta"));
        }
        break;
      case WriteCondition::kAlways:
        break;
    }
    return ctx.StoreFailure(status);
  });
}

namespace {

// The exit code of del or touch (`verb`) on `key`, after reporting failure:
// 1 when the key is missing.
int KeyOpExit(Context& ctx, const absl::Status& status, absl::string_view key,
              absl::string_view verb) {
  if (absl::IsNotFound(status)) {
    return ctx.Fail(kExitNotFound, absl::StrCat("no key ", QuotedKey(key), " to ", verb));
  }
  if (!status.ok()) return ctx.StoreFailure(status);
  return kExitOk;
}

}  // namespace

namespace {

// kvcli del --prefix=P / --match=GLOB [--dry-run].
int DeleteSelected(Context& ctx) {
  ScanOptions options;
  if (absl::Status s = SelectionFlags(ctx, &options); !s.ok()) return ctx.Usage(s.message());
  if (options.prefix.empty() && options.match.empty()) {
    return ctx.Usage(
        "--prefix is empty, which selects every key; to delete everything use kvcli flush");
  }
  const bool dry_run = ctx.Has("dry-run");
  return ctx.WithStore([&](Store& store) {
    if (dry_run) {
      uint64_t selected = 0;
      bool write_ok = true;
      absl::Status walk =
          store.Walk(options, [&](absl::string_view key, absl::string_view, const EntryMeta&) {
            write_ok = ctx.Write(absl::StrCat(util::EscapeKey(key), "\n"));
            ++selected;
            return write_ok;
          });
      if (!walk.ok()) return ctx.StoreFailure(walk);
      if (!write_ok) return ctx.Fail(kExitStore, "cannot write to stdout");
      ctx.Write(absl::StrCat("would delete ", Plural(selected, "entry", "entries"),
                             " (dry run: nothing was deleted)\n"));
      return ctx.Finish();
    }
    absl::StatusOr<uint64_t> removed = store.DeleteMatching(options);
    if (!removed.ok()) return ctx.StoreFailure(removed.status());
    ctx.Write(absl::StrCat("deleted ", Plural(*removed, "entry", "entries"), "\n"));
    return ctx.Finish();
  });
}

}  // namespace

int RunDel(Context& ctx) {
  if (HasSelection(ctx)) {
    if (ctx.arg_count() > 0) {
      return ctx.Usage(absl::StrCat("give either KEY (\"", Quote(ctx.arg(0)),
                                    "\") or --prefix/--match, not both"));
    }
    return DeleteSelected(ctx);
  }
  if (ctx.Has("dry-run")) return ctx.Usage("--dry-run goes with --prefix=P or --match=GLOB");
  if (ctx.arg_count() == 0) {
    return ctx.Usage("missing KEY; or give --prefix=P or --match=GLOB to delete many keys");
  }
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  return ctx.WithStore(
      [&](Store& store) { return KeyOpExit(ctx, store.Delete(key), key, "delete"); });
}

int RunIncr(Context& ctx) {
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  int64_t delta = 1;
  if (ctx.arg_count() > 1 && !util::ParseSigned(ctx.arg(1), &delta)) {
    return ctx.Usage(
        absl::StrCat("DELTA \"", Quote(ctx.arg(1)), "\" is not a whole number (e.g. 5 or -3)"));
  }
  IncrementOptions options;
  if (absl::Status s = ctx.SignedFlag("init", &options.initial); !s.ok()) {
    return ctx.Usage(s.message());
  }
  if (absl::Status s = ctx.TtlFlag("ttl", &options.ttl); !s.ok()) return ctx.Usage(s.message());
  return ctx.WithStore([&](Store& store) {
    absl::StatusOr<int64_t> result = store.Increment(key, delta, options);
    if (result.ok()) WarnIfNearTracked(ctx, store, key, "incr");
    if (absl::IsFailedPrecondition(result.status()) && !IsStoreDestroyed(result.status())) {
      return ctx.Fail(kExitNotFound,
                      absl::StrCat("key ", QuotedKey(key), ": ", result.status().message()));
    }
    if (!result.ok()) return ctx.StoreFailure(result.status());
    ctx.Write(absl::StrCat(*result, "\n"));
    return ctx.Finish();
  });
}

int RunTouch(Context& ctx) {
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  if (!ctx.Has("ttl")) return ctx.Usage("missing --ttl (e.g. --ttl=30m, or --ttl=none)");
  absl::Duration ttl;
  if (absl::Status s = ctx.TtlFlag("ttl", &ttl); !s.ok()) return ctx.Usage(s.message());
  return ctx.WithStore([&](Store& store) {
    absl::Status touched = store.Touch(key, ttl);
    if (touched.ok()) WarnIfNearTracked(ctx, store, key, "touch");
    return KeyOpExit(ctx, touched, key, "touch");
  });
}

namespace {

// keys --top: bigkeys by another name, once its flags are checked.
int RunKeysTop(Context& ctx) {
  if (!ctx.Has("top")) return ctx.Usage("--by orders --top: add --top=N");
  if (const std::string* by = ctx.Get("by"); by != nullptr && *by != "size") {
    return ctx.Usage(
        absl::StrCat("--by=\"", Quote(*by), "\" is not an order keys --top knows; use --by=size"));
  }
  for (const char* other : {"match", "limit", "cursor", "count", "long"}) {
    if (ctx.Has(other)) {
      return ctx.Usage(absl::StrCat("--", other,
                                    " does not go with --top (the largest entries, "
                                    "narrowed only by --prefix)"));
    }
  }
  return RunBigkeys(ctx);
}

// How keys lists: the selection, and --limit or one page of --cursor.
struct KeysListing {
  ScanOptions options;
  uint64_t limit = 0;  // 0: no limit
  bool paged = false;
  uint64_t cursor = 0, count = 10;
};

// The listing's flags, checked. 0, or the exit code after reporting.
int ParseKeysListing(Context& ctx, KeysListing* listing) {
  if (absl::Status s = SelectionFlags(ctx, &listing->options); !s.ok()) {
    return ctx.Usage(s.message());
  }
  if (ctx.Has("limit")) {
    if (absl::Status s = ctx.UnsignedFlag("limit", UINT64_MAX, false, &listing->limit); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (listing->limit == 0) return ctx.Usage("--limit must be at least 1");
  }
  listing->paged = ctx.Has("cursor");
  if (listing->paged) {
    if (ctx.Has("limit")) {
      return ctx.Usage("--limit and --cursor do not go together; page size is --count=N");
    }
    if (!util::ParseUnsigned(*ctx.Get("cursor"), UINT64_MAX, false, &listing->cursor)) {
      return ctx.Usage(absl::StrCat("--cursor=\"", Quote(*ctx.Get("cursor")),
                                    "\" is not a cursor: give 0 to start, then the number the "
                                    "previous page printed last"));
    }
    if (absl::Status s = ctx.UnsignedFlag("count", UINT32_MAX, false, &listing->count); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (listing->count == 0) return ctx.Usage("--count must be at least 1");
  } else if (ctx.Has("count")) {
    return ctx.Usage("--count is the page size of --cursor: add --cursor=0 to page through keys");
  }
  return 0;
}

// One key's line: escaped, --long's columns, or --json's object.
std::string KeyLine(absl::string_view key, const EntryMeta& meta, bool json, bool long_form) {
  if (json) {
    JsonObject object;
    object.Str("key", key)
        .Str("key_b64", util::Base64(key))
        .Str("key_escaped", util::EscapeKey(key))
        .U64("size", meta.value_size)
        .I64("ttl_ms", TtlMillis(meta.ttl_remaining))
        .U64("version", meta.version)
        .U64("flags", meta.flags);
    return object.Build() + "\n";
  }
  if (long_form) {
    return absl::StrFormat("%10d %10s %20d %10d  %s\n", meta.value_size,
                           TtlText(meta.ttl_remaining), meta.version, meta.flags,
                           util::EscapeKey(key));
  }
  return absl::StrCat(util::EscapeKey(key), "\n");
}

// Prints the keys `listing` selects from `store`.
int ListKeys(Context& ctx, Store& store, const KeysListing& listing) {
  const bool json = ctx.Has("json");
  const bool long_form = ctx.Has("long");
  uint64_t listed = 0;
  bool write_ok = true;
  if (long_form && !json) {
    write_ok = ctx.Write(
        absl::StrFormat("%10s %10s %20s %10s  %s\n", "SIZE", "TTL", "VERSION", "FLAGS", "KEY"));
  }
  auto print = [&](absl::string_view key, absl::string_view, const EntryMeta& meta) {
    if (write_ok) write_ok = ctx.Write(KeyLine(key, meta, json, long_form));
    ++listed;
    return write_ok && (listing.limit == 0 || listed < listing.limit);
  };
  if (listing.paged) {
    absl::StatusOr<uint64_t> next =
        store.Scan(listing.cursor, listing.count, listing.options,
                   [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
                     print(key, value, meta);
                   });
    if (!next.ok()) return ctx.StoreFailure(next.status());
    if (json) {
      write_ok = ctx.Write(JsonObject().Str("next_cursor", absl::StrCat(*next)).Build() + "\n");
    } else {
      write_ok = ctx.Write(absl::StrCat("next cursor: ", *next, "\n"));
    }
  } else if (absl::Status status = store.Walk(listing.options, print); !status.ok()) {
    return ctx.StoreFailure(status);
  }
  if (!write_ok) return ctx.Fail(kExitStore, "cannot write to stdout");
  return ctx.Finish();
}

}  // namespace

int RunKeys(Context& ctx) {
  if (ctx.Has("top") || ctx.Has("by")) return RunKeysTop(ctx);
  KeysListing listing;
  if (int code = ParseKeysListing(ctx, &listing)) return code;
  return ctx.WithStore([&](Store& store) { return ListKeys(ctx, store, listing); });
}

}  // namespace kvcli
}  // namespace shmkv
