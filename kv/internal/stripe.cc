#include "kv/internal/stripe.h"

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"

namespace shmkv::internal {
namespace {

absl::Status Corrupt(uint32_t stripe, const std::string& what) {
  return absl::DataLossError(absl::StrCat("stripe ", stripe, " is corrupt (", what,
                                          "); run kvcli check --repair"));
}

uint64_t SizeOf(const EntryHeader& h) {
  return h.state == kPad ? h.value_size : RecordBytes(h.key_size, h.value_size);
}

bool Expired(const EntryHeader& h, int64_t* now, const Clock& clock) {
  if (h.expires_at_ms == 0) return false;
  if (*now < 0) *now = clock.NowMillis();
  return h.expires_at_ms <= *now;
}

}  // namespace

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
    std::memcpy(&h, entry, sizeof(h));
    if (!SaneHeader(h, std::min(to_end, head - pos)) || !fn(pos, entry, h)) return pos;
    pos += SizeOf(h);
  }
  return head;
}

StripeView::StripeView(char* base, const Geometry& geometry, uint32_t index)
    : base_(base),
      geometry_(geometry),
      index_(index),
      stripe_(reinterpret_cast<Stripe*>(base + geometry.stripe_table_offset) + index),
      buckets_(reinterpret_cast<EntryRef*>(base + geometry.bucket_table_offset) +
               uint64_t{index} * geometry.buckets_per_stripe),
      slice_(base + geometry.arena_offset + uint64_t{index} * geometry.stripe_arena_bytes),
      slice_offset_(geometry.arena_offset + uint64_t{index} * geometry.stripe_arena_bytes) {}

bool StripeView::SaneHeader(const EntryHeader& h, uint64_t room) const {
  switch (h.state) {
    case kLive:
    case kDead:
      return h.key_size >= 1 && h.key_size <= geometry_.max_key_size &&
             h.value_size <= geometry_.max_value_size &&
             RecordBytes(h.key_size, h.value_size) <= room;
    case kPad:
      return h.value_size >= kEntryHeaderBytes && h.value_size % kUnit == 0 && h.value_size <= room;
    default:
      return false;
  }
}

EntryHeader* StripeView::Resolve(EntryRef ref, EntryHeader* header) const {
  const uint64_t offset = ref.offset();
  uint64_t end = slice_offset_ + geometry_.stripe_arena_bytes;
  if (offset < slice_offset_ || offset + kEntryHeaderBytes > end) return nullptr;
  EntryHeader* entry = reinterpret_cast<EntryHeader*>(base_ + offset);
  std::memcpy(header, entry, sizeof(*header));
  if (!SaneHeader(*header, end - offset)) return nullptr;
  return entry;
}

EntryRef StripeView::RefOf(const EntryHeader* entry) const {
  return EntryRef::FromOffset(static_cast<uint64_t>(reinterpret_cast<const char*>(entry) - base_));
}

EntryHeader* StripeView::AtPhysical(uint64_t physical) const {
  return reinterpret_cast<EntryHeader*>(slice_ + physical);
}

bool StripeView::LogBounds(uint64_t* head, uint64_t* tail) const {
  *head = LoadOnce(&stripe_->head);
  *tail = LoadOnce(&stripe_->tail);
  return *tail <= *head && *head - *tail <= geometry_.stripe_arena_bytes &&
         *head % kUnit == 0 && *tail % kUnit == 0;
}

absl::StatusOr<Located> StripeView::Find(absl::string_view key, uint64_t hash) const {
  const uint64_t max_steps = geometry_.stripe_arena_bytes / kEntryHeaderBytes + 1;
  Located found;
  EntryRef* link = &buckets_[BucketOf(hash)];
  for (uint64_t steps = 0;; ++steps) {
    EntryRef ref = LoadOnce(link);
    if (ref.null()) {
      found.link = link;
      return found;
    }
    if (steps > max_steps) return Corrupt(index_, "a bucket chain loops");
    PrefetchRecord(ref);
    EntryHeader header;
    EntryHeader* entry = Resolve(ref, &header);
    if (entry == nullptr || header.state != kLive) {
      return Corrupt(index_, "a bucket chain points at a bad record");
    }
    if (header.key_size == key.size() &&
        std::memcmp(reinterpret_cast<const char*>(entry + 1), key.data(), key.size()) == 0) {
      found.entry = entry;
      found.link = link;
      found.header = header;
      return found;
    }
    link = &entry->next;
  }
}

absl::StatusOr<EntryRef*> StripeView::LinkTo(const EntryHeader* entry, uint64_t hash) const {
  const uint64_t max_steps = geometry_.stripe_arena_bytes / kEntryHeaderBytes + 1;
  const EntryRef target = RefOf(entry);
  EntryRef* link = &buckets_[BucketOf(hash)];
  for (uint64_t steps = 0; steps <= max_steps; ++steps) {
    EntryRef ref = LoadOnce(link);
    if (ref == target) return link;
    if (ref.null()) break;
    EntryHeader header;
    EntryHeader* next = Resolve(ref, &header);
    if (next == nullptr) break;
    link = &next->next;
  }
  return Corrupt(index_, "a live record is missing from its bucket chain");
}

