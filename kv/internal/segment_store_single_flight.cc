// SegmentStore's single flight, GetOrCompute: one process computes a
// missing key's value under a lease (a placeholder entry naming its
// process: pid, start time, PID namespace) while the others wait for it,
// and take the lease over when its holder died or it expired.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe_guard.h"
#include "kv/platform/ipc.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/platform/process.h"

namespace shmkv::internal {
namespace {

// Runs the user's compute function; an exception becomes a status (no
// exception leaves the API).
absl::StatusOr<std::string> RunCompute(
    absl::FunctionRef<absl::StatusOr<std::string>(absl::Duration*)> compute, absl::Duration* ttl) {
  try {
    return compute(ttl);
  } catch (const std::exception& e) {
    return absl::UnknownError(absl::StrCat("the compute function threw an exception (", e.what(),
                                           "); nothing was stored — fix the function"));
  } catch (...) {
    return absl::UnknownError(
        "the compute function threw an exception; nothing was stored — fix the function");
  }
}

// The process a lease names: the identity this build writes, or a bare pid
// (leases of earlier builds); pid 0 (never alive) for anything else.
platform::ProcessIdentity HolderOf(const Located& lease) {
  platform::ProcessIdentity holder;
  if (lease.header.value_size == sizeof(holder)) {
    std::memcpy(&holder, lease.value(), sizeof(holder));
  } else if (lease.header.value_size == sizeof(holder.pid)) {
    std::memcpy(&holder.pid, lease.value(), sizeof(holder.pid));
  }
  return holder;
}

}  // namespace

absl::StatusOr<std::string> SegmentStore::GetOrCompute(
    absl::string_view key, absl::FunctionRef<absl::StatusOr<std::string>(absl::Duration*)> compute,
    const GetOrComputeOptions& options) {
  if (options.lease_timeout <= absl::ZeroDuration() ||
      options.wait_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lease and wait timeouts must be positive");
  }
  // What would make the final store fail is refused before anyone waits on
  // this call's lease.
  if (absl::StatusOr<int64_t> ttl = ExpiryFor(options.write.ttl); !ttl.ok()) return ttl.status();
  const absl::Duration give_up = platform::MonotonicNow() + options.wait_timeout;
  // Who this process is, as the lease names it (reads /proc once per thread,
  // so before any lock).
  const platform::ProcessIdentity self = platform::CurrentIdentity();
  absl::Duration backoff = absl::Microseconds(50);
  uint64_t lease_version = 0;
  // A lease whose holder was found dead (off the lock) on the last round.
  bool holder_dead = false;
  uint64_t dead_lease = 0;
  for (;;) {
    platform::ProcessIdentity holder;
    uint64_t seen_lease = 0;
    {
      KeyAccess access;
      if (absl::Status s = Access(key, &access); !s.ok()) return s;
      const Located& found = access.found;
      const bool present = found.entry != nullptr && !Expired(found, &access.now);
      if (present && !(found.header.bits & kLease)) {
        access.view->SetReferenced(found);
        read_counters_.CountHit();
        return std::string(found.value(), found.header.value_size);
      }
      if (!present || (holder_dead && found.header.version == dead_lease)) {
        // Take the lease: a placeholder readers do not see, naming this process.
        read_counters_.CountMiss();
        const int64_t now = access.now >= 0 ? access.now : clock_->NowMillis();
        NewRecord lease{
            key, absl::string_view(reinterpret_cast<const char*>(&self), sizeof(self)),
            AddMillis(now, std::max<int64_t>(1, absl::ToInt64Milliseconds(options.lease_timeout))),
            0, kLease};
        absl::StatusOr<uint64_t> written = access.view->Write(lease, access.hash, *clock_);
        if (!written.ok()) return written.status();
        lease_version = *written;
        break;
      }
      holder = HolderOf(found);
      seen_lease = found.header.version;
    }
    // Whether the holder lives is asked of /proc with no lock held; a dead
    // holder's lease is taken over on the next round if it is still the same.
    holder_dead = platform::LivenessOf(holder) == platform::Liveness::kDead;
    dead_lease = seen_lease;
    if (holder_dead) continue;
    if (platform::MonotonicNow() >= give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          "waited ", absl::FormatDuration(options.wait_timeout),
          " for another process to compute this key; raise wait_timeout or check that process"));
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(5));
  }

  // The value is stored with the TTL `compute` leaves here (store.h).
  WriteOptions write = options.write;
  absl::StatusOr<std::string> value = RunCompute(compute, &write.ttl);
  if (!value.ok()) {
    // Drop our lease so a waiter takes over at once.
    ReleaseLease(key, lease_version);
    return value.status();
  }
  if (write.ttl < absl::ZeroDuration()) {
    ReleaseLease(key, lease_version);
    return absl::InvalidArgumentError(
        "the compute function set a negative TTL; nothing was stored — set a positive "
        "duration, zero for the store's default, or absl::InfiniteDuration() for none");
  }
  if (absl::Status s = StoreComputed(key, *value, write, lease_version); !s.ok()) return s;
  return value;
}

void SegmentStore::ReleaseLease(absl::string_view key, uint64_t lease_version) {
  KeyAccess access;
  if (!Access(key, &access).ok()) return;
  const Located& found = access.found;
  if (found.entry != nullptr && (found.header.bits & kLease) &&
      found.header.version == lease_version) {
    (void)access.view->Remove(found, /*expired=*/false);
  }
}

absl::Status SegmentStore::StoreComputed(absl::string_view key, absl::string_view value,
                                         const WriteOptions& write, uint64_t lease_version) {
  absl::Status refused;
  if (value.size() > geometry_.max_value_size) {
    refused = absl::ResourceExhaustedError(
        absl::StrCat("the computed value of ", value.size(),
                     " bytes is over this store's maximum of ", geometry_.max_value_size,
                     " bytes; nothing was stored — compute smaller values, or create the store "
                     "with a larger Options::max_value_size and an Options::capacity_bytes of "
                     "at least 4 such values"));
  }
  absl::StatusOr<int64_t> expires = ExpiryFor(write.ttl);
  if (refused.ok() && !expires.ok()) refused = expires.status();
  if (!refused.ok()) {
    ReleaseLease(key, lease_version);
    return refused;
  }
  KeyAccess access;
  if (absl::Status s = Access(key, &access); !s.ok()) return s;
  const Located& found = access.found;
  // A lease with another version (taken over after ours expired), a value
  // someone wrote meanwhile, or no entry (deleted, cleared): all newer than
  // what we computed, which is then returned but not stored.
  if (found.entry == nullptr || !(found.header.bits & kLease) ||
      found.header.version != lease_version) {
    return absl::OkStatus();
  }
  NewRecord record{key, value, *expires, write.flags, 0};
  absl::StatusOr<uint64_t> written = access.view->Write(record, access.hash, *clock_);
  if (!written.ok()) {
    // Making room may have moved the lease: find it again to drop it.
    absl::StatusOr<Located> lease = access.view->Find(key, access.hash);
    if (lease.ok() && lease->entry != nullptr && (lease->header.bits & kLease) &&
        lease->header.version == lease_version) {
      (void)access.view->Remove(*lease, /*expired=*/false);
    }
    return written.status();
  }
  ++access.view->stripe()->puts;
  return absl::OkStatus();
}

}  // namespace shmkv::internal
