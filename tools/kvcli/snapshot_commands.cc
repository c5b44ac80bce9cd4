// kvcli load: reads a snapshot (kv/snapshot, binary or JSON lines) into a
// store, refusing one that is damaged or does not fit. (kvcli dump is in
// dump_command.cc.)
#include <errno.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kv/snapshot/snapshot.h"
#include "shmkv/admin.h"
#include "shmkv/near/sync_state.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/context.h"
#include "tools/kvcli/help.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

// Calls `fn` for each record of the snapshot in `file` (from its current
// position), stopping at the first error. Messages name the input.
absl::Status ForEachRecord(std::FILE* file, SnapshotFormat format, const std::string& input,
                           const std::function<absl::Status(const SnapshotRecord&)>& fn) {
  SnapshotRecord record;
  if (format == SnapshotFormat::kBinary) {
    absl::StatusOr<SnapshotReader> reader = SnapshotReader::Open(file);
    if (!reader.ok()) {
      return absl::Status(reader.status().code(),
                          absl::StrCat(input, ": ", reader.status().message()));
    }
    for (;;) {
      absl::StatusOr<bool> more = reader->Next(&record);
      if (!more.ok()) {
        return absl::Status(more.status().code(),
                            absl::StrCat(input, ": ", more.status().message()));
      }
      if (!*more) return absl::OkStatus();
      if (absl::Status s = fn(record); !s.ok()) return s;
    }
  }
  char* buffer = nullptr;
  size_t capacity = 0;
  uint64_t line_number = 0;
  absl::Status status;
  for (;;) {
    errno = 0;
    ssize_t n = getline(&buffer, &capacity, file);
    if (n < 0) {
      if (std::ferror(file)) {
        status = absl::DataLossError(absl::StrCat("cannot read ", input, ": ", ErrnoText(errno)));
      }
      break;
    }
    ++line_number;
    absl::string_view line(buffer, static_cast<size_t>(n));
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    record = SnapshotRecord();
    status = ParseJsonlLine(line, &record);
    if (!status.ok()) {
      status = absl::Status(status.code(),
                            absl::StrCat(input, " line ", line_number, ": ", status.message()));
      break;
    }
    status = fn(record);
    if (!status.ok()) break;
  }
  std::free(buffer);
  return status;
}

// What a load leaves out: the keys shmkv reserves (kvsync's record: a
// restored one would replace the running kvsync's) and the near cache's
// entries, the keys under a prefix that the snapshot's sync record or the
// store's own tracks (Redis's values as of the dump, whose invalidations
// may have been applied since).
class NearSkip {
 public:
  // Pass 1: the snapshot's sync record names the prefixes it tracked.
  void Learn(const SnapshotRecord& record) {
    if (record.key != near::kSyncStateKey) return;
    if (absl::StatusOr<near::SyncState> state = near::ParseSyncState(record.value); state.ok()) {
      Add(state->prefixes);
    }
  }
  // The prefixes the store's own kvsync tracks (none if it never ran).
  void LearnStore(Store& store) {
    if (absl::StatusOr<near::SyncState> state = near::ReadSyncState(store); state.ok()) {
      Add(state->prefixes);
    }
  }
  bool Skips(absl::string_view key) const {
    if (absl::StartsWith(key, near::kReservedKeyPrefix)) return true;
    for (const std::string& p : prefixes_) {
      if (absl::StartsWith(key, p)) return true;
    }
    return false;
  }

 private:
  void Add(const std::vector<std::string>& prefixes) {
    prefixes_.insert(prefixes_.end(), prefixes.begin(), prefixes.end());
  }
  std::vector<std::string> prefixes_;
};

// The most input a snapshot of a store with `capacity` arena bytes can take:
// each entry needs at least 32 arena bytes, and a JSON line writes a key byte
// as at most 6 characters (\u00XX), a value byte as 4/3 (base64), and some
// 200 more for the field names, TTL and flags. 16 times the capacity bounds
// that with room.
uint64_t MaxSnapshotBytes(uint64_t capacity) { return 16 * capacity + (uint64_t{1} << 20); }