void StripeView::Account(const EntryHeader& h, int sign) {
  const uint64_t delta_bytes = RecordBytes(h.key_size, h.value_size);
  if (sign > 0) {
    stripe_->live_record_bytes += delta_bytes;
  } else {
    stripe_->live_record_bytes -= std::min(stripe_->live_record_bytes, delta_bytes);
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
      std::memcpy(AtPhysical(physical), &pad, sizeof(pad));
    }
    Publish(&stripe_->head, head + to_end);
    physical = 0;
  }
  return AtPhysical(physical);
}

void StripeView::Commit(uint64_t bytes) {
  Publish(&stripe_->head, LoadOnce(&stripe_->head) + bytes);
}

uint64_t StripeView::ReserveBytes(uint64_t record_bytes) const {
  return 2 * std::max(LoadOnce(&stripe_->largest_record), record_bytes);
}

absl::Status StripeView::MakeRoom(uint64_t record_bytes, const Clock& clock) {
  const uint64_t size = geometry_.stripe_arena_bytes;
  // Besides the new record, keep room to copy any live record forward: that
  // is what lets a referenced (or, without eviction, any live) record at the
  // tail move to the head instead of being dropped.
  const uint64_t reserve = ReserveBytes(record_bytes);
  int64_t now = -1;
  uint64_t reclaimed = 0;
  for (;;) {
    uint64_t head, tail;
    if (!LogBounds(&head, &tail)) return Corrupt(index_, "log positions out of range");
    uint64_t to_end = size - head % size;
    uint64_t need = to_end < record_bytes ? to_end + record_bytes : record_bytes;
    const uint64_t wanted = need + std::min(reserve, size - need);
    if (size - (head - tail) >= wanted) return absl::OkStatus();
    // A lap clears every reference bit, so the next one frees enough in
    // evicting mode; in the other mode it means live data fills the slice.
    if (head == tail || reclaimed > 3 * size) break;
    absl::StatusOr<uint64_t> advanced = ReclaimTail(wanted, &now, clock);
    if (!advanced.ok()) return advanced.status();
    reclaimed += *advanced;
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
  std::memcpy(&h, entry, sizeof(h));
  if (!SaneHeader(h, std::min(to_end, head - tail))) return Corrupt(index_, "bad record at the log tail");
  const uint64_t bytes = SizeOf(h);
  if (h.state == kLive) {
    const bool lease = (h.bits & kLease) != 0;
    const bool expired = Expired(h, now, clock);
    // Evict only when live data crowds the slice. Otherwise the space the
    // write wants is held by dead records further on, and moving this one
    // forward (compaction) reaches them within a lap without losing it.
    const bool crowded = stripe_->live_record_bytes + wanted > size / 16 * 15;
    const bool second_chance = lease || (h.bits & kReferenced) || !geometry_.evict || !crowded;
    const uint64_t hash = Hash64(entry + 1, h.key_size);
    if (!expired && second_chance) {
      uint64_t head_to_end = size - head % size;
      uint64_t need = head_to_end < bytes ? head_to_end + bytes : bytes;
      if (size - (head - tail) >= need) {
        EntryHeader* copy = Reserve(bytes);
        std::memcpy(copy, entry, bytes);
        copy->bits = static_cast<uint8_t>(h.bits & ~kReferenced);
        Commit(bytes);
        absl::StatusOr<EntryRef*> link = LinkTo(entry, hash);
        if (!link.ok()) return link.status();
        Publish(*link, RefOf(copy));
        Publish(&entry->state, static_cast<uint8_t>(kDead));
        Publish(&stripe_->tail, tail + bytes);
        return bytes;
      }
      if (!geometry_.evict) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the store is full (stripe ", index_, " of ", geometry_.stripe_count,
            ") and eviction is off; delete entries or create a larger store"));
      }
    }
    absl::StatusOr<EntryRef*> link = LinkTo(entry, hash);
    if (!link.ok()) return link.status();
    Publish(&entry->state, static_cast<uint8_t>(kDead));
    Publish(*link, h.next);
    Account(h, -1);
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

absl::StatusOr<uint64_t> StripeView::Write(const NewRecord& record, uint64_t hash,
                                           const Clock& clock) {
  const uint64_t bytes = RecordBytes(record.key.size(), record.value.size());
  if (!geometry_.evict &&
      stripe_->live_record_bytes + bytes + ReserveBytes(bytes) > geometry_.stripe_arena_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the store is full (stripe ", index_, " of ", geometry_.stripe_count, " holds ",
        stripe_->live_record_bytes, " of ", geometry_.stripe_arena_bytes,
        " bytes in live entries) and eviction is off; delete entries or create a larger store"));
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
  std::memcpy(p, &h, sizeof(h));
  std::memcpy(p + sizeof(h), record.key.data(), record.key.size());
  if (!record.value.empty()) {
    std::memcpy(p + sizeof(h) + record.key.size(), record.value.data(), record.value.size());
  }
  const uint64_t used = sizeof(h) + record.key.size() + record.value.size();
  std::memset(p + used, 0, bytes - used);
  Commit(bytes);
  if (bytes > stripe_->largest_record) stripe_->largest_record = bytes;

  absl::StatusOr<Located> old = Find(record.key, hash);
  if (!old.ok()) return old.status();
  if (old->entry != nullptr) {
    entry->next = old->header.next;
    Publish(old->link, RefOf(entry));
    Publish(&old->entry->state, static_cast<uint8_t>(kDead));
    Account(old->header, -1);
  } else {
    entry->next = LoadOnce(old->link);
    Publish(old->link, RefOf(entry));
  }
  Account(h, +1);
  return h.version;
}

absl::Status StripeView::Remove(const Located& found, bool expired) {
  Publish(&found.entry->state, static_cast<uint8_t>(kDead));
  Publish(found.link, found.header.next);
  Account(found.header, -1);
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

void StripeView::Clear() {
  Publish(&stripe_->tail, LoadOnce(&stripe_->head));
  std::memset(buckets_, 0, uint64_t{geometry_.buckets_per_stripe} * sizeof(EntryRef));
  stripe_->live_items = 0;
  stripe_->live_key_bytes = 0;
  stripe_->live_value_bytes = 0;
  stripe_->live_record_bytes = 0;
  stripe_->largest_record = 0;
}

RebuildReport StripeView::Rebuild() {
  RebuildReport report;
  const uint64_t size = geometry_.stripe_arena_bytes;
  Publish(&stripe_->rebuilding, 1u);
  std::memset(buckets_, 0, uint64_t{geometry_.buckets_per_stripe} * sizeof(EntryRef));
  stripe_->live_items = 0;
  stripe_->live_key_bytes = 0;
  stripe_->live_value_bytes = 0;
  stripe_->live_record_bytes = 0;
  stripe_->largest_record = 0;

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
    const absl::string_view key(reinterpret_cast<const char*>(entry + 1), h.key_size);
    max_version = std::max(max_version, h.version);
    stripe_->largest_record = std::max(stripe_->largest_record, bytes);
    absl::StatusOr<Located> old = Find(key, Hash64(key.data(), key.size()));
    if (!old.ok()) {
      Publish(&entry->state, static_cast<uint8_t>(kDead));
      report.notes.push_back(absl::StrCat("stripe ", index_, ": dropped an entry: ",
                                          old.status().message()));
    } else if (old->entry == nullptr) {
      entry->next = LoadOnce(old->link);
      Publish(old->link, RefOf(entry));
      Account(h, +1);
    } else if (old->header.version > h.version) {
      Publish(&entry->state, static_cast<uint8_t>(kDead));
      ++report.duplicates_dropped;
    } else {
      entry->next = old->header.next;
      Publish(old->link, RefOf(entry));
      Publish(&old->entry->state, static_cast<uint8_t>(kDead));
      Account(old->header, -1);
      Account(h, +1);
      ++report.duplicates_dropped;
    }
    return true;
  });
  if (end != head) {
    report.bytes_dropped += head - end;
    report.notes.push_back(absl::StrCat("stripe ", index_, ": unreadable record at log position ",
                                        end, "; dropped the last ", head - end, " bytes of its log"));
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
  absl::flat_hash_set<uint32_t> in_log;
  uint64_t live = 0, live_bytes = 0;
  bool index_broken = false;
  const uint64_t end = WalkLog(tail, head, [&](uint64_t pos, EntryHeader* entry, const EntryHeader& h) {
    if (h.state != kLive) return true;
    ++live;
    live_bytes += RecordBytes(h.key_size, h.value_size);
    in_log.insert(RefOf(entry).units);
    const absl::string_view key(reinterpret_cast<const char*>(entry + 1), h.key_size);
    absl::StatusOr<Located> found = Find(key, Hash64(key.data(), key.size()));
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
    if (!in_log.contains(RefOf(found.entry).units)) {
      problem("the index holds a record outside the live log");
    }
    return true;
  });
  if (!walk.ok()) problem(std::string(walk.message()));
  if (indexed != live) {
    problem(absl::StrCat("index holds ", indexed, " entries, log holds ", live));
  }
  if (live_bytes != LoadOnce(&stripe_->live_record_bytes)) {
    problem(absl::StrCat("live byte count is ", LoadOnce(&stripe_->live_record_bytes),
                         ", log holds ", live_bytes));
  }
  return live;
}

}  // namespace shmkv::internal
