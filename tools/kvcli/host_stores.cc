#include "tools/kvcli/host_stores.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "shmkv/store_name.h"
#include "tools/kvcli/flag_terms.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {

// Segments that carry the shmkv magic number (kv/admin.h found them without
// touching them) are opened with OpenMode::kAttach and allow_foreign_owner,
// only to read their Info and Stats: Open validates the whole header before
// anything in it is trusted.
namespace {

const char* StatusName(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::kNotStore:
      return "not_shmkv";
    case SegmentKind::kUnreadable:
      return "permission_denied";
    case SegmentKind::kPrivate:
      return "private";
    case SegmentKind::kStore:
    case SegmentKind::kError:
      break;
  }
  return "error";
}

}  // namespace

Row Inspect(const SegmentInfo& segment, absl::Duration lock_timeout,
            absl::FunctionRef<void(Store&, const StoreInfo&, Row&)> read_more) {
  Row row;
  row.segment = segment;
  if (segment.kind != SegmentKind::kStore) {
    row.status = StatusName(segment.kind);
    row.detail = segment.detail;
    return row;
  }
  if (segment.removed) {
    // No name leads to it any more: what the listing says is all there is.
    row.is_store = true;
    row.status = "removed";
    row.detail = absl::StrCat(
        "removed (kvcli destroy, ipcrm -m or IPC_RMID) while ", segment.attached_processes,
        " process", segment.attached_processes == 1 ? " was" : "es were",
        " attached: no open can find it, and the kernel keeps it, with what they write to it, "
        "only until the last of them detaches (ipcs -m -i ",
        segment.shm_id, " shows the last pid to attach or detach)");
    return row;
  }
  absl::StatusOr<StoreName> name = StoreName::FromKey(segment.key);
  if (!name.ok()) {
    row.status = "error";
    row.detail = std::string(name.status().message());
    return row;
  }
  Options options;
  options.allow_foreign_owner = true;
  options.lock_timeout = lock_timeout;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(*name, options, OpenMode::kAttach);
  if (!store.ok()) {
    const absl::Status& s = store.status();
    row.status = absl::IsPermissionDenied(s)                            ? "permission_denied"
                 : absl::IsFailedPrecondition(s) || absl::IsDataLoss(s) ? "incompatible"
                 : absl::IsNotFound(s)                                  ? "gone"
                                                                        : "error";
    row.detail = InKvcliTerms(s.message(), &*name);
    if (segment.semaphore_missing && !absl::IsNotFound(s)) {
      // Still a store: only its creator can make it usable again.
      row.is_store = true;
      row.status = "semaphore_missing";
      row.name = absl::StrCat("key ", KeyHex(segment.key));
      row.detail = absl::StrCat(
          "its semaphore set is missing (removed, e.g. with ipcrm -s), so nobody can use it "
          "until its creator, uid ",
          segment.creator_uid, ", recreates it by running kvcli info --key=", KeyHex(segment.key),
          " as that user");
    }
    return row;
  }
  absl::StatusOr<StoreInfo> info = (*store)->Info();
  if (!info.ok()) {
    row.status = "error";
    row.detail = std::string(info.status().message());
    return row;
  }
  row.is_store = true;
  row.status = "ok";
  row.name = info->name;
  row.capacity = info->capacity;
  row.segment.segment_bytes = info->segment_bytes;
  row.segment.mode = info->mode;
  row.segment.owner_uid = info->owner_uid;
  // The kernel's count includes this kvcli's own attachment.
  row.segment.attached_processes = info->attached_processes > 0 ? info->attached_processes - 1 : 0;
  if (absl::StatusOr<StoreStats> stats = (*store)->Stats(); stats.ok()) {
    row.items_known = true;
    row.items = stats->items;
  } else {
    row.detail = std::string(stats.status().message());
  }
  read_more(**store, *info, row);
  return row;
}

Row Inspect(const SegmentInfo& segment, absl::Duration lock_timeout) {
  return Inspect(segment, lock_timeout, [](Store&, const StoreInfo&, Row&) {});
}

}  // namespace kvcli
}  // namespace shmkv
