// SegmentStore: opening over a mapped segment, locking a key's stripe, and
// the per-key operations (Get, View, Contains, Put, Increment, Touch,
// Delete). Batches, walks, whole-store maintenance, statistics and
// GetOrCompute are in the segment_store_*.cc files beside this one.
#include "kv/internal/segment_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/internal/stripe_guard.h"
#include "kv/platform/ipc.h"
#include "kv/platform/process.h"
#include "kv/platform/robust_mutex.h"

namespace shmkv::internal {
namespace {

// How often a process asks the kernel whether its segment was removed
// (CheckNotRemoved): the longest a removal goes unnoticed by a busy process.
constexpr int64_t kRemovalCheckNs = 100 * 1000 * 1000;  // 100 ms

Header* HeaderOf(char* base) { return reinterpret_cast<Header*>(base); }

// The payload that marks DestroyedError for IsStoreDestroyed (store.h).
constexpr char kDestroyedPayload[] = "shmkv/store-destroyed";

absl::Status DestroyedError() {
  absl::Status status = absl::FailedPreconditionError(
      "store was destroyed; open it again (kOpenOrCreate or kAttach) to use the store now at "
      "its name");
  status.SetPayload(kDestroyedPayload, absl::Cord("1"));
  return status;
}

// Parses a counter's decimal text; false if it is not an int64.
bool ParseCounter(const char* data, size_t size, int64_t* out) {
  if (size == 0 || size > 20) return false;
  return absl::SimpleAtoi(absl::string_view(data, size), out);
}

}  // namespace

int64_t SegmentStore::AddMillis(int64_t now, int64_t ms) {
  int64_t sum;
  if (__builtin_add_overflow(now, ms, &sum)) return ms > 0 ? INT64_MAX : INT64_MIN;
  return sum;
}

void SegmentStore::PopulatePages() { platform::ShmPopulate(base_, geometry_.segment_bytes); }

SegmentStore::SegmentStore(char* base, const Geometry& geometry, int shm_id, int sem_id,
                           const Options& options, std::function<void()> release)
    : base_(base),
      geometry_(geometry),
      shm_id_(shm_id),
      sem_id_(sem_id),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
      release_(std::move(release)),
      read_counters_(base),
      mapped_to_(new std::atomic<uint64_t>[geometry.stripe_count]()) {
  stripes_.reserve(geometry_.stripe_count);
  for (uint32_t i = 0; i < geometry_.stripe_count; ++i) stripes_.emplace_back(base_, geometry_, i);
}

SegmentStore::~SegmentStore() {
  if (release_) release_();
}

absl::Status SegmentStore::KeyError(absl::string_view key) const {
  if (key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("key is empty; keys are 1 to ", geometry_.max_key_size, " bytes"));
  }
  if (key.size() > geometry_.max_key_size) {
    return absl::InvalidArgumentError(absl::StrCat("key of ", key.size(),
                                                   " bytes is over this store's maximum of ",
                                                   geometry_.max_key_size, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status SegmentStore::Lock(StripeView& view, StripeGuard* guard) {
  if (absl::Status st = CheckNotRemoved(); !st.ok()) return st;
  Stripe* s = view.stripe();
  const platform::LockResult locked =
      platform::LockRobustMutex(&s->mutex, options_.lock_timeout, &s->acquisitions);
  if (locked == platform::LockResult::kAcquired ||
      locked == platform::LockResult::kAcquiredAfterWait ||
      locked == platform::LockResult::kOwnerDied) {
    guard->Hold(s);  // before anything is written under the lock
  }
  switch (locked) {
    case platform::LockResult::kAcquired:
      break;
    case platform::LockResult::kAcquiredAfterWait:
      ++s->lock_waits;
      break;
    case platform::LockResult::kOwnerDied:
      // The holder died mid-operation: the log is intact by construction,
      // so re-deriving the index from it (below) repairs whatever it left
      // half done. The mutex is made consistent first, so that the guard can
      // release it on every path; `rebuilding`, set until a rebuild
      // completes, makes the next holder rebuild if this one cannot finish
      // (an exception), and a death during the rebuild makes the mutex
      // owner-dead again.
      Publish(&s->rebuilding, 1u);
      platform::MarkConsistent(&s->mutex);
      ++s->owner_deaths;
      break;
    case platform::LockResult::kTimedOut:
      return LockTimeoutError(view);
    case platform::LockResult::kWaitCapped:
      return absl::UnavailableError(absl::StrCat(
          "stripe ", view.index(), "'s lock kept changing hands for ",
          absl::FormatDuration(platform::kMaxWaitTimeouts * options_.lock_timeout), " (",
          platform::kMaxWaitTimeouts,
          " times the lock timeout, the longest any wait lasts) and this call never got it: the "
          "stripe is overloaded, or a process that may write the segment is bumping its lock "
          "counter; try again later"));
    case platform::LockResult::kUnrecoverable:
      return absl::DataLossError(absl::StrCat("stripe ", view.index(),
                                              "'s lock is unusable (corrupt or unrecoverable); "
                                              "dump what you can and re-create the store"));
  }
  Publish(&s->holder_pid, static_cast<int32_t>(platform::CurrentPid()));
  Publish(&s->acquisitions, s->acquisitions + 1);
  if (LoadOnce(&s->rebuilding) != 0) view.Rebuild();
  // Checked under the lock: an operation that gets the lock after Destroy
  // marked the segment must not report a write nobody will see.
  if (absl::Status st = CheckNotDestroyed(); !st.ok()) {
    guard->Release();
    return st;
  }
  return absl::OkStatus();
}

absl::Status SegmentStore::LockTimeoutError(const StripeView& view) const {
  const pid_t holder = LoadOnce(&view.stripe()->holder_pid);
  if (holder > 0 && platform::ProcessExists(holder)) {
    return absl::UnavailableError(absl::StrCat(
        "stripe ", view.index(), "'s lock was held by pid ", holder, " for all of ",
        absl::FormatDuration(options_.lock_timeout),
        " (the lock timeout) without changing hands; if that process is stuck, stop it (its "
        "death releases the lock)"));
  }
  // Every holder records its pid, and the kernel releases a dead holder's
  // lock. A lock held for the whole timeout with no running holder recorded
  // was written by something other than a lock operation (or is held from
  // another PID namespace, whose pids this process cannot see).
  return absl::UnavailableError(absl::StrCat(
      "stripe ", view.index(), "'s lock has been held for all of ",
      absl::FormatDuration(options_.lock_timeout), " by no process running here (",
      holder > 0 ? absl::StrCat("the recorded holder, pid ", holder, ", is not running")
                 : "no holder recorded",
      "): unless a process in another PID namespace holds it, its lock word is invalid, "
      "overwritten (forged or corrupted) by a process that may write the segment, and nothing "
      "can free it safely; read what the other stripes hold, destroy and re-create the store, "
      "and restrict who may write it (its mode)"));
}

absl::Status SegmentStore::CheckRemovedNow() {
  if (!removed_.load(std::memory_order_relaxed)) {
    if (shm_id_ < 0) {  // an image that is no System V segment
      next_removal_check_ns_.store(INT64_MAX, std::memory_order_relaxed);
      return absl::OkStatus();
    }
    next_removal_check_ns_.store(platform::MonotonicCoarseNanos() + kRemovalCheckNs,
                                 std::memory_order_relaxed);
    absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(shm_id_);
    // Only a removal is reported: a stat this process may not make says
    // nothing about it.
    if (st.ok() ? !st->removed : !absl::IsNotFound(st.status())) return absl::OkStatus();
    removed_.store(true, std::memory_order_relaxed);
    next_removal_check_ns_.store(INT64_MIN, std::memory_order_relaxed);
  }
  // Destroy marks the header before it removes the segment: say so.
  if (LoadOnce(&HeaderOf(base_)->destroyed) == kDestroyed) return DestroyedError();
  absl::Status status = absl::FailedPreconditionError(absl::StrCat(
      "the store's segment (shm id ", shm_id_,
      ") was removed from the system (IPC_RMID: ipcrm, or another program) while this process "
      "was attached; nothing written to it now would be seen by any new process, so calls "
      "fail: open the store again (at its name there is now no store, or a new one)"));
  // Gone for this process either way: told apart from an unmet condition
  // as a destroy is (IsStoreDestroyed).
  status.SetPayload(kDestroyedPayload, absl::Cord("1"));
  return status;
}

absl::Status SegmentStore::CheckNotDestroyed() const {
  if (LoadOnce(&HeaderOf(base_)->destroyed) == kDestroyed) return DestroyedError();
  return absl::OkStatus();
}

bool SegmentStore::Expired(const Located& found, int64_t* now) const {
  if (found.header.expires_at_ms == 0) return false;
  if (*now < 0) *now = clock_->NowMillis();
  return found.header.expires_at_ms <= *now;
}

absl::StatusOr<int64_t> SegmentStore::ExpiryFor(absl::Duration ttl) const {
  if (ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("TTL is negative; use a positive duration, or none");
  }
  if (ttl == absl::InfiniteDuration()) return 0;
  int64_t ttl_ms = ttl == absl::ZeroDuration()
                       ? geometry_.default_ttl_ms
                       : std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl));
  if (ttl_ms == 0) return 0;
  return AddMillis(clock_->NowMillis(), ttl_ms);
}

Optimistic SegmentStore::ReadUnlocked(StripeView& view, absl::string_view key, uint64_t hash,
                                      int64_t* now, std::string* value, EntryMeta* meta) {
  if (!UnlockedReadsAllowed()) return Optimistic::kLock;
  const Optimistic result = ReadUnlockedUncounted(view, key, hash, kNoHint, now, value, meta);
  if (result == Optimistic::kHit) {
    read_counters_.CountHit();
  } else if (result == Optimistic::kMiss) {
    read_counters_.CountMiss();
  }
  return result;
}

absl::Status SegmentStore::Get(absl::string_view key, std::string* value, EntryMeta* meta) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  const uint64_t hash = Hash64(key.data(), key.size(), geometry_.hash_seed);
  int64_t now = -1;
  switch (ReadUnlocked(StripeFor(hash), key, hash, &now, value, meta)) {
    case Optimistic::kHit:
      return absl::OkStatus();
    case Optimistic::kMiss:
      return NotFoundKey();
    case Optimistic::kLock:
    case Optimistic::kTorn:
      break;
  }
  // Under the lock; the clock is read anew (the lock may have been waited for).
  return ViewHashed(key, hash, [&](absl::string_view bytes, const EntryMeta& m) {
    value->assign(bytes.data(), bytes.size());
    if (meta != nullptr) *meta = m;
  });
}

absl::Status SegmentStore::Access(absl::string_view key, KeyAccess* access, bool find) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  access->hash = Hash64(key.data(), key.size(), geometry_.hash_seed);
  return AccessHashed(key, access, find);
}