// Copies `in` into an unnamed temporary file, so stdin can be read twice;
// refuses input longer than `limit` bytes.
absl::StatusOr<std::FILE*> SpoolToTempFile(std::FILE* in, uint64_t limit) {
  std::FILE* temp = std::tmpfile();
  if (temp == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a temporary file for stdin: ", ErrnoText(errno)));
  }
  char buffer[65536];
  size_t n;
  uint64_t spooled = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), in)) > 0) {
    spooled += n;
    if (spooled > limit) {
      std::fclose(temp);
      return absl::ResourceExhaustedError(absl::StrCat(
          "stdin gave more than ", limit,
          " bytes, more than any snapshot of this store can be (16 times its capacity); nothing "
          "was loaded; check what is piped in, or load a file with --in=FILE"));
    }
    if (std::fwrite(buffer, 1, n, temp) != n) {
      std::fclose(temp);
      return absl::UnavailableError(
          absl::StrCat("cannot spool stdin to a temporary file: ", ErrnoText(errno)));
    }
  }
  if (std::ferror(in)) {
    std::fclose(temp);
    return absl::DataLossError("reading stdin failed");
  }
  std::rewind(temp);
  return temp;
}

// What a snapshot's unexpired entries take in a store: their keys (one
// buffer, to hold a million small keys cheaply) and value sizes, for
// CheckFit, which places each in its stripe.
struct Demand {
  std::string key_bytes;
  std::vector<size_t> key_ends;
  std::vector<uint64_t> value_sizes;
  uint64_t bytes = 0;  // EntryBytes of each, as if every key were new

  void Add(const SnapshotRecord& record) {
    key_bytes.append(record.key);
    key_ends.push_back(key_bytes.size());
    value_sizes.push_back(record.value.size());
    bytes += EntryBytes(record.key.size(), record.value.size());
  }
  uint64_t entries() const { return value_sizes.size(); }
  std::vector<absl::string_view> Keys() const {
    std::vector<absl::string_view> keys(key_ends.size());
    for (size_t i = 0, begin = 0; i < keys.size(); begin = key_ends[i++]) {
      keys[i] = absl::string_view(key_bytes).substr(begin, key_ends[i] - begin);
    }
    return keys;
  }
};

// A capacity for a new store that holds the demand and what the store
// holds: enough for the fullest stripe in every stripe, and 8/7 of the
// total for the uneven spread of a store of another stripe count.
std::string SuggestedCapacity(const Demand& demand, const FitReport& fit, const StoreInfo& info,
                              const StoreStats& stats) {
  const uint64_t total = (stats.bytes_used + demand.bytes) / 7 * 8;
  const uint64_t bytes = std::max(total, fit.largest_stripe_need * info.lock_stripes);
  const uint64_t mib = (bytes >> 20) + 1;
  return absl::StrCat(mib, "MiB");
}

class ScopedFile {
 public:
  explicit ScopedFile(std::FILE* file) : file_(file) {}
  ~ScopedFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  ScopedFile(const ScopedFile&) = delete;
  ScopedFile& operator=(const ScopedFile&) = delete;
  std::FILE* get() const { return file_; }

 private:
  std::FILE* file_;
};

// Refuses (and returns the exit code) when the store would refuse or
// evict for any of the demand's entries, as CheckFit finds by placing each
// key in its stripe; a store made by --create for the load is removed
// again. 0 when all of it fits.
int RefuseWhatDoesNotFit(Context& ctx, std::unique_ptr<Store>& store, const StoreInfo& info,
                         const Demand& demand, const std::string& input, bool create) {
  absl::StatusOr<FitReport> fit = store->CheckFit(demand.Keys(), demand.value_sizes);
  if (!fit.ok()) return ctx.StoreFailure(fit.status());
  if (fit->fits) return 0;
  absl::StatusOr<StoreStats> stats = store->Stats();
  if (!stats.ok()) return ctx.StoreFailure(stats.status());
  std::string message = absl::StrCat(
      input, " has ", Plural(demand.entries(), "entry", "entries"), " (", demand.bytes,
      " bytes) that the store cannot take beside what it holds (", stats->bytes_used, " of ",
      info.capacity, " bytes in use) without ", info.evict ? "evicting" : "refusing writes",
      ": the store places each key in one of its ", info.lock_stripes, " lock stripes, and ",
      fit->why,
      fit->stripes_over > 1 ? absl::StrCat(" (", fit->stripes_over, " stripes overflow)") : "",
      "; nothing was loaded");
  const std::string capacity = SuggestedCapacity(demand, *fit, info, *stats);
  if (create) {
    store.reset();
    (void)Store::Destroy(ctx.name());
    absl::StrAppend(&message,
                    " and the new store was removed: create it with --capacity=", capacity,
                    " or more (and --items=", demand.entries() * 2, " for many small entries)");
  } else {
    absl::StrAppend(&message, ": load into a larger store (--create --capacity=", capacity,
                    "), flush this one first",
                    info.evict ? ", or pass --allow-evict to let the load evict entries" : "");
  }
  return ctx.Fail(kExitStore, message);
}

