// kvcli ls: every shmkv store on the host, found through /proc/sysvipc/shm.
//
// Each segment is recognised without side effects on others' segments: kvcli
// attaches it read-only and looks for the shmkv magic number, so a foreign
// segment is never locked, written or given a semaphore set. Segments that
// carry the magic number are opened with OpenMode::kAttach and
// allow_foreign_owner (only to read their Info and Stats), which validates
// the whole header before anything in it is trusted.
#include <errno.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "kv/internal/layout.h"
#include "tools/cli/parse.h"
#include "tools/kvcli/context.h"
#include "tools/kvcli/json.h"

namespace shmkv {
namespace kvcli {
namespace {

constexpr char kProcShm[] = "/proc/sysvipc/shm";

struct Segment {
  key_t key = 0;
  int shm_id = -1;
  int mode = 0;
  uint64_t size = 0;
  uint64_t attached = 0;
  uid_t owner_uid = 0;
};

struct Row {
  Segment segment;
  bool is_store = false;
  // Stores:
  std::string name;
  uint64_t capacity = 0;
  bool items_known = false;
  uint64_t items = 0;
  // Others:
  std::string status;  // not_shmkv, permission_denied, private, incompatible, error, gone
  std::string detail;
};

absl::StatusOr<std::vector<Segment>> ReadSegments() {
  std::FILE* file = std::fopen(kProcShm, "r");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot read ", kProcShm, ": ", std::strerror(errno),
                                               " (needs Linux with /proc mounted)"));
  }
  std::vector<Segment> segments;
  char* buffer = nullptr;
  size_t capacity = 0;
  std::vector<std::string> columns;
  absl::Status status;
  while (getline(&buffer, &capacity, file) >= 0) {
    std::vector<std::string> fields =
        absl::StrSplit(buffer, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    if (fields.empty()) continue;
    if (columns.empty()) {
      columns = fields;
      continue;
    }
    auto field = [&](absl::string_view name) -> const std::string* {
      for (size_t i = 0; i < columns.size() && i < fields.size(); ++i) {
        if (columns[i] == name) return &fields[i];
      }
      return nullptr;
    };
    const std::string* key = field("key");
    const std::string* id = field("shmid");
    const std::string* perms = field("perms");
    const std::string* size = field("size");
    const std::string* nattch = field("nattch");
    const std::string* uid = field("uid");
    Segment s;
    int64_t key_value = 0;
    uint64_t perms_value = 0;
    uint32_t uid_value = 0;
    if (key == nullptr || id == nullptr || perms == nullptr || size == nullptr ||
        nattch == nullptr || uid == nullptr || !absl::SimpleAtoi(*key, &key_value) ||
        !absl::SimpleAtoi(*id, &s.shm_id) || !absl::SimpleAtoi(*size, &s.size) ||
        !absl::SimpleAtoi(*nattch, &s.attached) || !absl::SimpleAtoi(*uid, &uid_value)) {
      continue;  // a line this kvcli does not understand
    }
    // perms are octal in /proc and may carry SHM_DEST and other state bits.
    char* end = nullptr;
    perms_value = std::strtoull(perms->c_str(), &end, 8);
    s.key = static_cast<key_t>(static_cast<uint32_t>(key_value));
    s.mode = static_cast<int>(perms_value & 0777);
    s.owner_uid = uid_value;
    segments.push_back(s);
  }
  std::free(buffer);
  std::fclose(file);
  return segments;
}

// Whether the segment starts with a shmkv header, read through a read-only
// attachment (nothing is locked or created). Sets row->status otherwise.
bool LooksLikeStore(const Segment& segment, Row* row) {
  void* base = shmat(segment.shm_id, nullptr, SHM_RDONLY);
  if (base == reinterpret_cast<void*>(-1)) {
    const int err = errno;
    if (err == EACCES) {
      row->status = "permission_denied";
      row->detail = "its mode denies this user read access";
    } else if (err == EINVAL || err == EIDRM) {
      row->status = "gone";
    } else {
      row->status = "error";
      row->detail = absl::StrCat("shmat: ", std::strerror(err));
    }
    return false;
  }
  uint64_t magic = 0;
  const bool big_enough = segment.size >= internal::kHeaderRegionBytes;
  if (big_enough) std::memcpy(&magic, base, sizeof(magic));
  shmdt(base);
  if (!big_enough || magic != internal::kMagic) {
    row->status = "not_shmkv";
    row->detail = "no shmkv header";
    return false;
  }
  return true;
}

Row Inspect(const Segment& segment, absl::Duration lock_timeout) {
  Row row;
  row.segment = segment;
  if (segment.key == 0) {
    row.status = "private";
    row.detail = "no key: a private segment, or one destroyed while still attached";
    return row;
  }
  if (!LooksLikeStore(segment, &row)) return row;
  absl::StatusOr<StoreName> name = StoreName::FromKey(segment.key);
  if (!name.ok()) {
    row.status = "error";
    row.detail = std::string(name.status().message());
    return row;
  }
  Options options;
  options.allow_foreign_owner = true;
  options.lock_timeout = lock_timeout;
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(*name, options, OpenMode::kAttach);
  if (!store.ok()) {
    const absl::Status& s = store.status();
    row.status = absl::IsPermissionDenied(s)                            ? "permission_denied"
                 : absl::IsFailedPrecondition(s) || absl::IsDataLoss(s) ? "incompatible"
                 : absl::IsNotFound(s)                                  ? "gone"
                                                                        : "error";
    row.detail = std::string(s.message());
    return row;
  }
  absl::StatusOr<StoreInfo> info = (*store)->Info();
  if (!info.ok()) {
    row.status = "error";
    row.detail = std::string(info.status().message());
    return row;
  }
  row.is_store = true;
  row.name = info->name;
  row.capacity = info->capacity;
  row.segment.size = info->segment_bytes;
  row.segment.mode = info->mode;
  row.segment.owner_uid = info->owner_uid;
  // The kernel's count includes this kvcli's own attachment.
  row.segment.attached = info->attached_processes > 0 ? info->attached_processes - 1 : 0;
  if (absl::StatusOr<StoreStats> stats = (*store)->Stats(); stats.ok()) {
    row.items_known = true;
    row.items = stats->items;
  } else {
    row.detail = std::string(stats.status().message());
  }
  return row;
}

std::string OwnerText(uid_t uid) {
  std::string name = UserName(uid);
  return name.empty() ? absl::StrCat(uid) : name;
}

JsonObject SegmentJson(const Segment& s) {
  JsonObject json;
  json.Str("key", KeyHex(s.key))
      .U64("key_decimal", static_cast<uint32_t>(s.key))
      .I64("shm_id", s.shm_id)
      .U64("segment_bytes", s.size)
      .U64("attached_processes", s.attached)
      .U64("owner_uid", s.owner_uid)
      .Str("owner", UserName(s.owner_uid))
      .Str("mode", ModeText(s.mode));
  return json;
}

}  // namespace

