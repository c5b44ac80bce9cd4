// RunKvcli: dispatch, the shared Context, and the commands that work on
// single entries or the store as a whole. dump/load are in
// snapshot_commands.cc, ls in ls.cc.
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kv/snapshot/utf8.h"
#include "tools/cli/parse.h"
#include "tools/kvcli/context.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/kvcli.h"

namespace shmkv {
namespace kvcli {

// ------------------------------------------------------------ formatting ---

std::string KeyHex(key_t key) { return absl::StrFormat("0x%08x", static_cast<uint32_t>(key)); }

std::string ModeText(int mode) { return absl::StrFormat("0%03o", mode & 0777); }

std::string UserName(uid_t uid) {
  struct passwd pw;
  struct passwd* result = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &pw, buffer, sizeof(buffer), &result) != 0 || result == nullptr) return "";
  return result->pw_name != nullptr ? std::string(result->pw_name) : std::string();
}

std::string TtlText(absl::Duration ttl) {
  if (ttl == absl::InfiniteDuration()) return "none";
  return cli::FormatDuration(absl::Milliseconds(TtlMillis(ttl)));
}

int64_t TtlMillis(absl::Duration ttl) {
  if (ttl == absl::InfiniteDuration()) return -1;
  int64_t ms = absl::ToInt64Milliseconds(ttl);
  return ms < 1 ? 1 : ms;  // a live entry has some time left
}

namespace {

std::string StatusText(const absl::Status& status) {
  if (!status.message().empty()) return std::string(status.message());
  return absl::StatusCodeToString(status.code());
}

std::string QuotedKey(absl::string_view key) { return absl::StrCat("\"", Quote(key), "\""); }

}  // namespace

std::string OneLine(absl::string_view message) {
  std::string line;
  line.reserve(message.size());
  for (char c : message) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      absl::StrAppend(&line, absl::StrFormat("\\x%02x", b));
    } else {
      line += c;
    }
  }
  return line;
}

// --------------------------------------------------------------- Context ---

int Context::Usage(absl::string_view message) {
  std::fprintf(err_, "kvcli: %s: %s\n%s\n", spec_.name, OneLine(message).c_str(),
               UsageLine(spec_).c_str());
  return kExitUsage;
}

int Context::Fail(int code, absl::string_view message) {
  std::fprintf(err_, "kvcli: %s: %s\n", spec_.name, OneLine(message).c_str());
  return code;
}

void Context::Warn(absl::string_view message) {
  std::fprintf(err_, "kvcli: warning: %s\n", OneLine(message).c_str());
}

int Context::StoreFailure(const absl::Status& status) {
  if (absl::IsInvalidArgument(status)) return Usage(StatusText(status));
  return Fail(kExitStore, StatusText(status));
}

int Context::EntryFailure(const absl::Status& status) {
  if (absl::IsNotFound(status) || absl::IsAlreadyExists(status) ||
      absl::IsFailedPrecondition(status)) {
    return Fail(kExitNotFound, StatusText(status));
  }
  return StoreFailure(status);
}

bool Context::Write(absl::string_view bytes) {
  if (bytes.empty()) return true;
  if (std::fwrite(bytes.data(), 1, bytes.size(), out_) != bytes.size()) write_failed_ = true;
  return !write_failed_;
}

bool Context::FlushOut() {
  if (std::fflush(out_) != 0 || std::ferror(out_)) write_failed_ = true;
  return !write_failed_;
}

namespace {

// Applies `parse` to a flag's value, if the flag is given; the error names
// the flag.
template <typename T>
absl::Status ParseFlag(absl::string_view flag, const std::string* text,
                       absl::StatusOr<T> (*parse)(absl::string_view), T* out) {
  if (text == nullptr) return absl::OkStatus();
  absl::StatusOr<T> value = parse(*text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", value.status().message()));
  }
  *out = *value;
  return absl::OkStatus();
}

}  // namespace

absl::Status Context::SizeFlag(absl::string_view flag, uint64_t* out) const {
  return ParseFlag(flag, Get(flag), cli::ParseSize, out);
}

absl::Status Context::DurationFlag(absl::string_view flag, absl::Duration* out) const {
  return ParseFlag(flag, Get(flag), cli::ParseDuration, out);
}

absl::Status Context::TtlFlag(absl::string_view flag, absl::Duration* out) const {
  const std::string* text = Get(flag);
  if (text == nullptr) return absl::OkStatus();
  if (*text == "none" || *text == "never" || *text == "inf") {
    *out = absl::InfiniteDuration();
    return absl::OkStatus();
  }
  absl::Duration ttl;
  if (absl::Status s = DurationFlag(flag, &ttl); !s.ok()) return s;
  if (ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", Quote(*text),
                                                   ": a TTL must be positive (e.g. 30s); use --",
                                                   flag, "=none for no expiry"));
  }
  *out = ttl;
  return absl::OkStatus();
}

absl::Status Context::UnsignedFlag(absl::string_view flag, uint64_t max, bool allow_hex,
                                   uint64_t* out) const {
  const std::string* text = Get(flag);
  if (text == nullptr) return absl::OkStatus();
  if (!ParseUnsigned(*text, max, allow_hex, out)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=\"", Quote(*text),
                                                   "\" is not a whole number from 0 to ", max,
                                                   allow_hex ? " (decimal, or hex with 0x)" : ""));
  }
  return absl::OkStatus();
}

