// Operations on one lock stripe: its index of slots and its circular log of
// records. Every method requires the stripe's mutex to be held by the caller.
// The segment is untrusted: each value read from it is loaded once, checked,
// and only then used; anything inconsistent yields DataLoss, never a wild
// access.
#ifndef SHMKV_KV_INTERNAL_STRIPE_H_
#define SHMKV_KV_INTERNAL_STRIPE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kv/internal/geometry.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"
#include "kv/internal/relaxed_bytes.h"
#include "shmkv/clock.h"

namespace shmkv::internal {

// A located entry: where it is, the index slot that holds it, and a checked
// copy of its header taken when it was found.
struct Located {
  EntryHeader* entry = nullptr;  // null: not found
  IndexSlot* slot = nullptr;     // found: its slot; not found: the empty slot
                                 // where it would go
  EntryHeader header{};
  const char* key() const { return reinterpret_cast<const char*>(entry) + kEntryHeaderBytes; }
  const char* value() const { return key() + header.key_size; }
};

// What a write puts into a new record.
struct NewRecord {
  absl::string_view key;
  absl::string_view value;
  int64_t expires_at_ms = 0;
  uint32_t flags = 0;
  uint8_t bits = 0;
};

// What StripeView::ReadOptimistic found.
enum class Optimistic {
  kHit,   // the key's live entry, as it was at one instant
  kMiss,  // the key had no entry at one instant
  kLock,  // the caller must take the locked path
  kTorn,  // (one try only) a writer changed the stripe meanwhile
};

// A slot index no stripe has: what PrefetchEntry returns when no slot of
// the key's probe run it read carries the key's tag.
inline constexpr uint32_t kNoHint = ~uint32_t{0};

struct RebuildReport {
  uint64_t live_entries = 0;
  uint64_t duplicates_dropped = 0;
  uint64_t entries_dropped = 0;  // live entries marked dead (no room in the index)
  uint64_t bytes_dropped = 0;    // unparseable log suffix
  std::vector<std::string> notes;
};

// The free space a stripe keeps beside its live records
// (doc/cache_semantics.md), for a stripe of `stripe_arena_bytes` whose
// largest record takes `largest_record` bytes.
//
// Compaction's reserve: room to copy a live record from the log's tail to
// its head, twice the largest record (for the slack where the log wraps).
// With eviction it is capped at 1/16 of the slice: a record too large to
// move is evicted, referenced or not, so large values cost their size
// rather than three times it.
inline uint64_t CompactionReserveBytes(uint64_t largest_record, uint64_t stripe_arena_bytes,
                                       bool evict) {
  constexpr uint64_t kEvictingReserveShare = 16;
  const uint64_t reserve = 2 * largest_record;
  return evict ? std::min(reserve, stripe_arena_bytes / kEvictingReserveShare) : reserve;
}

// What a write leaves free: the compaction reserve and, without eviction,
// one more largest record. While a write is copied in, the entry it
// replaces is still live, and that extra record is what keeps the full
// reserve free then.
inline uint64_t KeptFreeBytes(uint64_t largest_record, uint64_t stripe_arena_bytes, bool evict) {
  return CompactionReserveBytes(largest_record, stripe_arena_bytes, evict) +
         (evict ? 0 : largest_record);
}

class StripeView {
 public:
  StripeView(char* base, const Geometry& geometry, uint32_t index);

  Stripe* stripe() const { return stripe_; }
  uint32_t index() const { return index_; }

  // Finds the live entry (or lease) for `key`.
  absl::StatusOr<Located> Find(absl::string_view key, uint64_t hash) const;
  // Find's lookup into a Located of the caller's, for a caller that serves
  // many keys (no StatusOr built or copied per key): on a hit sets
  // found->entry, slot and header; otherwise found->entry stays as it was
  // (null, for a default Located) and found->slot becomes the empty slot.
  // Errors only for a corrupt stripe.
  absl::Status FindInto(absl::string_view key, uint64_t hash, Located* found) const;

