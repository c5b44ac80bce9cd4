// StripeView's recovery: Rebuild makes the index again from the log after a
// holder died (or for a repair), and Verify checks the log against the
// index without changing either.
#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "kv/internal/crash_point.h"
#include "kv/internal/stripe.h"
#include "kv/internal/stripe_records.h"

namespace shmkv::internal {

template <typename Fn>
uint64_t StripeView::WalkLog(uint64_t tail, uint64_t head, Fn fn) const {
  const uint64_t size = geometry_.stripe_arena_bytes;
  uint64_t pos = tail;
  while (pos < head) {
    const uint64_t to_end = size - pos % size;
    if (to_end < kEntryHeaderBytes) {  // too short for a pad: skipped implicitly
      pos += to_end;
      continue;
    }
    EntryHeader* entry = AtPhysical(pos % size);
    EntryHeader h;
    std::memcpy(&h, entry, kEntryHeaderBytes);
    if (!SaneHeader(h, std::min(to_end, head - pos)) || !fn(pos, entry, h)) return pos;
    pos += SizeOf(h);
  }
  return head;
}

RebuildReport StripeView::Rebuild() {
  RebuildReport report;
  const uint64_t size = geometry_.stripe_arena_bytes;
  Publish(&stripe_->rebuilding, 1u);
  EmptyIndex();

  uint64_t head, tail;
  if (!LogBounds(&head, &tail)) {
    report.notes.push_back(absl::StrCat("stripe ", index_, ": log positions out of range (head ",
                                        head, ", tail ", tail, "); emptied the stripe"));
    report.bytes_dropped = size;
    head = (head / kUnit) * kUnit;
    Publish(&stripe_->head, head);
    Publish(&stripe_->tail, head);
    tail = head;
  }
  uint64_t max_version = 0;
  const uint64_t end = WalkLog(tail, head, [&](uint64_t, EntryHeader* entry, const EntryHeader& h) {
    if (h.state != kLive) return true;
    const uint64_t bytes = SizeOf(h);
    const absl::string_view key(KeyBytes(entry), h.key_size);
    const uint64_t hash = KeyHash(entry, h, geometry_.hash_seed);
    max_version = std::max(max_version, h.version);
    stripe_->largest_record = std::max(stripe_->largest_record, bytes);
    absl::StatusOr<Located> old = Find(key, hash);
    if (!old.ok() || (old->entry == nullptr && (IndexCrowded() || old->slot == nullptr))) {
      // (A missing slot means no empty slot: only a process writing the
      // index without the lock can cause that while we rebuild it.)
      Publish(&entry->state, static_cast<uint8_t>(kDead));
      ++report.entries_dropped;
      report.notes.push_back(absl::StrCat("stripe ", index_, ": dropped an entry: ",
                                          !old.ok()              ? old.status().message()
                                          : old->slot == nullptr ? "the index has no empty slot"
                                                                 : "the index is full"));
    } else if (old->entry == nullptr) {
      Publish(old->slot, SlotFor(entry, hash));
      Account(h, +1);
    } else if (old->header.version > h.version) {
      Publish(&entry->state, static_cast<uint8_t>(kDead));
      ++report.duplicates_dropped;
    } else {
      Publish(old->slot, SlotFor(entry, hash));
      Publish(&old->entry->state, static_cast<uint8_t>(kDead));
      Account(old->header, -1);
      Account(h, +1);
      ++report.duplicates_dropped;
    }
    SHMKV_CRASH_POINT("rebuild.mid_walk");
    return true;
  });
  if (end != head) {
    report.bytes_dropped += head - end;
    report.notes.push_back(absl::StrCat("stripe ", index_, ": unreadable record at log position ",
                                        end, "; dropped the last ", head - end,
                                        " bytes of its log"));
    Publish(&stripe_->head, end);
  }
  report.live_entries = stripe_->live_items;
  const uint64_t next = max_version / geometry_.stripe_count + 1;
  if (stripe_->next_version < next) stripe_->next_version = next;
  Publish(&stripe_->rebuilding, 0u);
  return report;
}

uint64_t StripeView::Verify(std::vector<std::string>* problems) const {
  auto problem = [&](const std::string& what) {
    problems->push_back(absl::StrCat("stripe ", index_, ": ", what));
  };
  uint64_t head, tail;
  if (!LogBounds(&head, &tail)) {
    problem(absl::StrCat("log positions out of range (head ", head, ", tail ", tail, ")"));
    return 0;
  }
  if (LoadOnce(&stripe_->rebuilding) != 0) problem("a rebuild was interrupted");
  absl::flat_hash_set<const EntryHeader*> in_log;
  uint64_t live = 0, live_bytes = 0;
  bool index_broken = false;
  const uint64_t end =
      WalkLog(tail, head, [&](uint64_t pos, EntryHeader* entry, const EntryHeader& h) {
        if (h.state != kLive) return true;
        ++live;
        live_bytes += RecordBytes(h.key_size, h.value_size);
        in_log.insert(entry);
        const absl::string_view key(KeyBytes(entry), h.key_size);
        absl::StatusOr<Located> found = Find(key, KeyHash(entry, h, geometry_.hash_seed));
        if (!found.ok()) {
          problem(std::string(found.status().message()));
          index_broken = true;
          return false;
        }
        if (found->entry != entry) {
          problem(absl::StrCat("live record at log position ", pos,
                               found->entry == nullptr ? " is missing from the index"
                                                       : " duplicates another live record"));
        }
        return true;
      });
  if (index_broken) return live;
  if (end != head) {
    problem(absl::StrCat("unreadable record at log position ", end));
    return live;
  }
  uint64_t indexed = 0;
  absl::Status walk = ForEachLive([&](const Located& found) {
    ++indexed;
    if (!in_log.contains(found.entry)) {
      problem("the index holds a record outside the live log");
    }
    return true;
  });
  if (!walk.ok()) problem(std::string(walk.message()));
  if (indexed != live) {
    problem(absl::StrCat("index holds ", indexed, " entries, log holds ", live));
  }
  if (indexed != LoadOnce(&stripe_->index_entries)) {
    problem(absl::StrCat("index entry count is ", LoadOnce(&stripe_->index_entries),
                         ", index holds ", indexed));
  }
  if (live_bytes != LoadOnce(&stripe_->live_record_bytes)) {
    problem(absl::StrCat("live byte count is ", LoadOnce(&stripe_->live_record_bytes),
                         ", log holds ", live_bytes));
  }
  return live;
}

}  // namespace shmkv::internal