absl::Status SegmentStore::AccessHashed(absl::string_view key, KeyAccess* access, bool find) {
  access->view = &StripeFor(access->hash);
  access->view->PrefetchHome(access->hash);
  if (absl::Status s = Lock(*access->view, &access->guard); !s.ok()) return s;
  if (!find) return absl::OkStatus();
  absl::StatusOr<Located> found = access->view->Find(key, access->hash);
  if (!found.ok()) return found.status();
  access->found = *found;
  return absl::OkStatus();
}

bool SegmentStore::Visible(KeyAccess& access) {
  return Visible(*access.view, &access.found, &access.now);
}

bool SegmentStore::Visible(StripeView& view, Located* found, int64_t* now) {
  if (found->entry == nullptr || (found->header.bits & kLease)) return false;
  if (!Expired(*found, now)) return true;
  (void)view.Remove(*found, /*expired=*/true);  // lazy expiry
  *found = Located{};
  return false;
}

bool SegmentStore::Read(StripeView& view, Located* found, int64_t* now, EntryMeta* meta) {
  if (!Visible(view, found, now)) {
    read_counters_.CountMiss();
    return false;
  }
  view.SetReferenced(*found);
  read_counters_.CountHit();
  *meta = MetaOf(found->header, now);
  return true;
}

