// StripeView: lookups, the index slots, writes and the counters they keep.
// Making room at the tail is in stripe_reclaim.cc; rebuilding and verifying
// the index in stripe_recovery.cc.
#include "kv/internal/stripe.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kv/internal/crash_point.h"
#include "kv/internal/hash.h"
#include "kv/internal/relaxed_bytes.h"
#include "kv/internal/stripe_records.h"
#include "kv/platform/sanitizers.h"

namespace shmkv::internal {
namespace {

// How much of the log's tail PrefetchWriteRoom loads: a write of a small
// value reclaims one or two records.
constexpr uint64_t kTailPrefetchBytes = 256;
// A log with less than 1/kNearlyFullShare of its slice free is nearly full:
// writes to it reclaim at the tail (MakeRoom keeps only a small reserve
// free, so a log that ever filled stays nearly full).
constexpr uint64_t kNearlyFullShare = 16;

}  // namespace

StripeView::StripeView(char* base, const Geometry& geometry, uint32_t index)
    : geometry_(geometry),
      index_(index),
      stripe_(reinterpret_cast<Stripe*>(base + geometry.stripe_table_offset) + index),
      slots_(reinterpret_cast<IndexSlot*>(base + geometry.index_offset) +
             uint64_t{index} * geometry.slots_per_stripe),
      slice_(base + geometry.arena_offset + uint64_t{index} * geometry.stripe_arena_bytes),
      ref_mask_(
          static_cast<uint32_t>((uint64_t{1} << IndexRefBits(geometry.stripe_arena_bytes)) - 1)),
      max_index_entries_(MaxIndexEntries(geometry.slots_per_stripe)) {}

IndexSlot StripeView::SlotFor(const EntryHeader* entry, uint64_t hash) const {
  const uint64_t unit =
      static_cast<uint64_t>(reinterpret_cast<const char*>(entry) - slice_) / kUnit;
  return TagOf(hash) | static_cast<uint32_t>(unit + 1);
}

bool StripeView::LogBounds(uint64_t* head, uint64_t* tail) const {
  *head = LoadOnce(&stripe_->head);
  *tail = LoadOnce(&stripe_->tail);
  return SaneBounds(*head, *tail);
}

bool StripeView::SaneBounds(uint64_t head, uint64_t tail) const {
  return tail <= head && head - tail <= geometry_.stripe_arena_bytes && head % kUnit == 0 &&
         tail % kUnit == 0 && head <= kMaxLogPosition;
}

absl::StatusOr<Located> StripeView::Find(absl::string_view key, uint64_t hash) const {
  Located found;
  if (absl::Status s = FindInto(key, hash, &found); !s.ok()) return s;
  return found;
}

absl::Status StripeView::FindInto(absl::string_view key, uint64_t hash, Located* found) const {
  const uint32_t slot_count = geometry_.slots_per_stripe;
  const uint32_t tag = TagOf(hash);
  uint32_t i = IndexHome(hash, slot_count);
  for (uint32_t probes = 0; probes < slot_count; ++probes, i = NextSlot(i)) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == 0) {
      found->slot = &slots_[i];
      return absl::OkStatus();
    }
    if (TagOfSlot(slot) != tag) continue;
    PrefetchRecord(slot);
    EntryHeader header;
    EntryHeader* entry = Resolve(slot, &header);
    if (entry == nullptr || header.state != kLive) {
      return Corrupt(index_, "an index slot points at a bad record");
    }
    if (header.key_size == key.size() &&
        std::memcmp(KeyBytes(entry), key.data(), key.size()) == 0) {
      found->entry = entry;
      found->slot = &slots_[i];
      found->header = header;
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();  // no empty slot: only a corrupt index is full
}

bool StripeView::NearlyFullLog(uint64_t* head, uint64_t* tail) const {
  if (!LogBounds(head, tail)) return false;
  const uint64_t size = geometry_.stripe_arena_bytes;
  return size - (*head - *tail) < size / kNearlyFullShare;
}

void StripeView::PrefetchWriteRoom() const {
  uint64_t head, tail;
  if (!NearlyFullLog(&head, &tail)) return;
  const uint64_t size = geometry_.stripe_arena_bytes;
  const uint64_t physical = tail % size;
  for (uint64_t at = 0; at < kTailPrefetchBytes && physical + at < size; at += 64) {
    __builtin_prefetch(slice_ + physical + at);
  }
  __builtin_prefetch(slice_ + head % size, 1);
}

void StripeView::PrefetchTailSlots() const {
#if !SHMKV_TSAN
  uint64_t head, tail;
  if (!NearlyFullLog(&head, &tail)) return;
  const uint64_t size = geometry_.stripe_arena_bytes;
  // Only the records PrefetchWriteRoom loaded: reading further would wait.
  for (uint64_t at = tail; at < head && at - tail < kTailPrefetchBytes;) {
    const uint64_t physical = at % size;
    const uint64_t to_end = size - physical;
    if (to_end < kEntryHeaderBytes) return;
    const EntryHeader* entry = AtPhysical(physical);
    EntryHeader h;
    std::memcpy(&h, entry, kEntryHeaderBytes);
    if (!SaneHeader(h, std::min(to_end, head - at))) return;
    if (h.state == kLive) PrefetchHome(KeyHash(entry, h, geometry_.hash_seed));
    at += SizeOf(h);
  }
#endif
}

absl::StatusOr<IndexSlot*> StripeView::SlotOf(const EntryHeader* entry, uint64_t hash) const {
  const uint32_t slot_count = geometry_.slots_per_stripe;
  const IndexSlot target = SlotFor(entry, hash);
  uint32_t i = IndexHome(hash, slot_count);
  for (uint32_t probes = 0; probes < slot_count; ++probes, i = NextSlot(i)) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == target) return &slots_[i];
    if (slot == 0) break;
  }
  return Corrupt(index_, "a live record is missing from the index");
}

