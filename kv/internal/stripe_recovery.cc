// StripeView's recovery: Rebuild makes the index again from the log after a
// holder died (or for a repair), and Verify checks the log against the
// index without changing either.
#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/internal/crash_point.h"
#include "kv/internal/relaxed_bytes.h"
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

std::vector<uint64_t> StripeView::IndexedPositions(uint64_t tail) const {
  const uint64_t size = geometry_.stripe_arena_bytes;
  std::vector<uint64_t> positions;
  for (uint32_t i = 0; i < geometry_.slots_per_stripe; ++i) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    EntryHeader h;
    const EntryHeader* entry = slot == 0 ? nullptr : Resolve(slot, &h);
    if (entry == nullptr || h.state != kLive) continue;
    if (TagOf(KeyHash(entry, h, geometry_.hash_seed)) != TagOfSlot(slot)) continue;
    const uint64_t physical = static_cast<uint64_t>(reinterpret_cast<const char*>(entry) - slice_);
    positions.push_back(tail + (physical + size - tail % size) % size);
  }
  std::sort(positions.begin(), positions.end());
  return positions;
}

bool StripeView::RecoverHead(uint64_t tail, const std::vector<uint64_t>& indexed,
                             uint64_t* head) const {
  if (tail % kUnit != 0 || indexed.empty()) return false;
  const uint64_t size = geometry_.stripe_arena_bytes;
  uint64_t end = tail;
  for (const uint64_t pos : indexed) {
    EntryHeader h;
    std::memcpy(&h, AtPhysical(pos % size), kEntryHeaderBytes);
    end = std::max(end, pos + SizeOf(h));
  }
  if (end - tail > size) return false;
  *head = end;
  return true;
}

uint64_t StripeView::ResumeAfter(uint64_t bad, uint64_t head,
                                 const std::vector<uint64_t>& indexed) const {
  const uint64_t size = geometry_.stripe_arena_bytes;
  EntryHeader h;
  std::memcpy(&h, AtPhysical(bad % size), kEntryHeaderBytes);
  // Only the state byte (or other fields past the sizes) damaged: the
  // record's own sizes say where the next one starts, if one parses there.
  if (h.key_size >= 1 && h.key_size <= geometry_.max_key_size &&
      h.value_size <= geometry_.max_value_size) {
    const uint64_t next = bad + RecordBytes(h.key_size, h.value_size);
    const uint64_t to_end = size - next % size;
    EntryHeader n;
    if (next <= head && next - bad <= size - bad % size &&
        (next == head || to_end < kEntryHeaderBytes ||
         (std::memcpy(&n, AtPhysical(next % size), kEntryHeaderBytes),
          SaneHeader(n, std::min(to_end, head - next))))) {
      return next;
    }
  }
  // Else the next record the index refers to (its key matches its slot).
  auto after = std::upper_bound(indexed.begin(), indexed.end(), bad);
  return after != indexed.end() && *after < head ? *after : 0;
}

void StripeView::Fill(uint64_t from, uint64_t to) {
  const uint64_t size = geometry_.stripe_arena_bytes;
  EntryHeader* entry = AtPhysical(from % size);
  EntryHeader h;
  std::memcpy(&h, entry, kEntryHeaderBytes);
  if (h.key_size >= 1 && h.key_size <= geometry_.max_key_size &&
      h.value_size <= geometry_.max_value_size &&
      from + RecordBytes(h.key_size, h.value_size) == to) {
    Publish(&entry->state, static_cast<uint8_t>(kDead));
    return;
  }
  for (uint64_t pos = from; pos < to;) {
    const uint64_t len = std::min(size - pos % size, to - pos);
    if (len >= kEntryHeaderBytes) {
      EntryHeader pad{};
      pad.state = kPad;
      pad.value_size = static_cast<uint32_t>(len);
      RelaxedStoreBytes(reinterpret_cast<char*>(AtPhysical(pos % size)), &pad, kEntryHeaderBytes);
    }
    pos += len;
  }
}

