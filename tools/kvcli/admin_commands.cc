// kvcli's commands on whole stores (create, info, check, flush, destroy) and
// on the stores of the host (ls).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kv/util/escape.h"
#include "kv/util/format.h"
#include "shmkv/admin.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/flag_terms.h"
#include "tools/kvcli/host_stores.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/near_sync.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

std::string TimeText(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

std::string AgoText(int64_t unix_ms) {
  absl::Duration age = absl::Now() - absl::FromUnixMillis(unix_ms);
  if (age < absl::ZeroDuration()) return "in the future";
  return absl::StrCat(util::FormatDuration(absl::Seconds(absl::ToInt64Seconds(age))), " ago");
}

// "1044448 bytes (1020.0 KiB)": a limit is exact, the rounded size a hint.
std::string ExactBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " bytes");
  return absl::StrCat(bytes, " bytes (", util::FormatBytes(bytes), ")");
}

std::string UidText(uid_t uid) {
  std::string name = UserName(uid);
  return name.empty() ? absl::StrCat("uid ", uid) : absl::StrCat("uid ", uid, " (", name, ")");
}

}  // namespace

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
                   util::FormatBytes(info->capacity), " for entries, ", info->lock_stripes,
                   " lock stripe", info->lock_stripes == 1 ? "" : "s", ", values up to ",
                   ExactBytes(info->max_value_size), ", mode ", ModeText(info->mode));
  if (info->default_ttl > absl::ZeroDuration()) {
    absl::StrAppend(&line, ", default TTL ", util::FormatDuration(info->default_ttl));
  }
  if (!info->evict) absl::StrAppend(&line, ", no eviction");
  ctx.Write(line + "\n");
  for (const std::string& warning : info->warnings) ctx.Warn(warning);
  return ctx.Finish();
}  // namespace