absl::Status Context::SignedFlag(absl::string_view flag, int64_t* out) const {
  const std::string* text = Get(flag);
  if (text == nullptr) return absl::OkStatus();
  if (!ParseSigned(*text, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=\"", Quote(*text), "\" is not a whole number (e.g. 100 or -5)"));
  }
  return absl::OkStatus();
}

absl::Status Context::KeyArg(size_t index, std::string* key) const {
  const std::string& text = arg(index);
  if (Has("escaped")) {
    absl::StatusOr<std::string> raw = cli::UnescapeKey(text);
    if (!raw.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("KEY (--escaped): ", raw.status().message()));
    }
    *key = *std::move(raw);
  } else {
    *key = text;
  }
  if (key->empty()) return absl::InvalidArgumentError("KEY is empty; keys are 1 to 4096 bytes");
  if (key->size() > kMaxKeySizeLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("KEY is ", key->size(), " bytes; keys are at most ", kMaxKeySizeLimit));
  }
  return absl::OkStatus();
}

int Context::ResolveStore() {
  const std::string* key = Get("key");
  const std::string* path = Get("path");
  const std::string* proj = Get("proj");
  if (key != nullptr && path != nullptr) return Usage("give --key or --path, not both");
  if (key == nullptr && path == nullptr) {
    return Usage(
        "which store? add --key=0x5f3e0001 (its System V key) or --path=FILE; kvcli ls lists "
        "the stores on this host");
  }
  if (proj != nullptr && path == nullptr) return Usage("--proj goes with --path");
  if (key != nullptr) {
    absl::StatusOr<key_t> parsed = cli::ParseIpcKey(*key);
    if (!parsed.ok()) return Usage(absl::StrCat("--key: ", parsed.status().message()));
    absl::StatusOr<StoreName> name = StoreName::FromKey(*parsed);
    if (!name.ok()) return Usage(absl::StrCat("--key: ", name.status().message()));
    name_ = *std::move(name);
  } else {
    uint64_t proj_id = 1;
    if (proj != nullptr && (!ParseUnsigned(*proj, 255, false, &proj_id) || proj_id == 0)) {
      return Usage(absl::StrCat("--proj=\"", Quote(*proj), "\" is not a project id from 1 to 255"));
    }
    if (path->empty()) return Usage("--path is empty; give the file that names the store");
    absl::StatusOr<StoreName> name = StoreName::FromPath(*path, static_cast<int>(proj_id));
    if (!name.ok()) {
      if (absl::IsInvalidArgument(name.status())) {
        return Usage(absl::StrCat("--path: ", name.status().message()));
      }
      return Fail(kExitStore, name.status().message());
    }
    name_ = *std::move(name);
  }
  open_options_ = Options();
  open_options_.allow_foreign_owner = Has("allow-foreign-owner");
  if (absl::Status s = DurationFlag("lock-timeout", &open_options_.lock_timeout); !s.ok()) {
    return Usage(s.message());
  }
  if (open_options_.lock_timeout <= absl::ZeroDuration()) {
    return Usage("--lock-timeout must be positive (e.g. 5s)");
  }
  return kExitOk;
}

int Context::ResolveCreateOptions(Options* options) {
  uint64_t capacity = options->capacity_bytes;
  uint64_t max_value = options->max_value_size;
  uint64_t max_key = options->max_key_size;
  uint64_t stripes = options->lock_stripes;
  uint64_t items = options->expected_items;
  absl::Status s = SizeFlag("capacity", &capacity);
  if (s.ok()) s = SizeFlag("max-value", &max_value);
  if (s.ok()) s = SizeFlag("max-key", &max_key);
  if (s.ok()) s = UnsignedFlag("stripes", UINT32_MAX, false, &stripes);
  if (s.ok()) s = UnsignedFlag("items", UINT64_MAX, false, &items);
  if (!s.ok()) return Usage(s.message());
  if (capacity == 0) return Usage("--capacity must be more than 0 (e.g. 64MiB)");
  if (max_key == 0 || max_key > kMaxKeySizeLimit) {
    return Usage(absl::StrCat("--max-key must be from 1 to ", kMaxKeySizeLimit));
  }
  if (stripes == 0) return Usage("--stripes must be at least 1");
  if (const std::string* mode = Get("mode"); mode != nullptr) {
    if (!ParseMode(*mode, &options->mode)) {
      return Usage(absl::StrCat("--mode=\"", Quote(*mode),
                                "\" is not octal permission bits up to 0777 (e.g. 0600, 0660)"));
    }
  }
  if (const std::string* ttl = Get("default-ttl"); ttl != nullptr) {
    if (*ttl == "none" || *ttl == "never" || *ttl == "0") {
      options->default_ttl = absl::ZeroDuration();
    } else if (absl::Status d = DurationFlag("default-ttl", &options->default_ttl); !d.ok()) {
      return Usage(d.message());
    }
  }
  options->capacity_bytes = capacity;
  options->max_value_size = max_value;
  options->max_key_size = max_key;
  options->lock_stripes = static_cast<uint32_t>(stripes);
  options->expected_items = items;
  options->evict = !Has("no-evict");
  options->huge_pages = Has("huge-pages");
  return kExitOk;
}

namespace {

bool SemExistsAt(key_t key) { return semget(key, 0, 0) >= 0 || errno != ENOENT; }

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const StoreName& name, const Options& options,
                                                 OpenMode mode) {
  const key_t key = name.key();
  const bool sem_before = SemExistsAt(key);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(name, options, mode);
  if (!store.ok() && !sem_before && shmget(key, 0, 0) >= 0) {
    int sem = semget(key, 0, 0);
    if (sem >= 0) semctl(sem, 0, IPC_RMID);
  }
  return store;
}

