#include "shmkv/admin.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"
#include "kv/internal/probe.h"
#include "kv/internal/stripe.h"
#include "kv/platform/ipc.h"
#include "shmkv/store.h"

namespace shmkv {
namespace {

SegmentInfo FromListing(const platform::ShmListing& listing) {
  SegmentInfo info;
  info.key = listing.key;
  info.shm_id = listing.shm_id;
  info.segment_bytes = listing.stat.size;
  info.owner_uid = listing.stat.owner_uid;
  info.creator_uid = listing.stat.creator_uid;
  info.mode = listing.stat.mode;
  info.attached_processes = listing.stat.attached;
  info.removed = listing.stat.removed;
  return info;
}

// Sets info->kind (and layout_version or detail) from the segment's first
// page, read through a read-only attachment. NotFound when the segment was
// removed meanwhile.
absl::Status Classify(SegmentInfo* info) {
  // A removed segment has lost its key (the kernel sets IPC_PRIVATE) but,
  // while attached, can still be attached by id and so read.
  if (info->key == 0 && !info->removed) {
    info->kind = SegmentKind::kPrivate;
    info->detail = "no key: a private segment";
    return absl::OkStatus();
  }
  absl::StatusOr<void*> mapped = platform::ShmAttach(info->shm_id, info->key, /*read_only=*/true);
  if (absl::IsNotFound(mapped.status())) return mapped.status();
  if (absl::IsPermissionDenied(mapped.status())) {
    info->kind = SegmentKind::kUnreadable;
    info->detail = "its mode denies this user read access";
    return absl::OkStatus();
  }
  if (!mapped.ok()) {
    info->kind = SegmentKind::kError;
    info->detail = std::string(mapped.status().message());
    return absl::OkStatus();
  }
  const internal::HeaderProbe probe = internal::ProbeHeader(*mapped, info->segment_bytes);
  platform::ShmDetach(*mapped);
  if (probe.has_magic) {
    info->kind = SegmentKind::kStore;
    info->layout_version = probe.layout_version;
    info->semaphore_missing =
        !info->removed && absl::IsNotFound(platform::SemLookup(info->key).status());
  } else if (info->key == 0) {
    info->kind = SegmentKind::kPrivate;
    info->detail = "no key: removed while still attached (not a shmkv store)";
  } else {
    info->kind = SegmentKind::kNotStore;
    info->detail = "no shmkv header";
  }
  return absl::OkStatus();
}

}  // namespace

uint32_t SupportedLayoutVersion() { return internal::kLayoutVersion; }

absl::StatusOr<StorePlan> PlanStore(const Options& options) {
  absl::StatusOr<internal::Geometry> g = internal::PlanGeometry(options);
  if (!g.ok()) return g.status();
  StorePlan plan;
  plan.segment_bytes = g->segment_bytes;
  plan.capacity = g->capacity();
  plan.lock_stripes = g->stripe_count;
  plan.index_slots = uint64_t{g->stripe_count} * g->slots_per_stripe;
  plan.max_key_size = g->max_key_size;
  plan.max_value_size = g->max_value_size;
  return plan;
}

uint64_t StripeReserveBytes(const StoreInfo& info, uint64_t largest_entry_bytes) {
  const uint64_t stripe_bytes =
      info.lock_stripes == 0 ? info.capacity : info.capacity / info.lock_stripes;
  return internal::KeptFreeBytes(largest_entry_bytes, stripe_bytes, info.evict);
}

absl::StatusOr<std::vector<SegmentInfo>> ListSegments() {
  absl::StatusOr<std::vector<platform::ShmListing>> listings = platform::ShmList();
  if (!listings.ok()) return listings.status();
  std::vector<SegmentInfo> segments;
  for (const platform::ShmListing& listing : *listings) {
    SegmentInfo info = FromListing(listing);
    if (absl::IsNotFound(Classify(&info))) continue;  // removed meanwhile
    segments.push_back(std::move(info));
  }
  std::sort(segments.begin(), segments.end(), [](const SegmentInfo& a, const SegmentInfo& b) {
    return static_cast<uint32_t>(a.key) != static_cast<uint32_t>(b.key)
               ? static_cast<uint32_t>(a.key) < static_cast<uint32_t>(b.key)
               : a.shm_id < b.shm_id;
  });
  return segments;
}

absl::StatusOr<SegmentInfo> ProbeSegment(const StoreName& name) {
  absl::StatusOr<int> shm_id = platform::ShmLookup(name.key());
  if (absl::IsNotFound(shm_id.status())) {
    return absl::NotFoundError(absl::StrCat("no segment at ", name.ToString(),
                                            "; kvcli ls lists the stores on this host"));
  }
  if (!shm_id.ok()) return shm_id.status();
  // The listing rather than IPC_STAT: it needs no read permission.
  absl::StatusOr<std::vector<platform::ShmListing>> listings = platform::ShmList();
  if (!listings.ok()) return listings.status();
  for (const platform::ShmListing& listing : *listings) {
    if (listing.shm_id != *shm_id) continue;
    SegmentInfo info = FromListing(listing);
    if (absl::Status s = Classify(&info); !s.ok()) return s;
    return info;
  }
  return absl::NotFoundError(
      absl::StrCat("the segment at ", name.ToString(), " was removed while probing it"));
}

absl::StatusOr<DestroyResult> DestroyStore(const StoreName& name, const DestroyOptions& options) {
  DestroyResult result;
  // Without the segment's facts (none there, or no permission to read them)
  // Store::Destroy reports what is wrong.
  if (absl::StatusOr<int> shm_id = platform::ShmLookup(name.key()); shm_id.ok()) {
    if (absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(*shm_id); st.ok()) {
      result.attached_processes = st->attached;
      if (absl::Status s = internal::CheckOwner(name, *shm_id, *st, options.allow_foreign_owner,
                                                "set DestroyOptions::allow_foreign_owner to "
                                                "destroy it anyway");
          !s.ok()) {
        return s;
      }
    }
  }
  absl::Status status = Store::Destroy(name);
  if (absl::IsNotFound(status)) {
    return absl::NotFoundError(absl::StrCat("no shmkv store at ", name.ToString(),
                                            ", so nothing to destroy; kvcli ls lists the "
                                            "stores on this host"));
  }
  if (!status.ok()) return status;
  return result;
}

}  // namespace shmkv