absl::Status StripeView::DeleteSlot(IndexSlot* slot) {
  const uint32_t slot_count = geometry_.slots_per_stripe;
  uint32_t hole = static_cast<uint32_t>(slot - slots_);
  Publish(&slots_[hole], IndexSlot{0});
  // Backward-shift deletion: an entry after the hole moves into it unless
  // its home lies cyclically in (hole, j], where it would become unreachable.
  uint32_t j = hole;
  for (uint32_t probes = 0; probes < slot_count; ++probes) {
    j = NextSlot(j);
    const IndexSlot moving = LoadOnce(&slots_[j]);
    if (moving == 0) return absl::OkStatus();
    EntryHeader h;
    EntryHeader* entry = Resolve(moving, &h);
    if (entry == nullptr) return Corrupt(index_, "an index slot points at a bad record");
    const uint32_t home = IndexHome(KeyHash(entry, h, geometry_.hash_seed), slot_count);
    const uint32_t from_home = (j + slot_count - home) % slot_count;
    const uint32_t from_hole = (j + slot_count - hole) % slot_count;
    if (from_home >= from_hole) {
      Publish(&slots_[hole], moving);
      SHMKV_CRASH_POINT("delete.mid_shift");  // the moving entry is in two slots
      Publish(&slots_[j], IndexSlot{0});
      hole = j;
    }
  }
  return Corrupt(index_, "the index has no empty slot");
}

void StripeView::Account(const EntryHeader& h, int sign) {
  const uint64_t delta_bytes = RecordBytes(h.key_size, h.value_size);
  if (sign > 0) {
    stripe_->live_record_bytes += delta_bytes;
    stripe_->index_entries += 1;
  } else {
    stripe_->live_record_bytes -= std::min(stripe_->live_record_bytes, delta_bytes);
    stripe_->index_entries -= std::min<uint64_t>(stripe_->index_entries, 1);
  }
  if (h.bits & kLease) return;
  if (sign > 0) {
    stripe_->live_items += 1;
    stripe_->live_key_bytes += h.key_size;
    stripe_->live_value_bytes += h.value_size;
  } else {
    stripe_->live_items -= std::min<uint64_t>(stripe_->live_items, 1);
    stripe_->live_key_bytes -= std::min<uint64_t>(stripe_->live_key_bytes, h.key_size);
    stripe_->live_value_bytes -= std::min<uint64_t>(stripe_->live_value_bytes, h.value_size);
  }
}

uint64_t StripeView::NextVersion() {
  uint64_t counter = stripe_->next_version++;
  return counter * geometry_.stripe_count + index_;
}

EntryHeader* StripeView::Reserve(uint64_t bytes) {
  const uint64_t size = geometry_.stripe_arena_bytes;
  uint64_t head = LoadOnce(&stripe_->head);
  uint64_t physical = head % size;
  uint64_t to_end = size - physical;
  if (to_end < bytes) {
    if (to_end >= kEntryHeaderBytes) {
      EntryHeader pad{};
      pad.state = kPad;
      pad.value_size = static_cast<uint32_t>(to_end);
      RelaxedStoreBytes(reinterpret_cast<char*>(AtPhysical(physical)), &pad, kEntryHeaderBytes);
    }
    Publish(&stripe_->head, head + to_end);
    physical = 0;
  }
  return AtPhysical(physical);
}

void StripeView::Commit(uint64_t bytes) {
  Publish(&stripe_->head, LoadOnce(&stripe_->head) + bytes);
}

bool StripeView::IndexCrowded() const {
  return LoadOnce(&stripe_->index_entries) >= max_index_entries_;
}

absl::Status StripeView::IndexFullError() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("the store's index is full (stripe ", index_, " of ", geometry_.stripe_count,
                   " holds ", max_index_entries_,
                   " entries) and eviction is off; delete entries or create the store with "
                   "a larger Options::expected_items"));
}

