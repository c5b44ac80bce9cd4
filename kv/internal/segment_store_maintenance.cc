// SegmentStore's operations over the whole store: clearing it, reclaiming
// expired entries, counting, describing and checking it. The per-key
// operations are in segment_store.cc, the walks (Scan, Walk,
// DeleteMatching) in segment_store_scan.cc.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe_guard.h"
#include "kv/platform/ipc.h"
#include "kv/platform/process.h"

namespace shmkv::internal {

absl::Status SegmentStore::Clear() {
  // Stripe by stripe, under each stripe's lock only: the store-wide
  // semaphore is for opening and destroying, which must never wait for a
  // whole-store walk (doc/locking.md).
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  for (StripeView& view : stripes_) {
    StripeGuard guard;
    if (absl::Status s = Lock(view, &guard); !s.ok()) {
      return StoppedAt("flush", view, s, "the stripes before it were emptied");
    }
    view.Clear();
  }
  return absl::OkStatus();
}

absl::Status SegmentStore::StoppedAt(absl::string_view operation, const StripeView& view,
                                     const absl::Status& lock_error, absl::string_view done) {
  // A store destroyed meanwhile is the whole answer, not a problem of this
  // stripe and of every one after it.
  if (absl::Status d = CheckNotDestroyed(); !d.ok()) return d;
  std::string message =
      absl::StrCat(operation, " stopped at stripe ", view.index(), " of ", stripes_.size());
  if (!done.empty()) absl::StrAppend(&message, " (", done, ")");
  absl::StrAppend(&message, ": ", lock_error.message());
  // A lock held past the timeout is a busy (or stopped) process, not damage.
  if (absl::IsUnavailable(lock_error)) {
    absl::StrAppend(&message, "; that is no damage to the store: run ", operation,
                    " again once the lock is free");
  }
  return absl::Status(lock_error.code(), message);
}

absl::StatusOr<uint64_t> SegmentStore::FlushExpired() {
  uint64_t removed = 0;
  std::vector<std::string> expired;
  for (StripeView& view : stripes_) {
    StripeGuard guard;
    if (absl::Status s = Lock(view, &guard); !s.ok()) return s;
    expired.clear();
    int64_t now = -1;
    absl::Status walk = view.ForEachLive([&](const Located& found) {
      if (Expired(found, &now)) expired.emplace_back(found.key(), found.header.key_size);
      return true;
    });
    if (!walk.ok()) return walk;
    for (const std::string& key : expired) {
      absl::StatusOr<Located> found =
          view.Find(key, Hash64(key.data(), key.size(), geometry_.hash_seed));
      if (!found.ok()) return found.status();
      if (found->entry == nullptr) continue;
      if (absl::Status s = view.Remove(*found, /*expired=*/true); !s.ok()) return s;
      ++removed;
    }
  }
  return removed;
}

absl::StatusOr<uint64_t> SegmentStore::Size() {
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  if (absl::Status s = CheckNotRemoved(); !s.ok()) return s;
  uint64_t items = 0;
  for (StripeView& view : stripes_) items += LoadOnce(&view.stripe()->live_items);
  return items;
}

absl::StatusOr<StoreStats> SegmentStore::Stats() {
  absl::StatusOr<std::vector<StripeStats>> stripes = StatsByStripe();
  if (!stripes.ok()) return stripes.status();
  StoreStats st;
  for (const StripeStats& stripe : *stripes) {
    const StoreStats& s = stripe.stats;
    st.puts += s.puts;
    st.deletes += s.deletes;
    st.evictions += s.evictions;
    st.expirations += s.expirations;
    st.items += s.items;
    st.key_bytes += s.key_bytes;
    st.value_bytes += s.value_bytes;
    st.bytes_used += s.bytes_used;
    st.log_bytes += s.log_bytes;
    st.index_entries += s.index_entries;
    st.lock_waits += s.lock_waits;
    st.owner_deaths_recovered += s.owner_deaths_recovered;
  }
  read_counters_.Sum(&st.hits, &st.misses);
  st.capacity = geometry_.capacity();
  st.index_limit = uint64_t{geometry_.stripe_count} * MaxIndexEntries(geometry_.slots_per_stripe);
  return st;
}

absl::StatusOr<StoreInfo> SegmentStore::Info() {
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  Header h;
  std::memcpy(&h, base_, sizeof(h));
  StoreInfo info;
  h.name_path[kNamePathBytes - 1] = '\0';
  info.key = opened_key_.value_or(h.name_key);
  if (h.name_path[0] != '\0') {
    info.name = absl::StrCat("path ", h.name_path, " proj ", h.name_proj, " (key ",
                             platform::KeyToString(h.name_key), ")");
  } else {
    info.name = absl::StrCat("key ", platform::KeyToString(h.name_key));
  }
  info.shm_id = shm_id_;
  info.sem_id = sem_id_;
  info.layout_version = h.layout_version;
  info.segment_bytes = geometry_.segment_bytes;
  info.capacity = geometry_.capacity();
  info.lock_stripes = geometry_.stripe_count;
  info.index_slots = uint64_t{geometry_.stripe_count} * geometry_.slots_per_stripe;
  info.max_key_size = geometry_.max_key_size;
  info.max_value_size = geometry_.max_value_size;
  info.evict = geometry_.evict;
  info.huge_pages = (h.segment_flags & kHugePages) != 0;
  info.default_ttl = absl::Milliseconds(geometry_.default_ttl_ms);
  info.created_at_ms = h.created_at_ms;
  info.creator_uid = h.creator_uid;
  info.creator_pid = h.creator_pid;
  info.mode = static_cast<int>(h.mode & 0777);
  info.owner_uid = h.creator_uid;
  if (shm_id_ >= 0) {
    absl::StatusOr<platform::SegmentStat> st = platform::ShmStat(shm_id_);
    if (st.ok()) {
      info.owner_uid = st->owner_uid;
      info.mode = st->mode;
      info.attached_processes = st->attached;
      info.removed = st->removed;
      info.segment_bytes = st->size;
    } else {
      info.removed = true;
    }
    info.warnings = platform::PersistenceWarnings(info.owner_uid);
  }
  if (info.key != h.name_key) {
    info.warnings.push_back(absl::StrCat(
        "this segment was created as ", info.name, " and is now at key ",
        platform::KeyToString(info.key),
        " (copied or moved); tools that go by the name it was created at will not find it"));
  }
  info.warnings.insert(info.warnings.end(), warnings_.begin(), warnings_.end());
  return info;
}

absl::StatusOr<CheckReport> SegmentStore::Check(bool repair) {
  // Stripe by stripe, like Clear: opening never waits for a check.
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  CheckReport report;
  Header h;
  std::memcpy(&h, base_, sizeof(h));
  if (h.magic != kMagic || h.header_checksum != HeaderChecksum(h)) {
    report.problems.push_back("the header's checksum does not match its contents");
  }
  for (StripeView& view : stripes_) {
    StripeGuard guard;
    if (absl::Status s = Lock(view, &guard); !s.ok()) {
      // Whatever stops the check (a stuck holder, an unusable lock, a
      // destroy) is reported as itself, never as damage to the stripes
      // that follow.
      return StoppedAt("check", view, s,
                       repair ? "the stripes before it were checked and repaired" : "");
    }
    CheckStripe(view, repair, &report);
  }
  report.ok = report.problems.empty();
  return report;
}

void SegmentStore::CheckStripe(StripeView& view, bool repair, CheckReport* report) {
  std::vector<std::string> problems;
  report->entries_checked += view.Verify(&problems);
  if (problems.empty()) return;
  report->problems.insert(report->problems.end(), problems.begin(), problems.end());
  if (!repair) return;
  const uint64_t live_before = LoadOnce(&view.stripe()->live_items);
  RebuildReport rebuilt = view.Rebuild();
  report->repairs.push_back(absl::StrCat(
      "stripe ", view.index(), ": rebuilt the index from the log (", rebuilt.live_entries,
      " live entries kept, ", rebuilt.duplicates_dropped, " stale duplicates dropped)"));
  report->repairs.insert(report->repairs.end(), rebuilt.notes.begin(), rebuilt.notes.end());
  // Entries lost: what the stripe held before the repair and not after
  // (an unreadable log suffix takes every entry in it), or, if its
  // counters were wrong too, at least those the rebuild dropped itself.
  report->entries_dropped +=
      std::max(rebuilt.entries_dropped,
               live_before > rebuilt.live_entries ? live_before - rebuilt.live_entries : 0);
}

}  // namespace shmkv::internal