  // Appends a record and points the index at it in place of any existing
  // entry for its key, reclaiming space at the tail first (expired, then
  // unreferenced entries; referenced ones get a second chance). `clock` is
  // read only if an expiry must be checked. Returns the new record's version.
  absl::StatusOr<uint64_t> Write(const NewRecord& record, uint64_t hash, const Clock& clock);

  // Reads `key` (hashing to `hash`) without the stripe's lock, validated by
  // the stripe's read_version (doc/locking.md, "Optimistic reads"): kHit
  // with the value in *value and the record's header in *header, kMiss, or
  // kLock when a holder is changing the stripe (or died doing so), a few
  // tries did not validate, what was read makes no sense (the locked path
  // tells corruption apart), or the entry needs what only a holder may do:
  // set its reference bit, reclaim it once expired, serve a lease. Makes no
  // system call and writes nothing shared; *now is read from `clock` once,
  // when an entry has an expiry. *value may have been changed by any result.
  // `hint` is a slot to look at first (what PrefetchEntry or
  // PrefetchEntryStart returned for the key, or kNoHint):
  // it saves the probe when it holds the key, and is never trusted beyond
  // that.
  Optimistic ReadOptimistic(absl::string_view key, uint64_t hash, uint32_t hint, std::string* value,
                            EntryHeader* header, int64_t* now, const Clock& clock) const;

  // Removes a located entry from the index and marks its record dead.
  absl::Status Remove(const Located& found, bool expired);
  void SetReferenced(const Located& found) const;

  // Empties the stripe.
  void Clear();

  // Rebuilds the index (its slots and the counters) from the log, dropping
  // what cannot be parsed. Used after a holder died and by Check(repair).
  RebuildReport Rebuild();

  // Verifies the log and the index without changing anything; appends
  // problems. Returns the number of live entries seen.
  uint64_t Verify(std::vector<std::string>* problems) const;

  // Live entries in index order; `fn(located)` returns false to stop.
  template <typename Fn>
  absl::Status ForEachLive(Fn fn) const;

  // One chunk of a scan: the live entries whose key's home slot lies in
  // [from, *to), in slot order. The index keeps every entry at or after its
  // home, with no empty slot in between, and moves entries only towards
  // their home (backward-shift deletion) or not at all (inserts, log
  // compaction): so reading from `from` past *to - 1 up to the next empty
  // slot (wrapping to slot 0) finds every entry homed in the range, and the
  // ranges of successive chunks partition the keys however the index changed
  // between them. `keep(found)` is a cheap filter, asked first; for a kept
  // entry homed in the range, `take(found, hash)` runs (hash: of its key), and returning false
  // ends the range early: *to becomes the slot after the one read last (the
  // run past it is still read for entries homed before that).
  template <typename Keep, typename Take>
  absl::Status ForEachHomedIn(uint32_t from, uint32_t* to, Keep keep, Take take) const;

  // Salvage's walk, which reports damage instead of failing: for each used
  // slot in [from, to), fn(slot index, found), with found.entry null when the slot does
  // not lead to a sane live record whose key hashes to the slot's tag.
  template <typename Fn>
  void ForEachSlot(uint32_t from, uint32_t to, Fn fn) const;