// What pass 1 learns of a snapshot while it verifies it.
struct Verified {
  uint64_t total = 0;
  size_t longest_key = 0, largest_value = 0;
  Demand demand;  // the unexpired entries
  NearSkip near_skip;
};

// What pass 2 did.
struct Loaded {
  uint64_t loaded = 0, expired = 0, index = 0, near_skipped = 0;
};

// The arguments: --in, and the create flags only with --create. 0, or the
// exit code after reporting.
int CheckLoadArgs(Context& ctx, bool create, Options* create_options) {
  const std::string* in = ctx.Get("in");
  if (in == nullptr) return ctx.Usage("missing --in=FILE (or --in=- for stdin)");
  if (in->empty()) return ctx.Usage("--in is empty; give a snapshot file, or - for stdin");
  if (create) {
    if (int code = ctx.ResolveCreateOptions(create_options)) return code;
  } else {
    for (const char* flag : kCreateFlags) {
      if (ctx.Has(flag)) {
        return ctx.Usage(absl::StrCat("--", flag,
                                      " sets up a new store: add --create, or drop it "
                                      "to load into the existing store"));
      }
    }
  }
  if (create && ctx.Has("allow-evict") && !create_options->evict) {
    return ctx.Usage(
        "--allow-evict with --no-evict: a store that does not evict refuses what does not fit, "
        "so the load could stop half-way; drop one of them");
  }
  return 0;
}

// Opens the existing store to load into (before a large file is read, so a
// wrong --key fails first). 0, or the exit code after reporting.
int OpenStoreToLoad(Context& ctx, std::unique_ptr<Store>* store) {
  absl::StatusOr<std::unique_ptr<Store>> opened = ctx.Open(OpenMode::kAttach, ctx.open_options());
  if (absl::IsNotFound(opened.status())) {
    return ctx.Fail(kExitStore, absl::StrCat(opened.status().message(),
                                             "; or add --create (with --capacity) to load"));
  }
  if (!opened.ok()) return ctx.StoreFailure(opened.status());
  *store = *std::move(opened);
  absl::StatusOr<StoreInfo> info = (*store)->Info();
  if (!info.ok()) return ctx.StoreFailure(info.status());
  if (ctx.Has("allow-evict") && !info->evict) {
    return ctx.Fail(kExitStore,
                    "--allow-evict: this store does not evict (it was created with "
                    "--no-evict), so a snapshot that does not fit would stop half-way; "
                    "nothing was loaded: drop --allow-evict to load only a snapshot that fits, "
                    "or flush the store first");
  }
  return 0;
}

// Opens --in: the file, or stdin spooled to a temporary file (bounded by
// the capacity of `store`, or of the store `create_options` would make when
// it is null). 0, or the exit code after reporting.
int OpenLoadInput(Context& ctx, const std::string& in, Store* store, const Options& create_options,
                  std::FILE** file) {
  if (in != "-") {
    *file = std::fopen(in.c_str(), "rb");
    if (*file != nullptr) return 0;
    return ctx.Fail(kExitStore, absl::StrCat("cannot open --in=", in, ": ", ErrnoText(errno)));
  }
  uint64_t capacity = 0;
  if (store != nullptr) {
    absl::StatusOr<StoreInfo> info = store->Info();
    if (!info.ok()) return ctx.StoreFailure(info.status());
    capacity = info->capacity;
  } else {
    absl::StatusOr<StorePlan> plan = PlanStore(create_options);
    if (!plan.ok()) return ctx.Usage(plan.status().message());
    capacity = plan->capacity;
  }
  absl::StatusOr<std::FILE*> spooled = SpoolToTempFile(ctx.in(), MaxSnapshotBytes(capacity));
  if (!spooled.ok()) return ctx.Fail(kExitStore, spooled.status().message());
  *file = *spooled;
  return 0;
}