int RunLs(Context& ctx) {
  absl::Duration lock_timeout = absl::Seconds(1);
  if (absl::Status s = ctx.DurationFlag("lock-timeout", &lock_timeout); !s.ok()) {
    return ctx.Usage(s.message());
  }
  if (lock_timeout <= absl::ZeroDuration()) return ctx.Usage("--lock-timeout must be positive");
  if (ctx.dry_run()) return kExitOk;
  absl::StatusOr<std::vector<Segment>> segments = ReadSegments();
  if (!segments.ok()) return ctx.Fail(kExitStore, segments.status().message());
  std::sort(segments->begin(), segments->end(), [](const Segment& a, const Segment& b) {
    return static_cast<uint32_t>(a.key) != static_cast<uint32_t>(b.key)
               ? static_cast<uint32_t>(a.key) < static_cast<uint32_t>(b.key)
               : a.shm_id < b.shm_id;
  });
  std::vector<Row> stores, others;
  for (const Segment& segment : *segments) {
    Row row = Inspect(segment, lock_timeout);
    if (row.status == "gone") continue;  // removed while ls ran
    (row.is_store ? stores : others).push_back(std::move(row));
  }
  const bool all = ctx.Has("all");
  if (ctx.Has("json")) {
    std::string list;
    for (const Row& row : stores) {
      JsonObject json = SegmentJson(row.segment);
      json.U64("capacity", row.capacity);
      if (row.items_known) {
        json.U64("items", row.items);
      } else {
        json.Null("items");
      }
      json.Str("name", row.name);
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
    ctx.Write(top.Build() + "\n");
    return ctx.Finish();
  }
  std::string text;
  if (stores.empty()) {
    text = "no shmkv stores on this host\n";
  } else {
    absl::StrAppend(
        &text, absl::StrFormat("%-10s  %8s  %10s  %10s  %8s  %-10s  %-4s  %s\n", "KEY", "SHM ID",
                               "SIZE", "ENTRIES", "ATTACHED", "OWNER", "MODE", "NAME"));
    for (const Row& row : stores) {
      const Segment& s = row.segment;
      absl::StrAppend(&text, absl::StrFormat("%-10s  %8d  %10s  %10s  %8d  %-10s  %-4s  %s\n",
                                             KeyHex(s.key), s.shm_id, cli::FormatBytes(s.size),
                                             row.items_known ? absl::StrCat(row.items) : "?",
                                             s.attached, OwnerText(s.owner_uid), ModeText(s.mode),
                                             row.name == "key " + KeyHex(s.key) ? "" : row.name));
    }
  }
  if (all && !others.empty()) {
    absl::StrAppend(&text, "\nother segments:\n",
                    absl::StrFormat("%-10s  %8s  %10s  %8s  %-10s  %-4s  %s\n", "KEY", "SHM ID",
                                    "SIZE", "ATTACHED", "OWNER", "MODE", "STATUS"));
    for (const Row& row : others) {
      const Segment& s = row.segment;
      absl::StrAppend(
          &text, absl::StrFormat("%-10s  %8d  %10s  %8d  %-10s  %-4s  %s: %s\n", KeyHex(s.key),
                                 s.shm_id, cli::FormatBytes(s.size), s.attached,
                                 OwnerText(s.owner_uid), ModeText(s.mode), row.status, row.detail));
    }
  } else if (!others.empty()) {
    absl::StrAppend(&text, "(", others.size(), " other segment",
                    others.size() == 1 ? " is" : "s are",
                    " not shmkv stores or not readable; kvcli ls --all shows them)\n");
  }
  ctx.Write(text);
  return ctx.Finish();
}

}  // namespace kvcli
}  // namespace shmkv