absl::StatusOr<std::unique_ptr<Store>> Context::Open(OpenMode mode, const Options& options) {
  return OpenStore(*name_, options, mode);
}

int Context::WithStore(absl::FunctionRef<int(Store&)> run) {
  if (dry_run()) return kExitOk;
  absl::StatusOr<std::unique_ptr<Store>> store = Open(OpenMode::kAttach, open_options_);
  if (!store.ok()) return StoreFailure(store.status());
  return run(**store);
}

int Context::Finish(absl::string_view failure) {
  return FlushOut() ? kExitOk : Fail(kExitStore, failure);
}

// -------------------------------------------------------------- commands ---

int RunCreate(Context& ctx) {
  Options options = ctx.open_options();
  if (int code = ctx.ResolveCreateOptions(&options)) return code;
  if (ctx.dry_run()) return kExitOk;
  absl::StatusOr<std::unique_ptr<Store>> store = ctx.Open(OpenMode::kCreate, options);
  if (!store.ok()) return ctx.StoreFailure(store.status());
  absl::StatusOr<StoreInfo> info = (*store)->Info();
  if (!info.ok()) return ctx.StoreFailure(info.status());
  std::string line =
      absl::StrCat("created ", ctx.name().ToString(), ": shm id ", info->shm_id, ", ",
                   cli::FormatBytes(info->capacity), " for entries, ", info->lock_stripes,
                   " lock stripe", info->lock_stripes == 1 ? "" : "s", ", values up to ",
                   cli::FormatBytes(info->max_value_size), ", mode ", ModeText(info->mode));
  if (info->default_ttl > absl::ZeroDuration()) {
    absl::StrAppend(&line, ", default TTL ", cli::FormatDuration(info->default_ttl));
  }
  if (!info->evict) absl::StrAppend(&line, ", no eviction");
  ctx.Write(line + "\n");
  for (const std::string& warning : info->warnings) ctx.Warn(warning);
  return ctx.Finish();
}

