// StripeView's reclaiming of log space: MakeRoom keeps the free space a
// write needs, and ReclaimTail frees the record at the tail by moving it to
// the head (compaction, and a second chance for a referenced entry) or by
// dropping it (expiry and CLOCK eviction).
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "kv/internal/crash_point.h"
#include "kv/internal/relaxed_bytes.h"
#include "kv/internal/stripe.h"
#include "kv/internal/stripe_records.h"

namespace shmkv::internal {
namespace {

bool Expired(const EntryHeader& h, int64_t* now, const Clock& clock) {
  if (h.expires_at_ms == 0) return false;
  if (*now < 0) *now = clock.NowMillis();
  return h.expires_at_ms <= *now;
}

}  // namespace

absl::Status StripeView::MakeRoom(uint64_t record_bytes, const Clock& clock) {
  const uint64_t size = geometry_.stripe_arena_bytes;
  // Keep room beside the new record to copy a live record forward
  // (CompactionReserveBytes): that is what lets a referenced (or, without
  // eviction, any live) record at the tail move to the head instead of being
  // dropped. Without eviction it must always be there, or compaction could
  // not reach the dead space behind a live record (Write's admission check
  // sees to it).
  const uint64_t reserve = CompactionReserveBytes(
      std::max(LoadOnce(&stripe_->largest_record), record_bytes), size, geometry_.evict);
  int64_t now = -1;
  uint64_t reclaimed = 0;
  for (;;) {
    uint64_t head, tail;
    if (!LogBounds(&head, &tail)) return Corrupt(index_, "log positions out of range");
    uint64_t to_end = size - head % size;
    uint64_t need = to_end < record_bytes ? to_end + record_bytes : record_bytes;
    const uint64_t wanted = need + std::min(reserve, size - need);
    if (size - (head - tail) >= wanted && (!geometry_.evict || !IndexCrowded())) {
      return absl::OkStatus();
    }
    // A lap clears every reference bit, so the next one frees enough in
    // evicting mode; in the other mode it means live data fills the slice.
    if (head == tail || reclaimed > 3 * size) break;
    absl::StatusOr<uint64_t> advanced = ReclaimTail(wanted, &now, clock);
    if (!advanced.ok()) return advanced.status();
    reclaimed += *advanced;
  }
  if (geometry_.evict) {
    // Three laps freed nothing: every record the tail reached was a
    // GetOrCompute lease (never evicted while its computation runs).
    return absl::ResourceExhaustedError(absl::StrCat(
        "no room in stripe ", index_, " of ", geometry_.stripe_count, " (", stripe_->index_entries,
        " index entries, ", stripe_->live_record_bytes, " of ", size,
        " bytes in use) after three laps of its log: what it holds is GetOrCompute leases of "
        "computations still running; retry when they finish, or create the store with a larger "
        "capacity or expected_items"));
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "the store is full (stripe ", index_, " of ", geometry_.stripe_count, " holds ",
      stripe_->live_record_bytes, " of ", size,
      " bytes in live entries) and eviction is off; delete entries or create a larger store"));
}

absl::StatusOr<uint64_t> StripeView::ReclaimTail(uint64_t wanted, int64_t* now,
                                                 const Clock& clock) {
  const uint64_t size = geometry_.stripe_arena_bytes;
  uint64_t head, tail;
  if (!LogBounds(&head, &tail)) return Corrupt(index_, "log positions out of range");
  uint64_t physical = tail % size;
  uint64_t to_end = size - physical;
  if (to_end < kEntryHeaderBytes) {
    Publish(&stripe_->tail, tail + to_end);
    return to_end;
  }
  EntryHeader* entry = AtPhysical(physical);
  EntryHeader h;
  std::memcpy(&h, entry, kEntryHeaderBytes);
  if (!SaneHeader(h, std::min(to_end, head - tail)))
    return Corrupt(index_, "bad record at the log tail");
  const uint64_t bytes = SizeOf(h);
  if (h.state == kLive) {
    const bool lease = (h.bits & kLease) != 0;
    const bool expired = Expired(h, now, clock);
    // Evict only when live data crowds the slice. Otherwise the space the
    // write wants is held by dead records further on, and moving this one
    // forward (compaction) reaches them within a lap without losing it.
    const bool crowded = stripe_->live_record_bytes + wanted > size / 16 * 15 || IndexCrowded();
    const bool second_chance = lease || (h.bits & kReferenced) || !geometry_.evict || !crowded;
    const uint64_t hash = KeyHash(entry, h, geometry_.hash_seed);
    if (!expired && second_chance) {
      uint64_t head_to_end = size - head % size;
      uint64_t need = head_to_end < bytes ? head_to_end + bytes : bytes;
      if (size - (head - tail) >= need) {
        EntryHeader* copy = Reserve(bytes);
        RelaxedStoreBytes(reinterpret_cast<char*>(copy), entry, bytes);
        Publish(&copy->bits, static_cast<uint8_t>(h.bits & ~kReferenced));
        Commit(bytes);
        SHMKV_CRASH_POINT("move.after_copy");
        absl::StatusOr<IndexSlot*> slot = SlotOf(entry, hash);
        if (!slot.ok()) return slot.status();
        Publish(*slot, SlotFor(copy, hash));
        SHMKV_CRASH_POINT("move.after_slot");
        Publish(&entry->state, static_cast<uint8_t>(kDead));
        SHMKV_CRASH_POINT("move.before_tail");
        Publish(&stripe_->tail, tail + bytes);
        return bytes;
      }
      if (!geometry_.evict) {
        return absl::ResourceExhaustedError(
            absl::StrCat("the store is full (stripe ", index_, " of ", geometry_.stripe_count,
                         ") and eviction is off; delete entries or create a larger store"));
      }
    }
    absl::StatusOr<IndexSlot*> slot = SlotOf(entry, hash);
    if (!slot.ok()) return slot.status();
    Publish(&entry->state, static_cast<uint8_t>(kDead));
    SHMKV_CRASH_POINT("evict.after_dead");
    Account(h, -1);
    if (absl::Status s = DeleteSlot(*slot); !s.ok()) return s;
    if (!lease) {
      if (expired) {
        ++stripe_->expirations;
      } else {
        ++stripe_->evictions;
      }
    }
  }
  Publish(&stripe_->tail, tail + bytes);
  return bytes;
}

}  // namespace shmkv::internal