  // Starts loading what Find will read first for `hash` (its home slot), so
  // the miss overlaps with taking the lock.
  void PrefetchHome(uint64_t hash) const {
    __builtin_prefetch(&slots_[IndexHome(hash, geometry_.slots_per_stripe)]);
  }
  // Starts loading the record of the first slot in `hash`'s probe run (its
  // first few slots) whose tag matches, so a batch's records load together
  // instead of one miss after the other; a key displaced from its home slot
  // gets its record prefetched too. The one method that needs no lock: it
  // only reads slots and prefetches, so a slot changed meanwhile costs
  // nothing but a wasted load. Returns the slot whose record it prefetched
  // (kNoHint if none), a hint for ReadOptimistic.
  uint32_t PrefetchEntry(uint64_t hash) const { return PrefetchEntryLines(hash, kRecordLines); }
  // PrefetchEntry in two steps, for reads that keep many records loading:
  // the record's first line only (which starts the walk of its page, the
  // costly part of a random access on 4 KiB pages), then, given the slot
  // the first step returned, the rest of its lines.
  uint32_t PrefetchEntryStart(uint64_t hash) const { return PrefetchEntryLines(hash, 1); }
  void PrefetchEntryRest(uint32_t hint) const {
    if (hint >= geometry_.slots_per_stripe) return;
    if (const IndexSlot slot = LoadOnce(&slots_[hint]); slot != 0) {
      PrefetchRecordLines(slot, 1, kRecordLines);
    }
  }
  // Starts loading what a write to this stripe touches first when its log is
  // nearly full (NearlyFullLog): the records at the log's tail, which making
  // room reclaims, and the line at the head, where the new record goes. A
  // log with room to spare is left alone. Needs no lock, like PrefetchEntry.
  void PrefetchWriteRoom() const;
  // Once PrefetchWriteRoom's lines have arrived: starts loading the home
  // slots of the live records at the tail, which making room moves to the
  // head and must then find in the index (otherwise a miss that waits for
  // the miss on the record). Needs no lock: the records it reads may be
  // being written, so the slots it picks are a guess, read within the same
  // bounds as every read of the segment. Under ThreadSanitizer it does
  // nothing, as those reads race with writers by design.
  void PrefetchTailSlots() const;