absl::Status SegmentStore::View(absl::string_view key,
                                absl::FunctionRef<void(absl::string_view, const EntryMeta&)> fn) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  return ViewHashed(key, Hash64(key.data(), key.size(), geometry_.hash_seed), fn);
}

absl::Status SegmentStore::ViewHashed(
    absl::string_view key, uint64_t hash,
    absl::FunctionRef<void(absl::string_view, const EntryMeta&)> fn) {
  KeyAccess access;
  access.hash = hash;
  if (absl::Status s = AccessHashed(key, &access); !s.ok()) return s;
  EntryMeta meta;
  if (!Read(*access.view, &access.found, &access.now, &meta)) return NotFoundKey();
  fn(absl::string_view(access.found.value(), access.found.header.value_size), meta);
  return absl::OkStatus();
}

absl::StatusOr<bool> SegmentStore::Contains(absl::string_view key) {
  KeyAccess access;
  if (absl::Status s = Access(key, &access); !s.ok()) return s;
  return Visible(access);
}

absl::Status SegmentStore::CheckWrite(absl::string_view value, const WriteOptions& options,
                                      int64_t* expires) const {
  if (value.size() > geometry_.max_value_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "value of ", value.size(), " bytes is over this store's maximum of ",
        geometry_.max_value_size, " bytes (store capacity ", geometry_.capacity(),
        " bytes); store smaller values, or create the store with a larger "
        "Options::max_value_size and an Options::capacity_bytes of at least 4 such values (a "
        "smaller store takes values up to a quarter of its capacity)"));
  }
  absl::StatusOr<int64_t> expiry = ExpiryFor(options.ttl);
  if (!expiry.ok()) return expiry.status();
  *expires = *expiry;
  return absl::OkStatus();
}