// The snapshot's format, from its first bytes. 0, or the exit code after
// reporting a file that is no snapshot.
int DetectLoadFormat(Context& ctx, std::FILE* file, const std::string& input,
                     SnapshotFormat* format) {
  std::string head(4096, '\0');
  head.resize(std::fread(&head[0], 1, head.size(), file));
  std::rewind(file);
  *format = DetectSnapshotFormat(head);
  if (*format != SnapshotFormat::kUnknown) return 0;
  return ctx.Fail(kExitStore, absl::StrCat(input,
                                           " is not a kvcli snapshot (neither the binary format "
                                           "nor JSON lines); make one with kvcli dump"));
}

// Pass 1: verifies the whole file, so that a damaged snapshot loads nothing,
// and rewinds it. 0, or the exit code after reporting.
int VerifySnapshot(Context& ctx, std::FILE* file, SnapshotFormat format, const std::string& input,
                   Verified* v) {
  absl::Status verified = ForEachRecord(file, format, input, [&](const SnapshotRecord& record) {
    ++v->total;
    v->near_skip.Learn(record);
    v->longest_key = std::max(v->longest_key, record.key.size());
    v->largest_value = std::max(v->largest_value, record.value.size());
    if (record.ttl_remaining_ms != 0) v->demand.Add(record);
    return absl::OkStatus();
  });
  if (!verified.ok()) {
    return ctx.Fail(kExitStore, absl::StrCat(verified.message(), "; nothing was loaded"));
  }
  if (format == SnapshotFormat::kJsonl && v->total == 0 && !ctx.Has("allow-empty")) {
    return ctx.Fail(
        kExitStore,
        absl::StrCat(input,
                     " holds no entries (it is empty or blank), so it is no snapshot "
                     "of a store; nothing was loaded; pass --allow-empty to accept it"));
  }
  std::rewind(file);
  return 0;
}

// Refuses a snapshot with a key or value over the store's limits (it would
// stop the load half-way); a store made by --create for the load is removed
// again. 0 when none is over.
int RefuseOverLimits(Context& ctx, std::unique_ptr<Store>& store, const StoreInfo& info,
                     const Verified& v, const std::string& input, bool create) {
  if (v.longest_key <= info.max_key_size && v.largest_value <= info.max_value_size) return 0;
  std::string message =
      v.longest_key > info.max_key_size
          ? absl::StrCat(input, " has a key of ", v.longest_key,
                         " bytes but the store takes keys of up to ", info.max_key_size,
                         " bytes (--max-key)")
          : absl::StrCat(input, " has a value of ", v.largest_value,
                         " bytes but the store takes values of up to ", info.max_value_size,
                         " bytes (--max-value; small stores lower it)");
  if (create) {
    store.reset();
    (void)Store::Destroy(ctx.name());
    absl::StrAppend(&message,
                    "; nothing was loaded and the new store was removed: create it "
                    "with larger limits");
  } else {
    absl::StrAppend(&message, "; nothing was loaded: load into a store created with larger limits");
  }
  return ctx.Fail(kExitStore, message);
}

// Pass 2: stores each record but the near cache's and the expired ones.
absl::Status StoreRecords(Store& store, std::FILE* file, SnapshotFormat format,
                          const std::string& input, const Verified& v, Loaded* done) {
  return ForEachRecord(file, format, input, [&](const SnapshotRecord& record) {
    ++done->index;
    if (v.near_skip.Skips(record.key)) {
      ++done->near_skipped;
      return absl::OkStatus();
    }
    if (record.ttl_remaining_ms == 0) {
      ++done->expired;
      return absl::OkStatus();
    }
    WriteOptions options;
    options.flags = record.flags;
    options.ttl = record.ttl_remaining_ms < 0 ? absl::InfiniteDuration()
                                              : absl::Milliseconds(record.ttl_remaining_ms);
    absl::Status put = store.Put(record.key, record.value, options);
    if (!put.ok()) {
      return absl::Status(put.code(),
                          absl::StrCat("entry ", done->index, " of ", v.total, " (key \"",
                                       Quote(record.key), "\"): ", put.message()));
    }
    ++done->loaded;
    return absl::OkStatus();
  });
}

// A load that stopped although it was checked to fit: another writer filled
// the store meanwhile (or it was damaged or destroyed). Says exactly what is
// in it now; returns the exit code.
int ReportLoadStopped(Context& ctx, const absl::Status& status, const Loaded& done) {
  return ctx.Fail(
      kExitStore,
      absl::StrCat(
          status.message(),
          "; the load stopped there: ", Plural(done.loaded, "entry was", "entries were"),
          " written (the snapshot's entries before entry ", done.index,
          done.expired > 0 ? absl::StrCat(", less ", done.expired, " that had expired") : "",
          "), the rest were not; run the load again once there is room (it replaces "
          "what was written)"));
}