 private:
  // Resolves an index slot to a record fully inside this stripe's slice
  // whose header is sane; nullptr otherwise. *header receives the checked
  // copy.
  EntryHeader* Resolve(IndexSlot slot, EntryHeader* header) const;
  EntryHeader* AtPhysical(uint64_t physical) const;
  // ReadOptimistic's parts (stripe_optimistic.cc): one validated try, and
  // the unvalidated probe inside it; kHinted: `hint` is looked at first (a
  // read without one runs the probe alone, as tight as it was).
  template <bool kHinted>
  Optimistic ReadOnce(absl::string_view key, uint64_t hash, uint32_t hint, std::string* value,
                      EntryHeader* header, int64_t* now, const Clock& clock) const;
  template <bool kHinted>
  Optimistic ProbeUnlocked(absl::string_view key, uint64_t hash, uint32_t hint, std::string* value,
                           EntryHeader* header, int64_t* now, const Clock& clock) const;
  bool SaneHeader(const EntryHeader& h, uint64_t room) const;
  // The slot value for a record of this slice whose key hashes to `hash`.
  IndexSlot SlotFor(const EntryHeader* entry, uint64_t hash) const;
  // Inline: a lookup compares a tag for every slot of its probe run.
  uint32_t TagOf(uint64_t hash) const { return TagOfSlot(static_cast<uint32_t>(hash)); }
  uint32_t TagOfSlot(IndexSlot slot) const { return slot & ~ref_mask_; }
  uint32_t NextSlot(uint32_t i) const { return i + 1 == geometry_.slots_per_stripe ? 0 : i + 1; }
  // The slot that holds `entry`, or DataLoss.
  absl::StatusOr<IndexSlot*> SlotOf(const EntryHeader* entry, uint64_t hash) const;
  // Empties `slot` and shifts later entries of its probe run back so every
  // entry stays reachable from its home.
  absl::Status DeleteSlot(IndexSlot* slot);
  // How many cache lines of a record a prefetch loads: the header, the key
  // and a small value.
  static constexpr int kRecordLines = 3;
  // Starts loading the first cache lines of a record at once, instead of
  // one miss after the other: lines [from, to) of its first kRecordLines.
  void PrefetchRecordLines(IndexSlot slot, int from, int to) const {
    const char* p = slice_ + ((slot & ref_mask_) - 1) * kUnit;
    for (int line = from; line < to; ++line) __builtin_prefetch(p + 64 * line);
  }
  void PrefetchRecord(IndexSlot slot) const { PrefetchRecordLines(slot, 0, kRecordLines); }
  // PrefetchEntry's and PrefetchEntryStart's walk: prefetches the first
  // `lines` lines of the record.
  uint32_t PrefetchEntryLines(uint64_t hash, int lines) const;
  // Frees room for a record of `record_bytes` plus the reserve.
  absl::Status MakeRoom(uint64_t record_bytes, const Clock& clock);
  // Reclaims the record at the tail; returns bytes the tail advanced.
  // `wanted` is the free space MakeRoom is after (record plus reserve).
  absl::StatusOr<uint64_t> ReclaimTail(uint64_t wanted, int64_t* now, const Clock& clock);
  // Where a record of `bytes` goes: the head, after a pad record if it would
  // not fit before the slice's end. Space must already be available; the
  // record becomes part of the log when Commit(bytes) publishes the head.
  EntryHeader* Reserve(uint64_t bytes);
  void Commit(uint64_t bytes);
  // Reads head and tail once; true when tail <= head <= tail + slice, both
  // aligned, and head at most kMaxLogPosition (so appends never wrap it).
  bool LogBounds(uint64_t* head, uint64_t* tail) const;
  bool SaneBounds(uint64_t head, uint64_t tail) const;
  // LogBounds, true only when the log is so nearly full that writes will
  // reclaim records at its tail.
  bool NearlyFullLog(uint64_t* head, uint64_t* tail) const;
  // Visits the records from `tail` to `head` in log order, calling
  // fn(position, entry, checked header copy); fn returns false to stop.
  // Returns where the walk ended: `head`, where fn stopped, or the position
  // of the first record that does not parse.
  template <typename Fn>
  uint64_t WalkLog(uint64_t tail, uint64_t head, Fn fn) const;
  uint64_t NextVersion();
  // Rebuild's parts (stripe_recovery.cc). The log positions (from `tail`)
  // of the live records the index refers to whose key hashes to their
  // slot's tag, sorted.
  std::vector<uint64_t> IndexedPositions(uint64_t tail) const;
  // A head out of range: the end of the last record the index refers to.
  bool RecoverHead(uint64_t tail, const std::vector<uint64_t>& indexed, uint64_t* head) const;
  // Where the walk can go on past the unreadable record at `bad`: past it
  // when its sizes are intact and a record parses there, else at the next
  // indexed record; 0 when nowhere.
  uint64_t ResumeAfter(uint64_t bad, uint64_t head, const std::vector<uint64_t>& indexed) const;
  // Makes the log between `from` and `to` parse: the damaged record marked
  // dead if it spans exactly that, else pads over it.
  void Fill(uint64_t from, uint64_t to);
  // Indexes one live record of the log (the higher version of a key wins).
  void IndexRecord(EntryHeader* entry, const EntryHeader& h, RebuildReport* report);
  // Zeroes the index slots and the counters derived from the log.
  void EmptyIndex();
  // The index holds as many entries as it may: a new key needs one to go.
  bool IndexCrowded() const;
  absl::Status IndexFullError() const;
  void Account(const EntryHeader& h, int sign);

  const Geometry& geometry_;
  uint32_t index_;
  Stripe* stripe_;
  IndexSlot* slots_;
  char* slice_;
  uint32_t ref_mask_;  // the low IndexRefBits(slice bytes) bits of a slot: the offset part
  uint64_t max_index_entries_;
};

template <typename Fn>
absl::Status StripeView::ForEachLive(Fn fn) const {
  for (uint32_t i = 0; i < geometry_.slots_per_stripe; ++i) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == 0) continue;
    Located found;
    found.entry = Resolve(slot, &found.header);
    if (found.entry == nullptr || found.header.state != kLive) {
      return absl::DataLossError(
          "an index slot points at a bad record; repair it with Store::Check(repair)");
    }
    found.slot = &slots_[i];
    if (!fn(found)) return absl::OkStatus();
  }
  return absl::OkStatus();
}

template <typename Fn>
void StripeView::ForEachSlot(uint32_t from, uint32_t to, Fn fn) const {
  for (uint32_t i = from; i < to && i < geometry_.slots_per_stripe; ++i) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == 0) continue;
    Located found;
    found.entry = Resolve(slot, &found.header);
    if (found.entry != nullptr &&
        (found.header.state != kLive || TagOf(Hash64(found.key(), found.header.key_size,
                                                     geometry_.hash_seed)) != TagOfSlot(slot))) {
      found.entry = nullptr;
    }
    found.slot = &slots_[i];
    fn(i, found);
  }
}