RebuildReport StripeView::Rebuild() {
  RebuildReport report;
  const uint64_t size = geometry_.stripe_arena_bytes;
  Publish(&stripe_->rebuilding, 1u);
  uint64_t head, tail;
  const bool bounds_ok = LogBounds(&head, &tail);
  const uint64_t bad_head = head, bad_tail = tail;
  if (!bounds_ok) {
    // Back by whole slices, tail into the first: every byte keeps its place
    // in the slice, and the positions are far from wrapping.
    const uint64_t slices = tail - tail % size;
    tail -= slices;
    head -= slices;
  }
  // Before the index is emptied: where the records it refers to start.
  const std::vector<uint64_t> indexed = IndexedPositions(tail);
  EmptyIndex();
  if (!bounds_ok) {
    if (SaneBounds(head, tail)) {
      report.notes.push_back(absl::StrCat("stripe ", index_, ": log positions near wrapping (head ",
                                          bad_head, ", tail ", bad_tail,
                                          "); moved them back by whole slices"));
    } else if (RecoverHead(tail, indexed, &head)) {
      report.notes.push_back(absl::StrCat("stripe ", index_, ": log head out of range (", bad_head,
                                          ", tail ", bad_tail,
                                          "); set it past the last record the index refers to"));
    } else {
      report.notes.push_back(absl::StrCat("stripe ", index_, ": log positions out of range (head ",
                                          bad_head, ", tail ", bad_tail, "); emptied the stripe"));
      report.bytes_dropped = size;
      head = 0;
      tail = 0;
    }
    Publish(&stripe_->head, head);
    Publish(&stripe_->tail, tail);
  }
  uint64_t max_version = 0;
  auto index_record = [&](uint64_t, EntryHeader* entry, const EntryHeader& h) {
    if (h.state != kLive) return true;
    max_version = std::max(max_version, h.version);
    IndexRecord(entry, h, &report);
    SHMKV_CRASH_POINT("rebuild.mid_walk");
    return true;
  };
  for (uint64_t pos = tail;;) {
    const uint64_t end = WalkLog(pos, head, index_record);
    if (end == head) break;
    uint64_t next = ResumeAfter(end, head, indexed);
    if (next != 0) {
      Fill(end, next);
      // A gap too short for a pad record cannot be made to parse: then the
      // log ends at the damage, as if nothing followed it.
      if (WalkLog(end, next, [](uint64_t, EntryHeader*, const EntryHeader&) { return true; }) !=
          next) {
        next = 0;
      }
    }
    if (next == 0) {
      report.bytes_dropped += head - end;
      report.notes.push_back(absl::StrCat("stripe ", index_, ": unreadable record at log position ",
                                          end, "; dropped the last ", head - end,
                                          " bytes of its log"));
      Publish(&stripe_->head, end);
      break;
    }
    report.bytes_dropped += next - end;
    report.notes.push_back(absl::StrCat("stripe ", index_, ": unreadable record at log position ",
                                        end, "; dropped its ", next - end,
                                        " bytes and kept the records after it"));
    pos = next;
  }
  report.live_entries = stripe_->live_items;
  const uint64_t next = max_version / geometry_.stripe_count + 1;
  if (stripe_->next_version < next) stripe_->next_version = next;
  Publish(&stripe_->rebuilding, 0u);
  return report;
}

void StripeView::IndexRecord(EntryHeader* entry, const EntryHeader& h, RebuildReport* report) {
  const uint64_t bytes = SizeOf(h);
  const absl::string_view key(KeyBytes(entry), h.key_size);
  const uint64_t hash = KeyHash(entry, h, geometry_.hash_seed);
  stripe_->largest_record = std::max(stripe_->largest_record, bytes);
  absl::StatusOr<Located> old = Find(key, hash);
  if (!old.ok() || (old->entry == nullptr && (IndexCrowded() || old->slot == nullptr))) {
    // (A missing slot means no empty slot: only a process writing the
    // index without the lock can cause that while we rebuild it.)
    Publish(&entry->state, static_cast<uint8_t>(kDead));
    ++report->entries_dropped;
    report->notes.push_back(absl::StrCat("stripe ", index_, ": dropped an entry: ",
                                         !old.ok()              ? old.status().message()
                                         : old->slot == nullptr ? "the index has no empty slot"
                                                                : "the index is full"));
  } else if (old->entry == nullptr) {
    Publish(old->slot, SlotFor(entry, hash));
    Account(h, +1);
  } else if (old->header.version > h.version) {
    Publish(&entry->state, static_cast<uint8_t>(kDead));
    ++report->duplicates_dropped;
  } else {
    Publish(old->slot, SlotFor(entry, hash));
    Publish(&old->entry->state, static_cast<uint8_t>(kDead));
    Account(old->header, -1);
    Account(h, +1);
    ++report->duplicates_dropped;
  }
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
  // A vector, not a hash set: a failed allocation as it grows throws
  // std::bad_alloc and leaves it intact (Debian's Abseil hash sets free a
  // wild pointer when their growth fails), so the caller's guard releases
  // the lock and the process lives on.
  std::vector<const EntryHeader*> in_log;
  uint64_t live = 0, live_bytes = 0;
  bool index_broken = false;
  const uint64_t end =
      WalkLog(tail, head, [&](uint64_t pos, EntryHeader* entry, const EntryHeader& h) {
        if (h.state != kLive) return true;
        ++live;
        live_bytes += RecordBytes(h.key_size, h.value_size);
        in_log.push_back(entry);
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
  std::sort(in_log.begin(), in_log.end());  // for binary_search
  uint64_t indexed = 0;
  absl::Status walk = ForEachLive([&](const Located& found) {
    ++indexed;
    if (!std::binary_search(in_log.begin(), in_log.end(), found.entry)) {
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
