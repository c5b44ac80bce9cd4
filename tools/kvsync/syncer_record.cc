// kvsync's side of the store: claiming it, the sync record readers trust,
// and clearing what the prefixes cover (doc/near_cache.md, "kvsync's record").
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/kvsync/syncer.h"

namespace shmkv::kvsync {

using near::SyncPhase;

absl::Status Syncer::Claim() {
  std::string record;
  EntryMeta meta;
  absl::Status got = store_->Get(near::kSyncStateKey, &record, &meta);
  if (!got.ok() && !absl::IsNotFound(got)) return got;
  if (got.ok()) {
    absl::StatusOr<near::SyncState> previous = near::ParseSyncState(record);
    if (previous.ok()) {
      // Another kvsync may have this pid in another PID namespace: only the
      // whole identity says the record is this process's own.
      if (!near::WrittenByThisProcess(*previous) &&
          near::KvsyncMayBeRunning(*previous, absl::Seconds(3))) {
        return absl::AlreadyExistsError(absl::StrCat(
            "another kvsync (pid ", previous->pid,
            ") keeps this store in sync; one per store: stop it first (kill ", previous->pid, ")"));
      }
      state_.epoch = previous->epoch + 1;
    }
    record_version_ = meta.version;
  } else {
    // No record yet: an epoch no earlier record of this store is likely to
    // have used (values tagged by a forgotten record must not look current).
    state_.epoch = static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()) ^ (state_.pid << 16));
    record_version_ = 0;
  }
  return WriteRecord();
}

absl::Status Syncer::WriteRecord() {
  // While synced, the heartbeat is the last instant as of which every
  // invalidation is known applied (synced_as_of_ms_), never merely "now":
  // after a stall it stays old until the backlog has been drained.
  state_.heartbeat_ms = state_.synced() ? synced_as_of_ms_ : near::MonotonicNowMs();
  const std::string record = near::FormatSyncState(state_);
  WriteOptions write;
  write.ttl = absl::InfiniteDuration();
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::Status s;
    if (record_version_ == 0) {
      write.condition = WriteCondition::kIfAbsent;
      s = store_->Put(near::kSyncStateKey, record, write, &record_version_);
    } else {
      s = store_->CompareAndSwap(near::kSyncStateKey, record_version_, record, write,
                                 &record_version_);
    }
    if (s.ok()) return s;
    if (!absl::IsFailedPrecondition(s) && !absl::IsNotFound(s) && !absl::IsAlreadyExists(s)) {
      return s;
    }
    // Someone else wrote or removed the record: see who.
    std::string current;
    EntryMeta meta;
    absl::Status got = store_->Get(near::kSyncStateKey, &current, &meta);
    if (absl::IsNotFound(got)) {
      record_version_ = 0;  // removed (kvcli delete, Clear): write it afresh
      continue;
    }
    if (!got.ok()) return got;
    absl::StatusOr<near::SyncState> other = near::ParseSyncState(current);
    if (other.ok() && !near::WrittenByThisProcess(*other)) {
      return absl::AbortedError(
          absl::StrCat("another kvsync (pid ", other->pid,
                       ") took over this store's sync record; this one stops"));
    }
    record_version_ = meta.version;
  }
  return absl::AbortedError(
      "the sync record keeps changing under kvsync; is another writer at it?");
}

bool Syncer::OnlyTheRecordIsStored() {
  // Stats() is a sum of per-stripe counters, far cheaper than the walk of
  // every index slot DeletePrefix makes whatever the store holds (about a
  // second per GiB of capacity). The record, present and unchanged on both
  // sides of the count, is one entry; an entry present for the whole count
  // would be another, so a count of one leaves nothing to delete. What the
  // count may miss is being written meanwhile (as for DeletePrefix) or
  // rebuilt after a dead lock holder; every clear follows an epoch change,
  // so such a value is of an earlier epoch and never served.
  std::string record;
  EntryMeta before, after;
  if (!store_->Get(near::kSyncStateKey, &record, &before).ok()) return false;
  absl::StatusOr<StoreStats> stats = store_->Stats();
  if (!stats.ok() || stats->index_entries != 1) return false;
  if (!store_->Get(near::kSyncStateKey, &record, &after).ok()) return false;
  return before.version == after.version;
}

absl::StatusOr<uint64_t> Syncer::ClearPrefixes() {
  last_clear_walked_ = !OnlyTheRecordIsStored();
  if (!last_clear_walked_) return 0;
  uint64_t cleared = 0;
  for (const std::string& prefix : config_.prefixes) {
    absl::StatusOr<uint64_t> removed = store_->DeletePrefix(prefix);
    if (!removed.ok()) return removed.status();
    cleared += *removed;
  }
  state_.keys_cleared += cleared;
  return cleared;
}

absl::Status Syncer::ChangePhase(SyncPhase phase) {
  state_.phase = phase;
  ++state_.epoch;  // values filled under the previous epoch are no longer served
  return WriteRecord();
}

}  // namespace shmkv::kvsync