template <typename Keep, typename Take>
absl::Status StripeView::ForEachHomedIn(uint32_t from, uint32_t* to, Keep keep, Take take) const {
  const uint32_t slot_count = geometry_.slots_per_stripe;
  constexpr uint32_t kAhead = 4;  // records prefetched ahead of the one read
  // Past the range, the run is read up to its empty slot, but never past
  // where the walk started: a range of the whole index must not read (and
  // take) its first slots again when a run wraps around the index's end.
  uint32_t i = from;
  for (uint64_t step = 0; step < slot_count; ++step, i = NextSlot(i)) {
    const bool in_range = step < *to - from;
    const uint32_t ahead = (i + kAhead) % slot_count;
    if (const IndexSlot next = LoadOnce(&slots_[ahead]); next != 0) PrefetchRecord(next);
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == 0) {
      if (in_range) continue;
      return absl::OkStatus();
    }
    Located found;
    found.entry = Resolve(slot, &found.header);
    if (found.entry == nullptr || found.header.state != kLive) {
      return absl::DataLossError(
          "an index slot points at a bad record; repair it with Store::Check(repair)");
    }
    found.slot = &slots_[i];
    if (!keep(found)) continue;
    const uint64_t hash = Hash64(found.key(), found.header.key_size, geometry_.hash_seed);
    const uint32_t home = IndexHome(hash, slot_count);
    if (home < from || home >= *to) continue;
    if (!take(found, hash) && in_range) *to = static_cast<uint32_t>(from + step + 1);
  }
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint32_t StripeView::PrefetchEntryLines(uint64_t hash,
                                                                            int lines) const {
  // How far it follows the probe run: 8 slots are 32 bytes, so the run it
  // reads is mostly the home slot's own cache line.
  constexpr int kPrefetchProbes = 8;
  const uint32_t tag = TagOf(hash);
  uint32_t i = IndexHome(hash, geometry_.slots_per_stripe);
  for (int probes = 0; probes < kPrefetchProbes; ++probes, i = NextSlot(i)) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == 0) return kNoHint;
    if (TagOfSlot(slot) == tag) {
      PrefetchRecordLines(slot, 0, lines);
      return i;
    }
  }
  return kNoHint;
}

// Inline: every lookup resolves the slots whose tag matches, and the
// unlocked read (stripe_optimistic.cc) does so without a call.
inline EntryHeader* StripeView::AtPhysical(uint64_t physical) const {
  return reinterpret_cast<EntryHeader*>(slice_ + physical);
}

inline bool StripeView::SaneHeader(const EntryHeader& h, uint64_t room) const {
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

inline EntryHeader* StripeView::Resolve(IndexSlot slot, EntryHeader* header) const {
  const uint64_t ref = slot & ref_mask_;
  if (ref == 0) return nullptr;
  const uint64_t offset = (ref - 1) * kUnit;
  const uint64_t size = geometry_.stripe_arena_bytes;
  if (offset + kEntryHeaderBytes > size) return nullptr;
  EntryHeader* entry = AtPhysical(offset);
  // Word by word, as ReadOptimistic resolves slots without the lock: the
  // header is the first kHeaderWords aligned words at `offset` (a multiple
  // of kUnit), which end inside the slice, as its size is a multiple of 64.
  constexpr size_t kHeaderWords = (kEntryHeaderBytes + 7) / 8;
  static_assert(kUnit == 8 && kHeaderWords * 8 <= 64, "Resolve reads whole words of the slice");
  uint64_t words[kHeaderWords];
  for (size_t k = 0; k < kHeaderWords; ++k) {
    words[k] = LoadWord(reinterpret_cast<const uint64_t*>(entry) + k);
  }
  std::memcpy(header, words, kEntryHeaderBytes);
  if (!SaneHeader(*header, size - offset)) return nullptr;
  return entry;
}

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_STRIPE_H_