namespace {

std::string TimeText(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string AgoText(int64_t unix_ms) {
  absl::Duration age = absl::Now() - absl::FromUnixMillis(unix_ms);
  if (age < absl::ZeroDuration()) return "in the future";
  return absl::StrCat(cli::FormatDuration(absl::Seconds(absl::ToInt64Seconds(age))), " ago");
}

std::string UidText(uid_t uid) {
  std::string name = UserName(uid);
  return name.empty() ? absl::StrCat("uid ", uid) : absl::StrCat("uid ", uid, " (", name, ")");
}

}  // namespace

int RunInfo(Context& ctx) {
  return ctx.WithStore([&](Store& store) {
    absl::StatusOr<StoreInfo> info = store.Info();
    if (!info.ok()) return ctx.StoreFailure(info.status());
    absl::StatusOr<uint64_t> items = store.Size();
    if (!items.ok()) return ctx.StoreFailure(items.status());
    // The kernel's count includes this kvcli's own attachment.
    const uint64_t attached = info->attached_processes > 0 ? info->attached_processes - 1 : 0;
    const int64_t default_ttl_ms = absl::ToInt64Milliseconds(info->default_ttl);
    if (ctx.Has("json")) {
      JsonObject json;
      json.Str("name", info->name)
          .Str("key", KeyHex(info->key))
          .U64("key_decimal", static_cast<uint32_t>(info->key))
          .I64("shm_id", info->shm_id)
          .I64("sem_id", info->sem_id)
          .U64("layout_version", info->layout_version)
          .U64("segment_bytes", info->segment_bytes)
          .U64("capacity", info->capacity)
          .U64("lock_stripes", info->lock_stripes)
          .U64("buckets", info->buckets)
          .U64("max_key_size", info->max_key_size)
          .U64("max_value_size", info->max_value_size)
          .Bool("evict", info->evict)
          .Bool("huge_pages", info->huge_pages)
          .I64("default_ttl_ms", default_ttl_ms)
          .I64("created_at_ms", info->created_at_ms)
          .Str("created_at", TimeText(info->created_at_ms))
          .U64("creator_uid", info->creator_uid)
          .I64("creator_pid", info->creator_pid)
          .U64("owner_uid", info->owner_uid)
          .Str("owner", UserName(info->owner_uid))
          .Str("mode", ModeText(info->mode))
          .U64("attached_processes", attached)
          .Bool("removed", info->removed)
          .U64("items", *items)
          .StrArray("warnings", info->warnings);
      ctx.Write(json.Build() + "\n");
    } else {
      std::string text;
      auto row = [&text](absl::string_view label, absl::string_view value) {
        absl::StrAppend(&text, absl::StrFormat("%-14s %s\n", label, value));
      };
      row("store", info->name);
      row("key", absl::StrCat(KeyHex(info->key), " (", static_cast<uint32_t>(info->key), ")"));
      row("ids", absl::StrCat("shm id ", info->shm_id, ", semaphore set ", info->sem_id));
      row("layout", absl::StrCat("version ", info->layout_version));
      row("entries", absl::StrCat(*items));
      row("capacity", absl::StrCat(cli::FormatBytes(info->capacity), " for entries (segment ",
                                   cli::FormatBytes(info->segment_bytes), ", ", info->segment_bytes,
                                   " bytes)"));
      row("limits", absl::StrCat("keys up to ", info->max_key_size, " bytes, values up to ",
                                 cli::FormatBytes(info->max_value_size)));
      row("locking",
          absl::StrCat(info->lock_stripes, " lock stripe", info->lock_stripes == 1 ? "" : "s", ", ",
                       info->buckets, " hash index slots"));
      row("memory", info->huge_pages ? "huge pages (created with --huge-pages)" : "normal pages");
      row("when full", info->evict ? "evicts least recently used entries"
                                   : "refuses writes (created with --no-evict)");
      row("default TTL", default_ttl_ms > 0 ? cli::FormatDuration(info->default_ttl)
                                            : "none (entries never expire unless given a TTL)");
      row("created",
          absl::StrCat(TimeText(info->created_at_ms), " (", AgoText(info->created_at_ms), ") by ",
                       UidText(info->creator_uid), ", pid ", info->creator_pid));
      row("owner", absl::StrCat(UidText(info->owner_uid), ", mode ", ModeText(info->mode)));
      row("attached", absl::StrCat(attached, " process", attached == 1 ? "" : "es",
                                   " (not counting this kvcli)"));
      if (info->removed) row("removed", "yes: destroyed, alive until the last process detaches");
      if (info->warnings.empty()) {
        row("warnings", "none");
      } else {
        for (const std::string& warning : info->warnings) row("warning", warning);
      }
      ctx.Write(text);
    }
    return ctx.Finish();
  });
}

// ----------------------------------------------------------------- stats ---

namespace {

volatile sig_atomic_t g_stop_watch = 0;

void StopWatch(int) { g_stop_watch = 1; }

// Installs SIGINT/SIGTERM handlers that end --watch, restoring the previous
// handlers on destruction.
class WatchSignals {
 public:
  WatchSignals() {
    g_stop_watch = 0;
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = StopWatch;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: sleeps end at once
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~WatchSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  WatchSignals(const WatchSignals&) = delete;
  WatchSignals& operator=(const WatchSignals&) = delete;

 private:
  struct sigaction old_int_;
  struct sigaction old_term_;
};

// Sleeps up to `duration`; returns early once a stop signal arrived.
void SleepUnlessStopped(absl::Duration duration) {
  const absl::Time deadline = absl::Now() + duration;
  while (!g_stop_watch) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    timespec ts = absl::ToTimespec(left);
    nanosleep(&ts, nullptr);
  }
}

double Ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? std::nan("") : static_cast<double>(part) / static_cast<double>(whole);
}

std::string PercentText(double ratio) {
  if (std::isnan(ratio)) return "-";
  return absl::StrFormat("%.1f%%", ratio * 100.0);
}

struct Rates {
  bool valid = false;
  double seconds = 0;
  double gets = 0, hits = 0, misses = 0, puts = 0, deletes = 0, evictions = 0, expirations = 0,
         lock_waits = 0;
  double interval_hit_ratio = std::nan("");
};

Rates ComputeRates(const StoreStats& before, const StoreStats& after, absl::Duration elapsed) {
  Rates r;
  r.seconds = absl::ToDoubleSeconds(elapsed);
  if (r.seconds <= 0) return r;
  r.valid = true;
  // Counters may go down (e.g. a repair); treat that as no activity.
  auto per_sec = [&](uint64_t a, uint64_t b) {
    return b >= a ? static_cast<double>(b - a) / r.seconds : 0.0;
  };
  r.hits = per_sec(before.hits, after.hits);
  r.misses = per_sec(before.misses, after.misses);
  r.gets = r.hits + r.misses;
  r.puts = per_sec(before.puts, after.puts);
  r.deletes = per_sec(before.deletes, after.deletes);
  r.evictions = per_sec(before.evictions, after.evictions);
  r.expirations = per_sec(before.expirations, after.expirations);
  r.lock_waits = per_sec(before.lock_waits, after.lock_waits);
  if (r.gets > 0) r.interval_hit_ratio = r.hits / r.gets;
  return r;
}

JsonObject StatsJson(const StoreStats& s) {
  JsonObject json;
  json.U64("items", s.items)
      .U64("hits", s.hits)
      .U64("misses", s.misses)
      .U64("puts", s.puts)
      .U64("deletes", s.deletes)
      .U64("evictions", s.evictions)
      .U64("expirations", s.expirations)
      .U64("key_bytes", s.key_bytes)
      .U64("value_bytes", s.value_bytes)
      .U64("bytes_used", s.bytes_used)
      .U64("capacity", s.capacity)
      .U64("index_entries", s.index_entries)
      .U64("index_limit", s.index_limit)
      .U64("lock_waits", s.lock_waits)
      .U64("owner_deaths_recovered", s.owner_deaths_recovered)
      .Double("hit_ratio", Ratio(s.hits, s.hits + s.misses));
  return json;
}

std::string StatsText(const StoreStats& s, const Rates* rates) {
  std::string text;
  auto row = [&](absl::string_view label, uint64_t total, double rate) {
    if (rates == nullptr) {
      absl::StrAppend(&text, absl::StrFormat("%-13s %14d\n", label, total));
    } else if (rates->valid) {
      absl::StrAppend(&text, absl::StrFormat("%-13s %14d %14.1f\n", label, total, rate));
    } else {
      absl::StrAppend(&text, absl::StrFormat("%-13s %14d %14s\n", label, total, "-"));
    }
  };
  if (rates != nullptr)
    absl::StrAppend(&text, absl::StrFormat("%-13s %14s %14s\n", "", "total", "per second"));
  row("gets", s.hits + s.misses, rates ? rates->gets : 0);
  row("  hits", s.hits, rates ? rates->hits : 0);
  row("  misses", s.misses, rates ? rates->misses : 0);
  row("puts", s.puts, rates ? rates->puts : 0);
  row("deletes", s.deletes, rates ? rates->deletes : 0);
  row("evictions", s.evictions, rates ? rates->evictions : 0);
  row("expirations", s.expirations, rates ? rates->expirations : 0);
  row("lock waits", s.lock_waits, rates ? rates->lock_waits : 0);
  std::string ratio = PercentText(Ratio(s.hits, s.hits + s.misses));
  if (rates != nullptr && rates->valid) {
    absl::StrAppend(&ratio, " (last interval ", PercentText(rates->interval_hit_ratio), ")");
  }
  absl::StrAppend(&text, absl::StrFormat("%-13s %s\n", "hit ratio", ratio));
  absl::StrAppend(&text, absl::StrFormat("%-13s %d\n", "entries", s.items));
  absl::StrAppend(&text,
                  absl::StrFormat("%-13s %s of %s (%s); keys %s, values %s\n", "bytes used",
                                  cli::FormatBytes(s.bytes_used), cli::FormatBytes(s.capacity),
                                  PercentText(Ratio(s.bytes_used, s.capacity)),
                                  cli::FormatBytes(s.key_bytes), cli::FormatBytes(s.value_bytes)));
  absl::StrAppend(
      &text, absl::StrFormat("%-13s %d of %d entries (%s)\n", "hash index", s.index_entries,
                             s.index_limit, PercentText(Ratio(s.index_entries, s.index_limit))));
  if (s.owner_deaths_recovered > 0) {
    absl::StrAppend(&text, absl::StrFormat("%-13s %d (locks recovered from dead processes)\n",
                                           "owner deaths", s.owner_deaths_recovered));
  }
  return text;
}

}  // namespace