namespace {

// info --json: one object.
std::string InfoJson(Store& store, const StoreInfo& info, uint64_t items, uint64_t attached) {
  const int64_t default_ttl_ms = absl::ToInt64Milliseconds(info.default_ttl);
  JsonObject json;
  json.Str("name", info.name)
      .Str("key", KeyHex(info.key))
      .U64("key_decimal", static_cast<uint32_t>(info.key))
      .I64("shm_id", info.shm_id)
      .I64("sem_id", info.sem_id)
      .U64("layout_version", info.layout_version)
      .U64("segment_bytes", info.segment_bytes)
      .U64("capacity", info.capacity)
      .U64("lock_stripes", info.lock_stripes)
      .U64("index_slots", info.index_slots)
      .U64("buckets", info.index_slots)  // index_slots' old name, kept for one release
      .U64("max_key_size", info.max_key_size)
      .U64("max_value_size", info.max_value_size)
      .Bool("evict", info.evict)
      .Bool("huge_pages", info.huge_pages)
      .I64("default_ttl_ms", default_ttl_ms)
      .I64("created_at_ms", info.created_at_ms)
      .Str("created_at", TimeText(info.created_at_ms))
      .U64("creator_uid", info.creator_uid)
      .I64("creator_pid", info.creator_pid)
      .U64("owner_uid", info.owner_uid)
      .Str("owner", UserName(info.owner_uid))
      .Str("mode", ModeText(info.mode))
      .U64("attached_processes", attached)
      .Bool("removed", info.removed)
      .U64("items", items)
      .Raw("near_sync", DescribeNearSync(store).json)
      .StrArray("warnings", info.warnings);
  return json.Build() + "\n";
}

// info: one labelled row a line.
std::string InfoText(Store& store, const StoreInfo& info, uint64_t items, uint64_t attached) {
  const int64_t default_ttl_ms = absl::ToInt64Milliseconds(info.default_ttl);
  std::string text;
  auto row = [&text](absl::string_view label, absl::string_view value) {
    absl::StrAppend(&text, absl::StrFormat("%-14s %s\n", label, value));
  };
  row("store", util::EscapeKey(info.name));  // a file name may hold a newline
  row("key", absl::StrCat(KeyHex(info.key), " (", static_cast<uint32_t>(info.key), ")"));
  row("ids", absl::StrCat("shm id ", info.shm_id, ", semaphore set ", info.sem_id));
  row("layout", absl::StrCat("version ", info.layout_version));
  row("entries", absl::StrCat(items));
  row("capacity",
      absl::StrCat(util::FormatBytes(info.capacity), " for entries (segment ",
                   util::FormatBytes(info.segment_bytes), ", ", info.segment_bytes, " bytes)"));
  row("limits", absl::StrCat("keys up to ", info.max_key_size, " bytes, values up to ",
                             ExactBytes(info.max_value_size)));
  row("locking", absl::StrCat(info.lock_stripes, " lock stripe", info.lock_stripes == 1 ? "" : "s",
                              ", ", info.index_slots, " hash index slots"));
  row("memory", info.huge_pages ? "huge pages (created with --huge-pages)" : "normal pages");
  row("when full", info.evict ? "evicts least recently used entries"
                              : "refuses writes (created with --no-evict)");
  row("default TTL", default_ttl_ms > 0 ? util::FormatDuration(info.default_ttl)
                                        : "none (entries never expire unless given a TTL)");
  row("created", absl::StrCat(TimeText(info.created_at_ms), " (", AgoText(info.created_at_ms),
                              ") by ", UidText(info.creator_uid), ", pid ", info.creator_pid));
  row("owner", absl::StrCat(UidText(info.owner_uid), ", mode ", ModeText(info.mode)));
  row("attached",
      absl::StrCat(attached, " process", attached == 1 ? "" : "es", " (not counting this kvcli)"));
  if (info.removed) {
    row("removed",
        "yes: removed from the system (destroy, ipcrm or IPC_RMID); attached processes' calls "
        "fail, and the memory lives until the last one detaches");
  }
  if (NearSyncView sync = DescribeNearSync(store); sync.present) row("near cache", sync.line);
  if (info.warnings.empty()) {
    row("warnings", "none");
  } else {
    for (const std::string& warning : info.warnings) row("warning", warning);
  }
  return text;
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
    ctx.Write(ctx.Has("json") ? InfoJson(store, *info, *items, attached)
                              : InfoText(store, *info, *items, attached));
    return ctx.Finish();
  });
}

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
        return ctx.Fail(kExitStore, absl::StrCat("the store has ", remaining.size(), " problem",
                                                 remaining.size() == 1 ? "" : "s",
                                                 "; save what is readable with kvcli dump "
                                                 "--salvage, then run kvcli check --repair"));
      }
      return ctx.Fail(
          kExitStore,
          absl::StrCat(remaining.size(), " problem", remaining.size() == 1 ? "" : "s",
                       " remain after the repair; dump what is readable (kvcli dump --salvage), "
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
  DestroyOptions options;
  options.allow_foreign_owner = ctx.open_options().allow_foreign_owner;
  absl::StatusOr<DestroyResult> destroyed = DestroyStore(ctx.name(), options);
  if (!destroyed.ok()) return ctx.StoreFailure(destroyed.status());
  const uint64_t attached = destroyed->attached_processes;
  std::string line = absl::StrCat("destroyed the store at ", ctx.name().ToString());
  if (attached > 0) {
    absl::StrAppend(&line, "; ", attached, " process", attached == 1 ? " is" : "es are",
                    " still attached: every call ", attached == 1 ? "it makes" : "they make",
                    " now fails with \"store was destroyed\" until ",
                    attached == 1 ? "it opens" : "they open", " the name again");
  }
  ctx.Write(line + "\n");
  return ctx.Finish();
}

namespace {

std::string OwnerText(uid_t uid) {
  std::string name = UserName(uid);
  return name.empty() ? absl::StrCat(uid) : name;
}

JsonObject SegmentJson(const SegmentInfo& s) {
  JsonObject json;
  json.Str("key", KeyHex(s.key))
      .U64("key_decimal", static_cast<uint32_t>(s.key))
      .I64("shm_id", s.shm_id)
      .U64("segment_bytes", s.segment_bytes)
      .U64("attached_processes", s.attached_processes)
      .U64("owner_uid", s.owner_uid)
      .Str("owner", UserName(s.owner_uid))
      .Str("mode", ModeText(s.mode));
  return json;
}

// ls --json: one object, the stores and (with --all) the other segments.
std::string LsJson(const std::vector<Row>& stores, const std::vector<Row>& others, bool all) {
  std::string list;
  for (const Row& row : stores) {
    JsonObject json = SegmentJson(row.segment);
    json.U64("capacity", row.capacity);
    if (row.items_known) {
      json.U64("items", row.items);
    } else {
      json.Null("items");
    }
    json.Str("name", row.name).Str("status", row.status).Str("detail", row.detail);
    absl::StrAppend(&list, list.empty() ? "" : ",", json.Build());
  }
  JsonObject top;
  top.Raw("stores", absl::StrCat("[", list, "]"));
  if (all) {
    list.clear();
    for (const Row& row : others) {
      JsonObject json = SegmentJson(row.segment);
      json.Str("status", row.status).Str("detail", row.detail);
      absl::StrAppend(&list, list.empty() ? "" : ",", json.Build());
    }
    top.Raw("others", absl::StrCat("[", list, "]"));
  }
  top.U64("others_count", others.size());
  return top.Build() + "\n";
}

// ls: a table of the stores, then the other segments (with --all) or how
// many there are.
std::string LsText(const std::vector<Row>& stores, const std::vector<Row>& others, bool all) {
  std::string text;
  size_t unreadable = 0;
  for (const Row& row : others) unreadable += row.status == "permission_denied" ? 1 : 0;
  if (stores.empty() && unreadable > 0) {
    text = absl::StrCat("no shmkv stores readable by this user (uid ", geteuid(), "): ", unreadable,
                        " segment", unreadable == 1 ? "" : "s",
                        " could not be read because their mode or owner denies this user; run "
                        "kvcli ls as their owner or as root (kvcli ls --all lists them)\n");
  } else if (stores.empty()) {
    text = "no shmkv stores on this host\n";
  } else {
    absl::StrAppend(
        &text, absl::StrFormat("%-10s  %8s  %10s  %10s  %8s  %-10s  %-4s  %s\n", "KEY", "SHM ID",
                               "SIZE", "ENTRIES", "ATTACHED", "OWNER", "MODE", "NAME"));
    for (const Row& row : stores) {
      const SegmentInfo& s = row.segment;
      absl::StrAppend(
          &text,
          absl::StrFormat("%-10s  %8d  %10s  %10s  %8d  %-10s  %-4s  %s\n", KeyHex(s.key), s.shm_id,
                          util::FormatBytes(s.segment_bytes),
                          row.items_known ? absl::StrCat(row.items) : "?", s.attached_processes,
                          OwnerText(s.owner_uid), ModeText(s.mode),
                          row.name == "key " + KeyHex(s.key) ? "" : util::EscapeKey(row.name)));
    }
    for (const Row& row : stores) {
      if (row.status == "removed") {
        absl::StrAppend(&text, "shm id ", row.segment.shm_id, ": ", row.detail, "\n");
      } else if (row.status != "ok") {
        absl::StrAppend(&text, KeyHex(row.segment.key), ": ", row.detail, "\n");
      }
    }
  }
  if (all && !others.empty()) {
    absl::StrAppend(&text, "\nother segments:\n",
                    absl::StrFormat("%-10s  %8s  %10s  %8s  %-10s  %-4s  %s\n", "KEY", "SHM ID",
                                    "SIZE", "ATTACHED", "OWNER", "MODE", "STATUS"));
    for (const Row& row : others) {
      const SegmentInfo& s = row.segment;
      absl::StrAppend(
          &text, absl::StrFormat("%-10s  %8d  %10s  %8d  %-10s  %-4s  %s: %s\n", KeyHex(s.key),
                                 s.shm_id, util::FormatBytes(s.segment_bytes), s.attached_processes,
                                 OwnerText(s.owner_uid), ModeText(s.mode), row.status, row.detail));
    }
  } else if (!others.empty()) {
    absl::StrAppend(&text, "(", others.size(),
                    others.size() == 1 ? " other segment is not a shmkv store"
                                       : " other segments are not shmkv stores",
                    " or not readable; kvcli ls --all shows them)\n");
  }
  return text;
}

}  // namespace

int RunLs(Context& ctx) {
  absl::Duration lock_timeout = absl::Seconds(1);
  if (absl::Status s = ctx.DurationFlag("lock-timeout", &lock_timeout); !s.ok()) {
    return ctx.Usage(s.message());
  }
  if (lock_timeout <= absl::ZeroDuration()) return ctx.Usage("--lock-timeout must be positive");
  if (ctx.dry_run()) return kExitOk;
  absl::StatusOr<std::vector<SegmentInfo>> segments = ListSegments();
  if (!segments.ok()) return ctx.Fail(kExitStore, segments.status().message());
  std::vector<Row> stores, others;
  for (const SegmentInfo& segment : *segments) {
    Row row = Inspect(segment, lock_timeout);
    if (row.status == "gone") continue;  // removed while ls ran
    (row.is_store ? stores : others).push_back(std::move(row));
  }
  const bool all = ctx.Has("all");
  ctx.Write(ctx.Has("json") ? LsJson(stores, others, all) : LsText(stores, others, all));
  return ctx.Finish();
}

}  // namespace kvcli
}  // namespace shmkv
