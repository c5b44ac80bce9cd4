// Opening and destroying System V-backed stores: the creation protocol.
//
// The store's semaphore set (same key as the segment) serialises creation:
// an opener takes it, then finds or creates the segment, and initialises a
// new one completely before releasing it. So racing openers see either no
// segment or a finished one; a creator that dies mid-build releases the
// semaphore (SEM_UNDO) and leaves a header without kReady (or, killed before
// writing anything, an all-zero segment), which the next opener removes and
// rebuilds (doc/locking.md). A semaphore set is only ever removed by the
// process that holds it.
#include "shmkv/store.h"

#include <unistd.h>

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
#include "kv/platform/monotonic_clock.h"
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

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// A creation abandoned before its creator wrote anything (it was killed
// between shmget and the magic; InitializeImage writes the magic first):
// the header page is all zero, nobody is attached, and the process that
// created the segment is gone. `expected_bytes` (0: any) is the size the
// opener's own geometry gives; a segment of another size is someone else's.
bool AbandonedEmpty(const platform::SegmentStat& st, const char* base, uint64_t expected_bytes) {
  return st.size >= internal::kHeaderRegionBytes &&
         (expected_bytes == 0 || st.size == expected_bytes) && st.attached == 0 &&
         !platform::ProcessExists(st.creator_pid) && AllZero(base, internal::kHeaderRegionBytes);
}

// Settings of an existing store that differ from what `planned` (from the
// opener's Options) would have created, one sentence each.
std::vector<std::string> SettingDifferences(const Geometry& have, const Geometry& want) {
  std::vector<std::string> out;
  auto differ = [&](const char* what, auto existing, auto requested) {
    if (existing != requested) {
      out.push_back(
          absl::StrCat(what, ": the store has ", existing, ", the options ask for ", requested));
    }
  };
  differ("capacity (bytes)", have.capacity(), want.capacity());
  differ("max value size", have.max_value_size, want.max_value_size);
  differ("evict", have.evict ? "on" : "off", want.evict ? "on" : "off");
  differ("default TTL (ms)", have.default_ttl_ms, want.default_ttl_ms);
  differ("lock stripes", have.stripe_count, want.stripe_count);
  return out;
}

// Attaches an existing segment and validates it; the semaphore is held.
// *abandoned: the segment is a creation its creator never finished.
absl::StatusOr<std::unique_ptr<SegmentStore>> AttachExisting(const StoreName& name, int shm_id,
                                                             int sem_id, const Options& options,
                                                             uint64_t expected_bytes,
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
  if (!probe.has_magic && AbandonedEmpty(*st, base, expected_bytes)) {
    *abandoned = true;
    return absl::FailedPreconditionError(absl::StrCat(
        internal::DescribeSegment(name, shm_id, *st), " is empty: its creator (pid ",
        st->creator_pid,
        ") died before writing it; open with kCreate or kOpenOrCreate to replace it, or remove "
        "it with kvcli destroy"));
  }
  *abandoned = probe.has_magic && !probe.ready;
  absl::StatusOr<Geometry> geometry =
      internal::ValidateImage(base, st->size, internal::DescribeSegment(name, shm_id, *st));
  if (!geometry.ok()) return geometry.status();
  std::move(detach).Cancel();
  return std::make_unique<SegmentStore>(base, *geometry, shm_id, sem_id, options,
                                        [base] { platform::ShmDetach(base); });
}