int RunStats(Context& ctx) {
  const bool watch = ctx.Has("watch");
  absl::Duration interval = absl::Seconds(1);
  uint64_t count = 0;  // 0: until stopped
  if (watch && !ctx.Get("watch")->empty()) {
    if (absl::Status s = ctx.DurationFlag("watch", &interval); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (interval < absl::Milliseconds(10)) {
      return ctx.Usage("--watch interval must be at least 10ms (e.g. --watch=2 for 2 seconds)");
    }
  }
  if (ctx.Has("count")) {
    if (!watch) return ctx.Usage("--count goes with --watch");
    if (absl::Status s = ctx.UnsignedFlag("count", UINT64_MAX, false, &count); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (count == 0) return ctx.Usage("--count must be at least 1");
  }
  return ctx.WithStore([&](Store& store) {
    const bool json = ctx.Has("json");
    if (!watch) {
      absl::StatusOr<StoreStats> stats = store.Stats();
      if (!stats.ok()) return ctx.StoreFailure(stats.status());
      ctx.Write(json ? StatsJson(*stats).Build() + "\n" : StatsText(*stats, nullptr));
      return ctx.Finish();
    }

    const bool tty = isatty(fileno(ctx.out())) == 1;
    WatchSignals signals;
    StoreStats previous;
    absl::Time previous_time;
    for (uint64_t i = 0; count == 0 || i < count; ++i) {
      if (i > 0) SleepUnlessStopped(interval);
      if (g_stop_watch) break;
      absl::StatusOr<StoreStats> stats = store.Stats();
      if (!stats.ok()) return ctx.StoreFailure(stats.status());
      const absl::Time now = absl::Now();
      Rates rates;
      if (i > 0) rates = ComputeRates(previous, *stats, now - previous_time);
      if (json) {
        JsonObject line = StatsJson(*stats);
        line.I64("time_ms", absl::ToUnixMillis(now));
        if (rates.valid) {
          line.I64("interval_ms", absl::ToInt64Milliseconds(now - previous_time))
              .Double("ops_per_sec", rates.gets + rates.puts + rates.deletes, 1)
              .Double("gets_per_sec", rates.gets, 1)
              .Double("puts_per_sec", rates.puts, 1)
              .Double("deletes_per_sec", rates.deletes, 1)
              .Double("evictions_per_sec", rates.evictions, 1)
              .Double("expirations_per_sec", rates.expirations, 1)
              .Double("interval_hit_ratio", rates.interval_hit_ratio);
        } else {
          line.Null("interval_ms")
              .Null("ops_per_sec")
              .Null("gets_per_sec")
              .Null("puts_per_sec")
              .Null("deletes_per_sec")
              .Null("evictions_per_sec")
              .Null("expirations_per_sec")
              .Null("interval_hit_ratio");
        }
        ctx.Write(line.Build() + "\n");
      } else {
        std::string frame;
        if (tty) {
          frame = "\x1b[H\x1b[2J";  // cursor home, clear screen
        } else if (i > 0) {
          frame = "\n";
        }
        absl::StrAppend(
            &frame, ctx.name().ToString(), "  ",
            absl::FormatTime("%H:%M:%S", now, absl::LocalTimeZone()), "  every ",
            cli::FormatDuration(interval),
            rates.valid ? absl::StrFormat(", %.1f ops/s", rates.gets + rates.puts + rates.deletes)
                        : std::string(),
            tty ? "  (Ctrl-C quits)" : "", "\n");
        absl::StrAppend(&frame, StatsText(*stats, &rates));
        ctx.Write(frame);
      }
      if (!ctx.FlushOut()) return ctx.Fail(kExitStore, "cannot write to stdout");
      previous = *stats;
      previous_time = now;
    }
    return kExitOk;
  });
}

// --------------------------------------------------------------- entries ---

int RunGet(Context& ctx) {
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  return ctx.WithStore([&](Store& store) {
    std::string value;
    EntryMeta meta;
    absl::Status status = store.Get(key, &value, &meta);
    if (absl::IsNotFound(status)) {
      return ctx.Fail(
          kExitNotFound,
          absl::StrCat("no key ", QuotedKey(key), " in the store at ", ctx.name().ToString(),
                       " (never set, deleted, expired or evicted); kvcli keys lists the keys"));
    }
    if (!status.ok()) return ctx.StoreFailure(status);
    if (ctx.Has("json")) {
      JsonObject json;
      json.Str("key", key).Str("key_b64", cli::Base64(key));
      if (IsUtf8(value)) json.Str("value", value);
      json.Str("value_b64", cli::Base64(value))
          .U64("size", value.size())
          .U64("version", meta.version)
          .U64("flags", meta.flags)
          .I64("ttl_ms", TtlMillis(meta.ttl_remaining))
          .I64("expires_at_ms", meta.expires_at_ms);
      ctx.Write(json.Build() + "\n");
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
    if (status.ok()) return kExitOk;
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
        if (absl::IsFailedPrecondition(status)) {
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

int RunDel(Context& ctx) {
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  return ctx.WithStore(
      [&](Store& store) { return KeyOpExit(ctx, store.Delete(key), key, "delete"); });
}

int RunIncr(Context& ctx) {
  std::string key;
  if (absl::Status s = ctx.KeyArg(0, &key); !s.ok()) return ctx.Usage(s.message());
  int64_t delta = 1;
  if (ctx.arg_count() > 1 && !ParseSigned(ctx.arg(1), &delta)) {
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
    if (absl::IsFailedPrecondition(result.status())) {
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
  return ctx.WithStore(
      [&](Store& store) { return KeyOpExit(ctx, store.Touch(key, ttl), key, "touch"); });
}

int RunKeys(Context& ctx) {
  std::string prefix;
  if (const std::string* text = ctx.Get("prefix"); text != nullptr) {
    if (ctx.Has("escaped")) {
      absl::StatusOr<std::string> raw = cli::UnescapeKey(*text);
      if (!raw.ok())
        return ctx.Usage(absl::StrCat("--prefix (--escaped): ", raw.status().message()));
      prefix = *std::move(raw);
    } else {
      prefix = *text;
    }
  }
  uint64_t limit = 0;
  if (ctx.Has("limit")) {
    if (absl::Status s = ctx.UnsignedFlag("limit", UINT64_MAX, false, &limit); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (limit == 0) return ctx.Usage("--limit must be at least 1");
  }
  return ctx.WithStore([&](Store& store) {
    const bool json = ctx.Has("json");
    const bool long_form = ctx.Has("long");
    uint64_t listed = 0;
    bool write_ok = true;
    if (long_form && !json) {
      write_ok = ctx.Write(
          absl::StrFormat("%10s %10s %20s %10s  %s\n", "SIZE", "TTL", "VERSION", "FLAGS", "KEY"));
    }
    absl::Status status = store.ForEach(
        prefix, [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
          std::string line;
          if (json) {
            JsonObject object;
            object.Str("key", key)
                .Str("key_b64", cli::Base64(key))
                .Str("key_escaped", cli::EscapeKey(key))
                .U64("size", value.size())
                .I64("ttl_ms", TtlMillis(meta.ttl_remaining))
                .U64("version", meta.version)
                .U64("flags", meta.flags);
            line = object.Build() + "\n";
          } else if (long_form) {
            line = absl::StrFormat("%10d %10s %20d %10d  %s\n", value.size(),
                                   TtlText(meta.ttl_remaining), meta.version, meta.flags,
                                   cli::EscapeKey(key));
          } else {
            line = absl::StrCat(cli::EscapeKey(key), "\n");
          }
          write_ok = ctx.Write(line);
          ++listed;
          return write_ok && (limit == 0 || listed < limit);
        });
    if (!status.ok()) return ctx.StoreFailure(status);
    if (!write_ok) return ctx.Fail(kExitStore, "cannot write to stdout");
    return ctx.Finish();
  });
}

// ----------------------------------------------------------- maintenance ---

int RunCheck(Context& ctx) {
  return ctx.WithStore([&](Store& store) {
    const bool repair = ctx.Has("repair");
    absl::StatusOr<CheckReport> report = store.Check(repair);
    if (!report.ok()) return ctx.StoreFailure(report.status());
    std::vector<std::string> remaining = report->problems;
    if (repair && !report->problems.empty()) {
      absl::StatusOr<CheckReport> again = store.Check(false);
      if (!again.ok()) return ctx.StoreFailure(again.status());
      remaining = again->problems;
    }
    const bool clean = remaining.empty();
    if (ctx.Has("json")) {
      JsonObject json;
      json.Bool("ok", report->ok && report->problems.empty())
          .StrArray("problems", report->problems)
          .StrArray("repairs", report->repairs)
          .U64("entries_checked", report->entries_checked)
          .U64("entries_dropped", report->entries_dropped)
          .Bool("repaired", repair)
          .StrArray("remaining_problems", remaining)
          .Bool("clean", clean);
      ctx.Write(json.Build() + "\n");
    } else {
      std::string text;
      for (const std::string& problem : report->problems) {
        absl::StrAppend(&text, "problem: ", problem, "\n");
      }
      for (const std::string& done : report->repairs) {
        absl::StrAppend(&text, "repaired: ", done, "\n");
      }
      if (repair && !report->problems.empty()) {
        for (const std::string& left : remaining) {
          absl::StrAppend(&text, "still wrong: ", left, "\n");
        }
      }
      absl::StrAppend(&text, "checked ", report->entries_checked, " entries: ",
                      report->problems.empty()
                          ? "no problems found"
                          : absl::StrCat(report->problems.size(), " problem",
                                         report->problems.size() == 1 ? "" : "s", " found"));
      if (repair && !report->problems.empty()) {
        absl::StrAppend(&text, clean ? ", all repaired" : ", not all repaired", "; ",
                        report->entries_dropped, " entr",
                        report->entries_dropped == 1 ? "y" : "ies", " dropped");
      }
      text += "\n";
      ctx.Write(text);
    }
    if (!ctx.FlushOut()) return ctx.Fail(kExitStore, "cannot write to stdout");
    if (!clean) {
      if (!repair) {
        return ctx.Fail(
            kExitStore,
            absl::StrCat("the store has ", remaining.size(), " problem",
                         remaining.size() == 1 ? "" : "s",
                         "; take a kvcli dump if you can, then run kvcli check --repair"));
      }
      return ctx.Fail(kExitStore,
                      absl::StrCat(remaining.size(), " problem", remaining.size() == 1 ? "" : "s",
                                   " remain after the repair; dump what is readable (kvcli dump), "
                                   "destroy the store and load the dump into a new one"));
    }
    return kExitOk;
  });
}

int RunFlush(Context& ctx) {
  return ctx.WithStore([&](Store& store) {
    if (ctx.Has("expired")) {
      absl::StatusOr<uint64_t> removed = store.FlushExpired();
      if (!removed.ok()) return ctx.StoreFailure(removed.status());
      ctx.Write(
          absl::StrCat("flushed ", *removed, " expired entr", *removed == 1 ? "y" : "ies", "\n"));
    } else {
      absl::StatusOr<uint64_t> before = store.Size();
      if (!before.ok()) return ctx.StoreFailure(before.status());
      if (absl::Status s = store.Clear(); !s.ok()) return ctx.StoreFailure(s);
      ctx.Write(absl::StrCat("flushed ", *before, " entr", *before == 1 ? "y" : "ies", "\n"));
    }
    return ctx.Finish();
  });
}

int RunDestroy(Context& ctx) {
  if (ctx.dry_run()) return kExitOk;
  const key_t key = ctx.name().key();
  int shm_id = shmget(key, 0, 0);
  uint64_t attached = 0;
  if (shm_id >= 0) {
    struct shmid_ds ds;
    if (shmctl(shm_id, IPC_STAT, &ds) == 0) {
      attached = ds.shm_nattch;
      const uid_t me = geteuid();
      if (!ctx.Has("allow-foreign-owner") && ds.shm_perm.uid != me && ds.shm_perm.cuid != me) {
        return ctx.Fail(kExitStore,
                        absl::StrCat("the segment at ", ctx.name().ToString(), " belongs to ",
                                     UidText(ds.shm_perm.uid),
                                     ", not to this user; add --allow-foreign-owner to destroy "
                                     "it anyway"));
      }
    }
  }
  absl::Status status = Store::Destroy(ctx.name());
  if (absl::IsNotFound(status)) {
    return ctx.Fail(kExitStore, absl::StrCat("no shmkv store at ", ctx.name().ToString(),
                                             ", so nothing to destroy; kvcli ls lists the "
                                             "stores on this host"));
  }
  if (!status.ok()) return ctx.StoreFailure(status);
  std::string line = absl::StrCat("destroyed the store at ", ctx.name().ToString());
  if (attached > 0) {
    absl::StrAppend(&line, "; ", attached, " process", attached == 1 ? " is" : "es are",
                    " still attached and keep", attached == 1 ? "s" : "",
                    " the old contents until detaching");
  }
  ctx.Write(line + "\n");
  return ctx.Finish();
}

// -------------------------------------------------------------- dispatch ---

namespace {

using Runner = int (*)(Context&);

Runner RunnerFor(absl::string_view name) {
  static const std::pair<const char*, Runner> kRunners[] = {
      {"create", RunCreate}, {"info", RunInfo},       {"stats", RunStats}, {"get", RunGet},
      {"put", RunPut},       {"del", RunDel},         {"incr", RunIncr},   {"touch", RunTouch},
      {"keys", RunKeys},     {"dump", RunDump},       {"load", RunLoad},   {"check", RunCheck},
      {"flush", RunFlush},   {"destroy", RunDestroy}, {"ls", RunLs},
  };
  for (const auto& entry : kRunners) {
    if (name == entry.first) return entry.second;
  }
  return nullptr;
}

// The name of positional argument `index` for "missing ..." messages.
std::string ArgName(absl::string_view command, size_t index) {
  if (index == 0) return "KEY";
  if (command == "put") return "VALUE (give the value, or - to read it from stdin)";
  return "an argument";
}

const char* Suggestion(absl::string_view command) {
  static const std::pair<const char*, const char*> kAliases[] = {
      {"set", "put"},      {"write", "put"},    {"read", "get"},       {"delete", "del"},
      {"rm", "del"},       {"remove", "del"},   {"increment", "incr"}, {"list", "keys"},
      {"scan", "keys"},    {"clear", "flush"},  {"stat", "stats"},     {"status", "info"},
      {"show", "info"},    {"drop", "destroy"}, {"backup", "dump"},    {"export", "dump"},
      {"restore", "load"}, {"import", "load"},  {"verify", "check"},   {"fsck", "check"},
      {"new", "create"},   {"init", "create"},  {"list-stores", "ls"}, {"expire", "touch"},
  };
  for (const auto& alias : kAliases) {
    if (command == alias.first) return alias.second;
  }
  return nullptr;
}

int RunHelp(const ParsedArgs& parsed, std::FILE* out, std::FILE* err) {
  if (!parsed.error.empty() || !parsed.flags.empty()) {
    std::fprintf(err, "kvcli: help: %s\nusage: kvcli help [command|json]\n",
                 parsed.error.empty() ? "help takes no flags" : OneLine(parsed.error).c_str());
    return kExitUsage;
  }
  if (parsed.positionals.empty()) {
    std::fputs(OverviewHelp().c_str(), out);
    return kExitOk;
  }
  if (parsed.positionals.size() > 1) {
    std::fprintf(err, "kvcli: help: give one command or topic\nusage: kvcli help [command|json]\n");
    return kExitUsage;
  }
  const std::string& topic = parsed.positionals[0];
  if (const CommandSpec* spec = FindCommand(topic); spec != nullptr) {
    std::fputs(CommandHelp(*spec).c_str(), out);
    return kExitOk;
  }
  if (topic == "help") {
    std::fputs(
        "usage: kvcli help [command|json]\n\nShows the overview, a command's help, or "
        "the fields of --json output.\n",
        out);
    return kExitOk;
  }
  std::string text = TopicHelp(topic);
  if (!text.empty()) {
    std::fputs(text.c_str(), out);
    return kExitOk;
  }
  std::fprintf(err,
               "kvcli: help: no command or topic \"%s\"; run kvcli help for the list\n"
               "usage: kvcli help [command|json]\n",
               Quote(topic).c_str());
  return kExitUsage;
}

}  // namespace

int RunKvcli(std::vector<std::string> args, std::FILE* in, std::FILE* out, std::FILE* err) {
  return RunKvcli(std::move(args), in, out, err, RunOptions());
}

int RunKvcli(std::vector<std::string> args, std::FILE* in, std::FILE* out, std::FILE* err,
             const RunOptions& options) {
  ParsedArgs parsed = SplitArgs(args);
  if (parsed.command.empty()) {
    if (parsed.help) {
      std::fputs(OverviewHelp().c_str(), out);
      return kExitOk;
    }
    std::fprintf(err, "kvcli: %s\n%s\n",
                 parsed.error.empty()
                     ? "no command given; kvcli help explains the commands"
                     : OneLine(absl::StrCat(parsed.error, " (and no command given)")).c_str(),
                 ShortUsage().c_str());
    return kExitUsage;
  }
  if (parsed.command == "help") return RunHelp(parsed, out, err);
  const CommandSpec* spec = FindCommand(parsed.command);
  Runner runner = RunnerFor(parsed.command);
  if (spec == nullptr || runner == nullptr) {
    std::string message = absl::StrCat("unknown command \"", Quote(parsed.command), "\"");
    if (const char* suggestion = Suggestion(parsed.command); suggestion != nullptr) {
      absl::StrAppend(&message, "; did you mean kvcli ", suggestion, "?");
    } else {
      absl::StrAppend(&message, "; kvcli help lists the commands");
    }
    std::fprintf(err, "kvcli: %s\n%s\n", OneLine(message).c_str(), ShortUsage().c_str());
    return kExitUsage;
  }
  if (parsed.help) {
    std::fputs(CommandHelp(*spec).c_str(), out);
    return kExitOk;
  }
  Context ctx(*spec, std::move(parsed), in, out, err, options);
  if (!ctx.args().error.empty()) return ctx.Usage(ctx.args().error);
  for (const auto& flag : ctx.args().flags) {
    if (!CommandTakesFlag(*spec, flag.first)) {
      return ctx.Usage(absl::StrCat("--", flag.first, " does not apply to ", spec->name,
                                    "; kvcli help ", spec->name, " lists its flags"));
    }
  }
  if (ctx.arg_count() < spec->min_args) {
    return ctx.Usage(absl::StrCat("missing ", ArgName(spec->name, ctx.arg_count())));
  }
  if (ctx.arg_count() > spec->max_args) {
    std::string message =
        absl::StrCat("unexpected argument \"", Quote(ctx.arg(spec->max_args)), "\"");
    if (absl::string_view(ctx.arg(spec->max_args)).substr(0, 1) == "-") {
      absl::StrAppend(&message, " (flags start with --; put -- before a key that starts with -)");
    } else if (spec->max_args == 0) {
      absl::StrAppend(&message, " (", spec->name, " takes only flags)");
    }
    return ctx.Usage(message);
  }
  if (spec->store) {
    if (int code = ctx.ResolveStore()) return code;
  }
  return runner(ctx);
}

}  // namespace kvcli
}  // namespace shmkv
