// Opening and destroying System V-backed stores: the creation protocol.
//
// The store's semaphore set (same key as the segment) serialises creation:
// an opener takes it, then finds or creates the segment, and initialises a
// new one completely before releasing it. So racing openers see either no
// segment or a finished one; a creator that dies mid-build releases the
// semaphore (SEM_UNDO) and leaves a header without kReady, which the next
// opener removes and rebuilds (doc/locking.md).
#include "shmkv/store.h"

#include <cstring>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kv/internal/geometry.h"
#include "kv/internal/probe.h"
#include "kv/internal/segment_store.h"
#include "kv/platform/ipc.h"
#include "kv/platform/process.h"
#include "shmkv/clock.h"

namespace shmkv {
namespace {

using internal::Geometry;
using internal::SegmentStore;

absl::Status NoStore(const StoreName& name) {
  std::string selector = name.path().empty()
                             ? absl::StrCat("--key=", platform::KeyToString(name.key()))
                             : absl::StrCat("--path=", name.path(), " --proj=", name.proj_id());
  return absl::NotFoundError(absl::StrCat("no shmkv store at ", name.ToString(),
                                          "; create one with kvcli create ", selector,
                                          " --capacity=64MiB (or open with kOpenOrCreate)"));
}

// Attaches an existing segment and validates it; the semaphore is held.
absl::StatusOr<std::unique_ptr<SegmentStore>> AttachExisting(const StoreName& name, int shm_id,
                                                             int sem_id, const Options& options,
                                                             bool* abandoned) {
  *abandoned = false;
  absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(shm_id);
  if (!st.ok()) return st.status();
  if (absl::Status s = internal::CheckOwner(
          name, shm_id, *st, options.allow_foreign_owner,
          "a segment squatted at a key is not trusted — set Options::allow_foreign_owner "
          "(kvcli --allow-foreign-owner) if this store is meant to be shared");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<void*> mapped = platform::ShmAttach(shm_id, name.key());
  if (!mapped.ok()) return mapped.status();
  char* base = static_cast<char*>(*mapped);
  auto detach = absl::MakeCleanup([base] { platform::ShmDetach(base); });
  const internal::HeaderProbe probe = internal::ProbeHeader(base, st->size);
  *abandoned = probe.has_magic && !probe.ready;
  absl::StatusOr<Geometry> geometry =
      internal::ValidateImage(base, st->size, internal::DescribeSegment(name, shm_id, *st));
  if (!geometry.ok()) return geometry.status();
  std::move(detach).Cancel();
  return std::make_unique<SegmentStore>(base, *geometry, shm_id, sem_id, options,
                                        [base] { platform::ShmDetach(base); });
}

absl::StatusOr<std::unique_ptr<SegmentStore>> CreateNew(const StoreName& name,
                                                        const Geometry& geometry, int sem_id,
                                                        const Options& options) {
  absl::StatusOr<int> shm_id =
      platform::ShmCreate(name.key(), geometry.segment_bytes, options.mode, options.huge_pages);
  if (!shm_id.ok()) return shm_id.status();
  auto remove = absl::MakeCleanup([id = *shm_id] { (void)platform::ShmRemove(id); });
  absl::StatusOr<void*> mapped = platform::ShmAttach(*shm_id, name.key());
  if (!mapped.ok()) return mapped.status();
  char* base = static_cast<char*>(*mapped);
  internal::CreatorRecord creator;
  creator.key = name.key();
  creator.path = name.path();
  creator.proj_id = name.proj_id();
  creator.mode = options.mode;
  creator.sem_id = sem_id;
  creator.huge_pages = options.huge_pages;
  creator.created_at_ms =
      (options.clock != nullptr ? options.clock : SystemClock::Get())->NowMillis();
  if (absl::Status s = internal::InitializeImage(base, geometry, creator); !s.ok()) {
    platform::ShmDetach(base);
    return s;
  }
  std::move(remove).Cancel();
  return std::make_unique<SegmentStore>(base, geometry, *shm_id, sem_id, options,
                                        [base] { platform::ShmDetach(base); });
}

absl::StatusOr<std::unique_ptr<SegmentStore>> OpenLocked(const StoreName& name,
                                                         const Options& options, OpenMode mode,
                                                         int sem_id,
                                                         const absl::StatusOr<Geometry>& planned) {
  absl::StatusOr<int> shm_id = platform::ShmLookup(name.key());
  if (shm_id.ok()) {
    if (mode == OpenMode::kCreate) {
      return absl::AlreadyExistsError(
          absl::StrCat("a store already exists at ", name.ToString(),
                       "; attach to it, or remove it first (kvcli destroy)"));
    }
    bool abandoned = false;
    absl::StatusOr<std::unique_ptr<SegmentStore>> store =
        AttachExisting(name, *shm_id, sem_id, options, &abandoned);
    if (store.ok() || !abandoned || mode == OpenMode::kAttach) return store;
    // Its creator died mid-build (we hold the semaphore, so nobody else is
    // building it): replace it.
    if (absl::Status s = platform::ShmRemove(*shm_id); !s.ok()) return s;
  } else if (!absl::IsNotFound(shm_id.status())) {
    return shm_id.status();
  } else if (mode == OpenMode::kAttach) {
    return NoStore(name);
  }
  if (!planned.ok()) return planned.status();
  return CreateNew(name, *planned, sem_id, options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreName& name, const Options& options,
                                                   OpenMode mode) {
  if (options.lock_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lock_timeout must be positive");
  }
  absl::StatusOr<Geometry> planned = internal::PlanGeometry(options);
  if (mode == OpenMode::kCreate && !planned.ok()) return planned.status();
  if (mode == OpenMode::kAttach) {
    absl::StatusOr<int> exists = platform::ShmLookup(name.key());
    if (absl::IsNotFound(exists.status())) return NoStore(name);
    if (!exists.ok()) return exists.status();
  }
  bool created_sem = false;
  absl::StatusOr<int> sem_id =
      platform::SemOpenOrCreate(name.key(), options.mode, absl::Seconds(2), &created_sem);
  if (!sem_id.ok()) return sem_id.status();
  if (absl::Status s = platform::SemLock(*sem_id, options.lock_timeout); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<SegmentStore>> store =
      OpenLocked(name, options, mode, *sem_id, planned);
  platform::SemUnlock(*sem_id);
  if (store.ok() && options.populate) (*store)->PopulatePages();
  if (!store.ok()) {
    // A set this call created belongs to no working store (a store has its
    // own set from its creation): remove it so failures leave nothing behind.
    if (created_sem) (void)platform::SemRemove(*sem_id);
    return store.status();
  }
  if (options.require_persistence) {
    absl::StatusOr<StoreInfo> info = (*store)->Info();
    if (info.ok() && !info->warnings.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("this host would remove the store before IPC_RMID: ",
                       absl::StrJoin(info->warnings, "; ")));
    }
  }
  return std::unique_ptr<Store>(std::move(*store));
}

absl::Status Store::Destroy(const StoreName& name) {
  absl::StatusOr<int> shm_id = platform::ShmLookup(name.key());
  absl::StatusOr<int> sem_id = platform::SemLookup(name.key());
  if (!shm_id.ok() && !absl::IsNotFound(shm_id.status())) return shm_id.status();
  if (shm_id.ok()) {
    absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(*shm_id);
    if (!st.ok()) return st.status();
    absl::StatusOr<void*> mapped = platform::ShmAttach(*shm_id, name.key());
    if (!mapped.ok()) return mapped.status();
    const bool is_store = internal::ProbeHeader(*mapped, st->size).has_magic;
    platform::ShmDetach(*mapped);
    if (!is_store) {
      return absl::FailedPreconditionError(
          absl::StrCat(internal::DescribeSegment(name, *shm_id, *st),
                       " is not a shmkv store, so it was left alone; remove it with ipcrm -m ",
                       *shm_id, " if you are sure"));
    }
    // Take the store-wide lock if we can, so no open or clear is midway;
    // a stuck holder must not prevent removal, so proceed after the wait.
    bool locked = sem_id.ok() && platform::SemLock(*sem_id, absl::Seconds(2)).ok();
    absl::Status removed = platform::ShmRemove(*shm_id);
    if (!removed.ok()) {
      if (locked) platform::SemUnlock(*sem_id);
      return removed;
    }
  } else if (!sem_id.ok()) {
    return NoStore(name);
  }
  if (sem_id.ok()) return platform::SemRemove(*sem_id);
  return absl::OkStatus();
}

}  // namespace shmkv