absl::StatusOr<std::unique_ptr<SegmentStore>> CreateNew(const StoreName& name, Geometry geometry,
                                                        int sem_id, const Options& options) {
  geometry.hash_seed = options.hash_seed != 0 ? options.hash_seed : internal::RandomHashSeed();
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
    bool abandoned = false;
    absl::StatusOr<std::unique_ptr<SegmentStore>> store = AttachExisting(
        name, *shm_id, sem_id, options, planned.ok() ? planned->segment_bytes : 0, &abandoned);
    if (mode == OpenMode::kCreate && !abandoned) {
      return absl::AlreadyExistsError(
          absl::StrCat("a store already exists at ", name.ToString(),
                       "; attach to it, or remove it first (kvcli destroy)"));
    }
    if (store.ok() && mode == OpenMode::kOpenOrCreate && planned.ok()) {
      std::vector<std::string> differences = SettingDifferences((*store)->geometry(), *planned);
      if (!differences.empty() && options.require_same_settings) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the store at ", name.ToString(), " was created with other settings (",
            absl::StrJoin(differences, "; "),
            "); open it with its settings, or without require_same_settings, or destroy and "
            "re-create it"));
      }
      for (std::string& d : differences) {
        (*store)->AddWarning(absl::StrCat("this process opened the store with other settings (", d,
                                          "); the store's own settings apply"));
      }
    }
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
  const absl::Duration give_up = platform::MonotonicNow() + options.lock_timeout;
  absl::StatusOr<std::unique_ptr<SegmentStore>> store;
  for (;;) {
    bool created_sem = false;
    absl::StatusOr<int> sem_id =
        platform::SemOpenOrCreate(name.key(), options.mode, absl::Seconds(2), &created_sem);
    if (!sem_id.ok()) return sem_id.status();
    if (!created_sem) {
      // Whoever created the set holds the store-wide lock at will: trust it
      // only as far as we would trust its segment.
      absl::StatusOr<platform::SemStat> sem_st = platform::SemStatus(*sem_id);
      if (absl::IsNotFound(sem_st.status())) continue;  // removed by its holder meanwhile
      if (!sem_st.ok()) return sem_st.status();
      if (absl::Status s = internal::CheckSemaphoreOwner(
              name, *sem_id, *sem_st, options.allow_foreign_owner,
              "a semaphore set squatted at a key is not trusted — set "
              "Options::allow_foreign_owner (kvcli --allow-foreign-owner) if this store is meant "
              "to be shared");
          !s.ok()) {
        return s;
      }
    }
    bool removed = false;
    if (absl::Status s = platform::SemLock(*sem_id, options.lock_timeout, &removed); !s.ok()) {
      // Its holder destroyed the store (or gave up creating it) and removed
      // the set: start over with the name as it is now.
      if (removed && platform::MonotonicNow() < give_up) continue;
      return s;
    }
    store = OpenLocked(name, options, mode, *sem_id, planned);
    if (!store.ok() && created_sem) {
      // A set this call created belongs to no working store (a store has its
      // own set from its creation): remove it so failures leave nothing
      // behind — while still holding it, so nobody else is using it.
      (void)platform::SemRemove(*sem_id);
    } else {
      platform::SemUnlock(*sem_id);
    }
    break;
  }
  if (!store.ok()) return store.status();
  (*store)->SetOpenedKey(name.key());
  if (options.populate) (*store)->PopulatePages();
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
  // A set that disappears while we wait for it was removed by its holder (a
  // racing Destroy, or an opener that gave up): look at the name again.
  for (int attempt = 0;; ++attempt) {
    // The set is opened (created if absent) and taken like an opener does,
    // so a Destroy and an Open of one name never overlap: without it, a
    // Destroy that finds no set could meet a segment an opener is building.
    bool created_sem = false;
    absl::StatusOr<int> sem_id =
        platform::SemOpenOrCreate(name.key(), 0600, absl::Seconds(2), &created_sem);
    if (!sem_id.ok()) return sem_id.status();
    // Take the store-wide lock if we can, so no open or clear is midway; a
    // stuck holder must not keep the segment alive, so the segment goes even
    // without it, but the set is removed only by its holder.
    bool locked = false;
    {
      bool removed = false;
      locked = platform::SemLock(*sem_id, absl::Seconds(2), &removed).ok();
      if (removed && attempt < 100) continue;
    }
    // Looked up under the lock: an opener may have created it while we waited.
    absl::StatusOr<int> shm_id = platform::ShmLookup(name.key());
    // On the way out: a set this call made belongs to no store, so it goes
    // (removed by us, its holder); another's set is released.
    auto release = absl::MakeCleanup([&] {
      if (!locked) return;
      if (created_sem) {
        (void)platform::SemRemove(*sem_id);
      } else {
        platform::SemUnlock(*sem_id);
      }
    });
    if (!shm_id.ok() && !absl::IsNotFound(shm_id.status())) return shm_id.status();
    if (!shm_id.ok() && created_sem) return NoStore(name);
    if (shm_id.ok()) {
      absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(*shm_id);
      if (!st.ok()) return st.status();
      absl::StatusOr<void*> mapped = platform::ShmAttach(*shm_id, name.key());
      if (!mapped.ok()) return mapped.status();
      char* base = static_cast<char*>(*mapped);
      const bool is_store = internal::ProbeHeader(base, st->size).has_magic;
      const bool abandoned = !is_store && st->creator_uid == geteuid() &&
                             AbandonedEmpty(*st, base, /*expected_bytes=*/0);
      // Processes still attached must learn that their writes go nowhere.
      if (is_store) internal::MarkImageDestroyed(base);
      platform::ShmDetach(base);
      if (!is_store && !abandoned) {
        return absl::FailedPreconditionError(
            absl::StrCat(internal::DescribeSegment(name, *shm_id, *st),
                         " is not a shmkv store, so it was left alone; remove it with ipcrm -m ",
                         *shm_id, " if you are sure"));
      }
      if (absl::Status removed = platform::ShmRemove(*shm_id); !removed.ok()) return removed;
    }
    if (!locked) {
      return absl::UnavailableError(absl::StrCat(
          "the store's semaphore set at ", name.ToString(), " (id ", *sem_id,
          ") stayed held by pid ", platform::SemLastPid(*sem_id), " for 2s",
          shm_id.ok() ? "; the segment was removed but" : ";",
          " the set was left (only its holder may remove it); run destroy again once that "
          "process has let go, or stop it"));
    }
    std::move(release).Cancel();
    return platform::SemRemove(*sem_id);
  }
}

}  // namespace shmkv
