// Opening and destroying System V-backed stores: the creation protocol.
//
// The store's semaphore set (same key as the segment) serialises creation:
// an opener takes it, then finds or creates the segment, and initialises a
// new one completely before releasing it. So racing openers see either no
// segment or a finished one; a creator that dies mid-build releases the
// semaphore (SEM_UNDO) and leaves a header without kReady (or, killed before
// writing anything, an all-zero segment), which the next opener removes and
// rebuilds once that creator is dead and nobody is attached (doc/locking.md).
// A semaphore set is only ever removed by the process that holds it, or,
// never initialised, once the process that created it is dead.
#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kv/internal/crash_point.h"
#include "kv/internal/geometry.h"
#include "kv/internal/probe.h"
#include "kv/internal/segment_store.h"
#include "kv/platform/ipc.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/platform/process.h"
#include "shmkv/clock.h"
#include "shmkv/store.h"

namespace shmkv {
namespace {

using internal::Geometry;
using internal::SegmentStore;

absl::Status NoStore(const StoreName& name) {
  return absl::NotFoundError(absl::StrCat(
      "no shmkv store at ", name.ToString(),
      "; create one with OpenMode::kCreate and Options::capacity_bytes, e.g. 64 MiB (or open "
      "with kOpenOrCreate)"));
}

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// The process that created the segment (shm_cpid) is dead and nobody is
// attached: the only proof that a segment no finished creation owns was
// abandoned rather than being built (or used) by someone right now.
bool CreatorGone(const platform::SegmentStat& st) {
  return st.attached == 0 && !platform::ProcessExists(st.creator_pid);
}

// A creation abandoned before its creator wrote anything (it was killed
// between shmget and the magic; InitializeImage writes the magic first):
// the header page is all zero and its creator is gone. `expected_bytes` (0:
// any) is the size the opener's own geometry gives; a segment of another
// size is someone else's.
bool AbandonedEmpty(const platform::SegmentStat& st, const char* base, uint64_t expected_bytes) {
  return st.size >= internal::kHeaderRegionBytes &&
         (expected_bytes == 0 || st.size == expected_bytes) && CreatorGone(st) &&
         AllZero(base, internal::kHeaderRegionBytes);
}

// Why a segment without a shmkv header is not treated as an abandoned
// creation, for messages that send the user to ipcrm.
std::string WhyNotAStore(const platform::SegmentStat& st, bool readable, bool all_zero) {
  if (!readable) return "its mode denies this user read access, so it cannot be told apart";
  if (!all_zero) return "it has no shmkv header: another program's segment";
  if (st.attached > 0) {
    return absl::StrCat("it is all zero, like a creation that never started, but ", st.attached,
                        " process(es) are attached to it");
  }
  if (platform::ProcessExists(st.creator_pid)) {
    return absl::StrCat("it is all zero, like a creation that never started, but its creator, pid ",
                        st.creator_pid, ", is still running");
  }
  return "it is all zero, but of another size than these options give";
}

// What kCreate answers at a name whose key holds a segment that is not an
// abandoned creation: a store (destroy it first) or a segment kvcli destroy
// will not touch (ipcrm, and why).
absl::Status CreateRefusal(const StoreName& name, int shm_id) {
  absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(shm_id);
  if (!st.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("a segment already exists at ", name.ToString(),
                                                 " (shm id ", shm_id,
                                                 "): ", st.status().message()));
  }
  internal::HeaderProbe probe;
  bool readable = false, all_zero = false;
  if (absl::StatusOr<void*> m = platform::ShmAttach(shm_id, name.key(), /*read_only=*/true);
      m.ok()) {
    readable = true;
    probe = internal::ProbeHeader(*m, st->size);
    all_zero = st->size >= internal::kHeaderRegionBytes &&
               AllZero(static_cast<const char*>(*m), internal::kHeaderRegionBytes);
    platform::ShmDetach(*m);
  }
  const std::string segment = internal::DescribeSegment(name, shm_id, *st);
  if (probe.has_magic) {
    const bool foreign = st->creator_uid != geteuid();
    return absl::AlreadyExistsError(
        absl::StrCat("a store already exists at ", name.ToString(), " (shm id ", shm_id,
                     foreign ? absl::StrCat(", created by uid ", st->creator_uid) : "",
                     "); attach to it, or remove it first with DestroyStore",
                     foreign ? " and DestroyOptions::allow_foreign_owner" : ""));
  }
  return absl::AlreadyExistsError(absl::StrCat(
      "a segment that is not a shmkv store already exists at ", name.ToString(), ": ", segment,
      " (", WhyNotAStore(*st, readable, all_zero),
      "); kvcli destroy removes only shmkv stores, so it will leave it. If nothing uses it, "
      "remove it with ipcrm -m ",
      shm_id, " (as its owner, its creator or root), or pick another key"));
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

// What an opener holding the semaphore may find at the key besides a
// working store: a creation its creator never finished (and is gone), or a
// store whose destroyer died between the destroyed mark and IPC_RMID (the
// destroyer holds the semaphore from the mark to the removal, so a marked
// segment still there when we hold it was left by a destroyer that died).
enum class Leftover { kNone, kAbandoned, kDestroyed };

// Attaches an existing segment and validates it; the semaphore is held.
absl::StatusOr<std::unique_ptr<SegmentStore>> AttachExisting(const StoreName& name, int shm_id,
                                                             int sem_id, const Options& options,
                                                             uint64_t expected_bytes,
                                                             Leftover* leftover,
                                                             platform::SegmentStat* stat) {
  *leftover = Leftover::kNone;
  absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(shm_id);
  if (!st.ok()) return st.status();
  *stat = *st;
  if (absl::Status s = internal::CheckOwner(
          name, shm_id, *st, options.allow_foreign_owner,
          "a segment squatted at a key is not trusted — set Options::allow_foreign_owner "
          "if this store is meant to be shared");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<void*> mapped = platform::ShmAttach(shm_id, name.key());
  if (!mapped.ok()) return mapped.status();
  char* base = static_cast<char*>(*mapped);
  auto detach = absl::MakeCleanup([base] { platform::ShmDetach(base); });
  const internal::HeaderProbe probe = internal::ProbeHeader(base, st->size);
  const std::string segment = internal::DescribeSegment(name, shm_id, *st);
  if (!probe.has_magic && AbandonedEmpty(*st, base, expected_bytes)) {
    *leftover = Leftover::kAbandoned;
    return absl::FailedPreconditionError(absl::StrCat(
        segment, " is empty: its creator (pid ", st->creator_pid,
        ") died before writing it; open with kCreate or kOpenOrCreate to replace it, or remove "
        "it with kvcli destroy"));
  }
  if (probe.destroyed) {
    *leftover = Leftover::kDestroyed;
    return absl::FailedPreconditionError(absl::StrCat(
        segment, " was destroyed, but its destroyer died before removing it; its owner (uid ",
        st->owner_uid, "), its creator (uid ", st->creator_uid,
        ") or root can finish: DestroyStore"));
  }
  if (probe.has_magic && !probe.ready) {
    if (CreatorGone(*st)) {
      *leftover = Leftover::kAbandoned;
    } else {
      return absl::FailedPreconditionError(absl::StrCat(
          segment, " is not fully built yet, and its creator (pid ", st->creator_pid,
          ") is still running or ", st->attached,
          " process(es) are attached, so it is not known to be abandoned; open again once "
          "that process has finished or exited"));
    }
  }
  absl::StatusOr<Geometry> geometry = internal::ValidateImage(base, st->size, segment);
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

// Warns about (or, with require_same_settings, refuses) an existing store
// whose settings differ from what the opener's options plan.
absl::Status CompareSettings(const StoreName& name, const Options& options, const Geometry& planned,
                             SegmentStore* store) {
  std::vector<std::string> differences = SettingDifferences(store->geometry(), planned);
  if (!differences.empty() && options.require_same_settings) {
    return absl::FailedPreconditionError(
        absl::StrCat("the store at ", name.ToString(), " was created with other settings (",
                     absl::StrJoin(differences, "; "),
                     "); open it with its settings, or without require_same_settings, or destroy "
                     "and re-create it"));
  }
  for (std::string& d : differences) {
    store->AddWarning(absl::StrCat("this process opened the store with other settings (", d,
                                   "); the store's own settings apply"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SegmentStore>> OpenLocked(const StoreName& name,
                                                         const Options& options, OpenMode mode,
                                                         int sem_id,
                                                         const absl::StatusOr<Geometry>& planned) {
  absl::StatusOr<int> shm_id = platform::ShmLookup(name.key());
  if (shm_id.ok()) {
    Leftover leftover = Leftover::kNone;
    platform::SegmentStat st;
    absl::StatusOr<std::unique_ptr<SegmentStore>> store = AttachExisting(
        name, *shm_id, sem_id, options, planned.ok() ? planned->segment_bytes : 0, &leftover, &st);
    if (leftover == Leftover::kDestroyed) {
      // Finish the dead destroyer's job, if the kernel lets us remove it.
      if (!platform::MayRemoveIpc(st.owner_uid, st.creator_uid)) return store.status();
      if (absl::Status s = platform::ShmRemove(*shm_id); !s.ok()) return s;
      if (mode == OpenMode::kAttach) return NoStore(name);
    } else {
      if (mode == OpenMode::kCreate && leftover == Leftover::kNone) {
        return CreateRefusal(name, *shm_id);
      }
      if (store.ok() && mode == OpenMode::kOpenOrCreate && planned.ok()) {
        if (absl::Status s = CompareSettings(name, options, *planned, store->get()); !s.ok()) {
          return s;
        }
      }
      if (store.ok() || leftover == Leftover::kNone || mode == OpenMode::kAttach) return store;
      // Its creator died mid-build (we hold the semaphore, so nobody else is
      // building it): replace it, with a plan of our own (without one, the
      // check above took a segment of any size for ours).
      if (!planned.ok()) return planned.status();
      if (absl::Status s = platform::ShmRemove(*shm_id); !s.ok()) return s;
    }
  } else if (!absl::IsNotFound(shm_id.status())) {
    return shm_id.status();
  } else if (mode == OpenMode::kAttach) {
    return NoStore(name);
  }
  if (!planned.ok()) return planned.status();
  return CreateNew(name, *planned, sem_id, options);
}

// How an opener may create the store's semaphore set if it is missing. A
// set missing beside an existing segment (removed with ipcrm -s) is
// recreated only by the segment's creator uid, with the segment's owner,
// group and mode: the set the store's users trust is one their own uid
// created, so a set made by anyone else (root listing the host, an opener
// with allow_foreign_owner) would lock them out. Anyone else creates
// nothing and is told who can recreate it.
absl::StatusOr<platform::SemCreation> SemCreationFor(const StoreName& name,
                                                     const Options& options) {
  platform::SemCreation creation;
  creation.mode = options.mode;
  if (!absl::IsNotFound(platform::SemLookup(name.key()).status())) return creation;
  absl::StatusOr<int> shm_id = platform::ShmLookup(name.key());
  if (!shm_id.ok()) return creation;  // a new store gets a new set
  absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(*shm_id);
  if (absl::IsNotFound(st.status())) return creation;
  if (!st.ok()) return st.status();
  if (st->creator_uid != geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        internal::DescribeSegment(name, *shm_id, *st),
        " has no semaphore set (it was removed, e.g. with ipcrm -s); only the store's creator, "
        "uid ",
        st->creator_uid, ", may recreate it, so this process (uid ", geteuid(),
        ") created nothing: open the store from a process of that user, then try again"));
  }
  creation.take_owner = true;
  creation.mode = st->mode;
  creation.owner_uid = st->owner_uid;
  creation.owner_gid = st->owner_gid;
  return creation;
}

// One attempt to open (or create) the store's semaphore set and take it.
// *retry: the set disappeared under us (removed by its holder: a Destroy,
// an opener that gave up), so the name is worth looking at again.
absl::StatusOr<int> LockName(const StoreName& name, const Options& options, bool* created,
                             bool* retry) {
  *retry = false;
  absl::StatusOr<platform::SemCreation> creation = SemCreationFor(name, options);
  if (!creation.ok()) return creation.status();
  absl::StatusOr<int> sem_id = platform::SemOpenOrCreate(name.key(), *creation, absl::Seconds(2),
                                                         created, &platform::ProcessExists);
  if (!sem_id.ok()) return sem_id.status();
  if (!*created) {
    // Whoever created the set holds the store-wide lock at will: trust it
    // only as far as we would trust its segment.
    absl::StatusOr<platform::SemStat> sem_st = platform::SemStatus(*sem_id);
    *retry = absl::IsNotFound(sem_st.status());
    if (!sem_st.ok()) return sem_st.status();
    if (absl::Status s = internal::CheckSemaphoreOwner(
            name, *sem_id, *sem_st, options.allow_foreign_owner,
            "a semaphore set squatted at a key is not trusted — set "
            "Options::allow_foreign_owner if this store is meant to be shared");
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = platform::SemLock(*sem_id, options.lock_timeout, retry); !s.ok()) return s;
  return *sem_id;
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
  // A set that keeps disappearing (destroyed and re-created over and over)
  // is looked at again only until the lock timeout.
  const absl::Duration give_up = platform::MonotonicNow() + options.lock_timeout;
  bool created_sem = false, retry = false;
  absl::StatusOr<int> sem_id = LockName(name, options, &created_sem, &retry);
  while (!sem_id.ok() && retry && platform::MonotonicNow() < give_up) {
    sem_id = LockName(name, options, &created_sem, &retry);
  }
  if (!sem_id.ok()) {
    if (!retry) return sem_id.status();
    return absl::UnavailableError(
        absl::StrCat("the semaphore set at ", name.ToString(), " kept disappearing for ",
                     absl::FormatDuration(options.lock_timeout),
                     " (the store is being destroyed and re-created over and over); try again: ",
                     sem_id.status().message()));
  }
  absl::StatusOr<std::unique_ptr<SegmentStore>> store =
      OpenLocked(name, options, mode, *sem_id, planned);
  if (!store.ok() && created_sem) {
    // A set this call created belongs to no working store (a store has its
    // own set from its creation): remove it so failures leave nothing
    // behind — while still holding it, so nobody else is using it.
    (void)platform::SemRemove(*sem_id);
  } else {
    platform::SemUnlock(*sem_id);
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

namespace {

// Destroy writes nothing unless the kernel will let this process remove
// both the segment and (when `sem_id` >= 0) the semaphore set: the same
// rule as IPC_RMID's (its owner or creator uid, or CAP_SYS_ADMIN), checked
// before the destroyed mark, so a user who may use a store but not remove
// it cannot leave it marked and still there.
absl::Status CheckMayRemove(const StoreName& name, int shm_id, const platform::SegmentStat& st,
                            int sem_id) {
  uid_t owner = st.owner_uid, creator = st.creator_uid;
  const char* what = "segment";
  if (platform::MayRemoveIpc(owner, creator) && sem_id >= 0) {
    absl::StatusOr<platform::SemStat> sem = platform::SemStatus(sem_id);
    if (!sem.ok()) return sem.status();
    owner = sem->owner_uid;
    creator = sem->creator_uid;
    what = "semaphore set";
  }
  if (platform::MayRemoveIpc(owner, creator)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("cannot destroy the store at ", name.ToString(), " (shm id ", shm_id, "): its ",
                   what, " may be removed only by its owner (uid ", owner, "), its creator (uid ",
                   creator, ") or root, and this user is uid ", geteuid(),
                   "; nothing was changed and the store keeps working. Run DestroyStore as one "
                   "of them"));
}

}  // namespace

absl::Status Store::Destroy(const StoreName& name) {
  // A set that disappears while we wait for it was removed by its holder (a
  // racing Destroy, or an opener that gave up): look at the name again.
  for (int attempt = 0;; ++attempt) {
    // The set is opened (created if absent) and taken like an opener does,
    // so a Destroy and an Open of one name never overlap: without it, a
    // Destroy that finds no set could meet a segment an opener is building.
    bool created_sem = false;
    platform::SemCreation creation;
    absl::StatusOr<int> sem_id = platform::SemOpenOrCreate(name.key(), creation, absl::Seconds(2),
                                                           &created_sem, &platform::ProcessExists);
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
      if (absl::Status s =
              CheckMayRemove(name, *shm_id, *st, locked && !created_sem ? *sem_id : -1);
          !s.ok()) {
        return s;
      }
      absl::StatusOr<void*> mapped = platform::ShmAttach(*shm_id, name.key());
      if (!mapped.ok()) return mapped.status();
      char* base = static_cast<char*>(*mapped);
      const bool is_store = internal::ProbeHeader(base, st->size).has_magic;
      const bool all_zero = !is_store && st->size >= internal::kHeaderRegionBytes &&
                            AllZero(base, internal::kHeaderRegionBytes);
      const bool abandoned = !is_store && st->creator_uid == geteuid() &&
                             AbandonedEmpty(*st, base, /*expected_bytes=*/0);
      // Processes still attached must learn that their writes go nowhere.
      // While we hold the semaphore, a mark still there without a removal
      // can only be a destroyer's that died here: the next opener finishes.
      if (is_store) internal::MarkImageDestroyed(base);
      SHMKV_CRASH_POINT("destroy.after_mark");
      platform::ShmDetach(base);
      if (!is_store && !abandoned) {
        return absl::FailedPreconditionError(absl::StrCat(
            internal::DescribeSegment(name, *shm_id, *st), " is not a shmkv store (",
            WhyNotAStore(*st, /*readable=*/true, all_zero),
            "), so it was left alone; if nothing uses it, remove it with ipcrm -m ", *shm_id));
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