absl::StatusOr<uint64_t> StripeView::Write(const NewRecord& record, uint64_t hash,
                                           const Clock& clock) {
  const uint64_t bytes = RecordBytes(record.key.size(), record.value.size());
  // Without eviction a write must leave, beside the live entries, what
  // KeptFreeBytes says: so a full store still takes overwrites that need no
  // more room than what they replace, and compaction never runs short.
  if (!geometry_.evict) {
    absl::StatusOr<Located> existing = Find(record.key, hash);
    if (!existing.ok()) return existing.status();
    uint64_t replaced_bytes = 0;
    if (existing->entry != nullptr) {
      replaced_bytes = SizeOf(existing->header);
    } else if (IndexCrowded()) {
      return IndexFullError();
    }
    const uint64_t largest = std::max(LoadOnce(&stripe_->largest_record), bytes);
    if (stripe_->live_record_bytes - replaced_bytes + bytes +
            KeptFreeBytes(largest, geometry_.stripe_arena_bytes, geometry_.evict) >
        geometry_.stripe_arena_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the store is full (stripe ", index_, " of ", geometry_.stripe_count, " holds ",
          stripe_->live_record_bytes, " of ", geometry_.stripe_arena_bytes,
          " bytes in live entries) and eviction is off; delete entries or create a larger store"));
    }
  }
  absl::Status room = MakeRoom(bytes, clock);
  if (!room.ok()) return room;

  EntryHeader h{};
  h.value_size = static_cast<uint32_t>(record.value.size());
  h.version = NextVersion();
  h.expires_at_ms = record.expires_at_ms;
  h.flags = record.flags;
  h.key_size = static_cast<uint16_t>(record.key.size());
  h.state = kLive;
  h.bits = record.bits;
  EntryHeader* entry = Reserve(bytes);
  char* p = reinterpret_cast<char*>(entry);
  // Word by word (relaxed_bytes.h): a reader without the lock may be
  // reading a record that was reclaimed from this place.
  RelaxedStoreBytes(p, &h, kEntryHeaderBytes);
  RelaxedStoreBytes(p + kEntryHeaderBytes, record.key.data(), record.key.size());
  SHMKV_CRASH_POINT("write.half_written");  // the value is not written yet
  RelaxedStoreBytes(p + kEntryHeaderBytes + record.key.size(), record.value.data(),
                    record.value.size());
  const uint64_t used = kEntryHeaderBytes + record.key.size() + record.value.size();
  RelaxedZeroBytes(p + used, bytes - used);
  Commit(bytes);
  SHMKV_CRASH_POINT("write.after_head");
  if (bytes > stripe_->largest_record) stripe_->largest_record = bytes;

  absl::StatusOr<Located> old = Find(record.key, hash);
  if (!old.ok()) return old.status();
  if (old->slot == nullptr) return Corrupt(index_, "the index has no empty slot");
  // An overwrite keeps the key's second chance (doc/cache_semantics.md): set
  // before the slot makes the record visible.
  if (old->entry != nullptr && (old->header.bits & kReferenced) && !(h.bits & kReferenced)) {
    Publish(&entry->bits, static_cast<uint8_t>(h.bits | kReferenced));
  }
  Publish(old->slot, SlotFor(entry, hash));
  SHMKV_CRASH_POINT("write.after_slot");  // the old record is still live
  if (old->entry != nullptr) {
    Publish(&old->entry->state, static_cast<uint8_t>(kDead));
    SHMKV_CRASH_POINT("write.after_old_dead");
    Account(old->header, -1);
  }
  Account(h, +1);
  return h.version;
}

absl::Status StripeView::Remove(const Located& found, bool expired) {
  Publish(&found.entry->state, static_cast<uint8_t>(kDead));
  Account(found.header, -1);
  if (absl::Status s = DeleteSlot(found.slot); !s.ok()) return s;
  if (found.header.bits & kLease) return absl::OkStatus();
  if (expired) {
    ++stripe_->expirations;
  } else {
    ++stripe_->deletes;
  }
  return absl::OkStatus();
}

void StripeView::SetReferenced(const Located& found) const {
  if ((found.header.bits & kReferenced) == 0) {
    Publish(&found.entry->bits, static_cast<uint8_t>(found.header.bits | kReferenced));
  }
}

void StripeView::EmptyIndex() {
  for (uint32_t i = 0; i < geometry_.slots_per_stripe; ++i) Publish(&slots_[i], IndexSlot{0});
  stripe_->index_entries = 0;
  stripe_->live_items = 0;
  stripe_->live_key_bytes = 0;
  stripe_->live_value_bytes = 0;
  stripe_->live_record_bytes = 0;
  stripe_->largest_record = 0;
}

void StripeView::Clear() {
  Publish(&stripe_->tail, LoadOnce(&stripe_->head));
  EmptyIndex();
}

}  // namespace shmkv::internal