absl::Status SegmentStore::Put(absl::string_view key, absl::string_view value,
                               const WriteOptions& options, uint64_t* version) {
  int64_t expires = 0;
  if (absl::Status s = CheckWrite(value, options, &expires); !s.ok()) return s;
  KeyAccess access;
  if (absl::Status s = Access(key, &access, /*find=*/false); !s.ok()) return s;
  return WriteLocked(*access.view, key, access.hash, value, options, expires, version);
}

absl::Status SegmentStore::WriteLocked(StripeView& view, absl::string_view key, uint64_t hash,
                                       absl::string_view value, const WriteOptions& options,
                                       int64_t expires, uint64_t* version) {
  // StripeView::Write finds the key itself (after making room, which may
  // move it), so an unconditional put does not look it up first.
  if (options.condition != WriteCondition::kAlways) {
    absl::StatusOr<Located> located = view.Find(key, hash);
    if (!located.ok()) return located.status();
    Located found = *located;
    int64_t now = -1;
    const bool visible = Visible(view, &found, &now);
    switch (options.condition) {
      case WriteCondition::kAlways:
        break;
      case WriteCondition::kIfAbsent:
        if (visible) return absl::AlreadyExistsError("key already exists");
        break;
      case WriteCondition::kIfPresent:
        if (!visible) return absl::NotFoundError("key does not exist");
        break;
      case WriteCondition::kIfVersion:
        if (!visible) return absl::NotFoundError("key does not exist");
        if (found.header.version != options.expected_version) {
          return absl::FailedPreconditionError(
              absl::StrCat("version mismatch: expected ", options.expected_version,
                           ", the entry is at version ", found.header.version));
        }
        break;
    }
  }
  NewRecord record{key, value, expires, options.flags, 0};
  absl::StatusOr<uint64_t> written = view.Write(record, hash, *clock_);
  if (!written.ok()) return written.status();
  ++view.stripe()->puts;
  if (version != nullptr) *version = *written;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SegmentStore::Increment(absl::string_view key, int64_t delta,
                                                const IncrementOptions& options) {
  absl::StatusOr<int64_t> create_expiry = ExpiryFor(options.ttl);
  if (!create_expiry.ok()) return create_expiry.status();
  KeyAccess access;
  if (absl::Status s = Access(key, &access); !s.ok()) return s;
  const Located& found = access.found;
  int64_t result;
  int64_t expires_at = *create_expiry;
  if (!Visible(access)) {
    if (!options.create_if_missing) return absl::NotFoundError("key does not exist");
    result =
        static_cast<int64_t>(static_cast<uint64_t>(options.initial) + static_cast<uint64_t>(delta));
  } else {
    int64_t current;
    if (!ParseCounter(found.value(), found.header.value_size, &current)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the value (", found.header.value_size,
                       " bytes) is not a decimal integer; Increment needs a value like \"800\""));
    }
    result = static_cast<int64_t>(static_cast<uint64_t>(current) + static_cast<uint64_t>(delta));
    // The expiry stays; the flags do not: they are those of the last write
    // that gave some (WriteOptions::flags), and this one gives none.
    expires_at = found.header.expires_at_ms;
  }
  char text[24];
  const size_t size = absl::numbers_internal::FastIntToBuffer(result, text) - text;
  NewRecord record{key, absl::string_view(text, size), expires_at, 0, 0};
  absl::StatusOr<uint64_t> written = access.view->Write(record, access.hash, *clock_);
  if (!written.ok()) return written.status();
  ++access.view->stripe()->puts;
  return result;
}

absl::Status SegmentStore::Touch(absl::string_view key, absl::Duration ttl) {
  absl::StatusOr<int64_t> expires = ExpiryFor(ttl);
  if (!expires.ok()) return expires.status();
  KeyAccess access;
  if (absl::Status s = Access(key, &access); !s.ok()) return s;
  if (!Visible(access)) return NotFoundKey();
  Publish(&access.found.entry->expires_at_ms, *expires);
  return absl::OkStatus();
}

absl::Status SegmentStore::Delete(absl::string_view key) {
  KeyAccess access;
  if (absl::Status s = Access(key, &access); !s.ok()) return s;
  if (access.found.entry != nullptr && (access.found.header.bits & kLease)) {
    // A GetOrCompute is computing this key: deleting cancels its lease, so
    // the value it computes from what was there before is not stored.
    if (absl::Status s = access.view->Remove(access.found, /*expired=*/false); !s.ok()) return s;
    return NotFoundKey();
  }
  if (!Visible(access)) return NotFoundKey();
  return access.view->Remove(access.found, /*expired=*/false);
}

}  // namespace shmkv::internal

namespace shmkv {

bool IsStoreDestroyed(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) &&
         status.GetPayload(internal::kDestroyedPayload).has_value();
}

}  // namespace shmkv