// The summary line, and a warning if the store evicted entries during the
// load (it had more than `evictions_before`).
int ReportLoaded(Context& ctx, Store& store, const Loaded& done, const std::string& input,
                 SnapshotFormat format, uint64_t evictions_before) {
  const char* format_name = format == SnapshotFormat::kBinary ? "binary" : "jsonl";
  std::string summary = absl::StrCat("loaded ", Plural(done.loaded, "entry", "entries"), " from ",
                                     input, " (", format_name, ")");
  if (done.expired > 0) absl::StrAppend(&summary, "; skipped ", done.expired, " that had expired");
  if (done.near_skipped > 0) {
    absl::StrAppend(&summary, "; skipped ", done.near_skipped,
                    " of the near cache (kvsync's record and entries under tracked prefixes: "
                    "they are read from Redis again)");
  }
  ctx.Write(summary + "\n");
  if (absl::StatusOr<StoreStats> stats = store.Stats();
      stats.ok() && stats->evictions > evictions_before) {
    const bool index_full = stats->index_entries >= stats->index_limit / 8 * 7;
    ctx.Warn(absl::StrCat(
        "the store evicted ", stats->evictions - evictions_before, " entries during the load ",
        index_full ? absl::StrCat("because its index is full (", stats->index_entries, " of ",
                                  stats->index_limit, " entries); create it with a larger --items")
                   : "because it is full; create it with a larger --capacity",
        " to keep them all"));
  }
  return ctx.Finish();
}

// Once the snapshot is verified: creates the store if asked, refuses what it
// cannot hold, then loads and reports.
int LoadVerified(Context& ctx, std::unique_ptr<Store>& store, const Options& create_options,
                 std::FILE* file, SnapshotFormat format, const std::string& input,
                 Verified& verified) {
  const bool create = ctx.Has("create");
  if (create) {
    absl::StatusOr<std::unique_ptr<Store>> created = ctx.Open(OpenMode::kCreate, create_options);
    if (!created.ok()) return ctx.StoreFailure(created.status());
    store = *std::move(created);
  }
  // Entries the store cannot hold would stop the load half-way: refuse now.
  absl::StatusOr<StoreInfo> info = store->Info();
  if (!info.ok()) return ctx.StoreFailure(info.status());
  if (int code = RefuseOverLimits(ctx, store, *info, verified, input, create)) return code;
  if (!ctx.Has("allow-evict") || !info->evict) {
    if (int code = RefuseWhatDoesNotFit(ctx, store, *info, verified.demand, input, create)) {
      return code;
    }
  }
  uint64_t evictions_before = 0;
  if (absl::StatusOr<StoreStats> stats = store->Stats(); stats.ok()) {
    evictions_before = stats->evictions;
  }
  verified.near_skip.LearnStore(*store);
  Loaded done;
  absl::Status status = StoreRecords(*store, file, format, input, verified, &done);
  if (!status.ok()) return ReportLoadStopped(ctx, status, done);
  return ReportLoaded(ctx, *store, done, input, format, evictions_before);
}

}  // namespace

int RunLoad(Context& ctx) {
  const bool create = ctx.Has("create");
  Options create_options = ctx.open_options();
  if (int code = CheckLoadArgs(ctx, create, &create_options)) return code;
  if (ctx.dry_run()) return kExitOk;
  std::unique_ptr<Store> store;
  if (!create) {
    if (int code = OpenStoreToLoad(ctx, &store)) return code;
  }
  const std::string& in = *ctx.Get("in");
  const std::string input = in == "-" ? std::string("stdin") : in;
  std::FILE* raw = nullptr;
  if (int code = OpenLoadInput(ctx, in, store.get(), create_options, &raw)) return code;
  ScopedFile file(raw);
  SnapshotFormat format;
  if (int code = DetectLoadFormat(ctx, file.get(), input, &format)) return code;
  Verified verified;
  if (int code = VerifySnapshot(ctx, file.get(), format, input, &verified)) return code;
  return LoadVerified(ctx, store, create_options, file.get(), format, input, verified);
}

}  // namespace kvcli
}  // namespace shmkv
