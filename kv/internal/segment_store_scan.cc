// SegmentStore's walks over many entries: Scan, Walk and DeleteMatching,
// all built on one chunked walker. A chunk is a range of at most
// kChunkSlots index home slots of one stripe (StripeView::ForEachHomedIn);
// the walker holds the stripe's lock only while it reads (and, for
// DeleteMatching, deletes) that chunk, and callers see copies with no lock
// held. The copies go to memory made ready before the lock (ScanChunk).
// A glob (ScanOptions::match) is matched off the lock, on the copies: the
// lock covers only the prefix test (DeleteMatching then takes the lock a
// second time to delete what matched).
// The walk's position is a place in the order of the keys' hashes within a
// stripe: the top 32 bits of a key's hash, which also order the index home
// slots (IndexHome is monotonic in them). So a position stays meaningful
// however the index changes while no lock is held (doc/locking.md), and a
// page can end between two entries of one home slot.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/internal/scan_chunk.h"
#include "kv/internal/scan_hold_meter.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe_guard.h"
#include "kv/internal/test_hook.h"
#include "kv/platform/ipc.h"
#include "kv/util/glob.h"

namespace shmkv::internal {
namespace {

// Index home slots per lock hold. At the index's highest load (7/8) that is
// about 56 entries plus the rest of a probe run crossing the chunk's end.
constexpr uint32_t kChunkSlots = 64;
// Key and value bytes copied per hold: a chunk ends early past this.
constexpr uint64_t kChunkBytes = uint64_t{256} << 10;
// The room a chunk's copies get before its lock is taken (ScanChunk). Twice
// the entries 64 home slots hold at the index's highest load leaves room
// for the rest of a long probe run. A walk without values gets room for
// that many keys of 128 bytes; one with values gets the whole kChunkBytes,
// past which a chunk takes no more entries of its range.
constexpr size_t kRoomEntries = 2 * kChunkSlots;
constexpr size_t kRoomKeyBytes = kRoomEntries * 128;
constexpr size_t kRoomValueBytes = kChunkBytes;
// A cursor is the walk's position (stripe << 32 | the hash order to resume
// at, never 0; stripes are at most 2^16) under a tag derived from the
// store's hash seed in the top bits, so a cursor of another store is refused
// instead of silently misused.
constexpr int kCursorTagShift = 48;
constexpr int kStripeShift = 32;

}  // namespace

class SegmentStore::Walker {
 public:
  Walker(SegmentStore& store, const ScanOptions& options)
      : store_(store),
        options_(options),
        slots_(store.geometry_.slots_per_stripe),
        total_(uint64_t{store.geometry_.stripe_count} << kStripeShift),
        tag_((store.geometry_.hash_seed >> kCursorTagShift) | 1) {}

  // InvalidArgument for options no walk can use (a glob that does not
  // compile).
  absl::Status CheckOptions() {
    if (options_.match.empty()) return absl::OkStatus();
    // Globs are C strings in the C API and kvcli: one holding a NUL byte
    // would select differently there, so none does.
    if (options_.match.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("the glob (match) holds a NUL byte; remove it");
    }
    absl::StatusOr<util::Glob> glob = util::Glob::Compile(options_.match, "match (glob)");
    if (!glob.ok()) return glob.status();
    glob_.emplace(*std::move(glob));
    return absl::OkStatus();
  }

  absl::Status SetCursor(uint64_t cursor) {
    if (cursor == 0) {
      position_ = 0;
      return absl::OkStatus();
    }
    const uint64_t position = cursor & ((uint64_t{1} << kCursorTagShift) - 1);
    if ((cursor >> kCursorTagShift) != tag_ || position == 0 || position >= total_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cursor ", cursor,
          " is not one a scan of this store returned (a cursor belongs to one store, and "
          "re-creating the store invalidates it); start the scan again with cursor 0"));
    }
    position_ = position;
    return absl::OkStatus();
  }
  // The cursor to resume from; 0 once the walk is done.
  uint64_t Cursor() const { return done() ? 0 : (tag_ << kCursorTagShift) | position_; }
  bool done() const { return position_ >= total_; }

  // Reads the next chunk into chunk(): at most `limit` selected entries.
  // When more than `limit` share the chunk's first order (the top 32 bits of
  // their hash), it takes them all if `may_exceed`, else none (and the
  // position stays). With `remove`,
  // deletes them too, under the same hold, and counts them in removed().
  absl::Status Next(size_t limit, bool may_exceed, bool remove) {
    removing_ = remove;
    chunk_.Clear();
    chunk_.Prepare(kRoomEntries, options_.with_values ? kRoomValueBytes : kRoomKeyBytes);
    const uint64_t stripe = position_ >> kStripeShift;
    StripeView& view = store_.stripes_[stripe];
    const uint32_t first_order = static_cast<uint32_t>(position_);
    const uint32_t from = IndexHome(uint64_t{first_order} << 32, slots_);
    if (first_order == 0 || store_.mapped_to_[stripe].load(std::memory_order_relaxed) == 0) {
      MapInStripe(stripe);
    }
    uint32_t to = std::min(from + kChunkSlots, slots_);
    // With a glob, the lock collects the prefix's entries of a chunk (at
    // least a chunk's worth) and the glob then drops some of them.
    const size_t take = glob_ ? std::max(limit, kRoomEntries) : limit;
    SHMKV_TEST_HOOK(ScanHoldMeter meter);
    StripeGuard guard;
    if (absl::Status s = store_.Lock(view, &guard); !s.ok()) return s;
    SHMKV_TEST_HOOK(meter.Start());
    int64_t now = -1;
    absl::Status walk = view.ForEachHomedIn(
        from, &to, [&](const Located& found) { return Selected(found, &now); },
        [&](const Located& found, uint64_t hash) {
          const uint32_t order = static_cast<uint32_t>(hash >> 32);
          if (order < first_order) return true;  // passed on by an earlier chunk
          chunk_.Add(order, store_.MetaOf(found.header, &now),
                     absl::string_view(found.key(), found.header.key_size),
                     options_.with_values
                         ? absl::string_view(found.value(), found.header.value_size)
                         : absl::string_view());
          return chunk_.size() < take && chunk_.bytes() < kChunkBytes;
        });
    // Where the next chunk starts: the first order of home slot `to`, or
    // less if the chunk is cut (Trim).
    uint64_t next = to == slots_ ? uint64_t{1} << 32 : FirstOrderOf(to);
    if (walk.ok() && !glob_ && chunk_.size() > limit) next = Trim(first_order, limit, may_exceed);
    if (walk.ok() && !glob_ && remove) walk = RemoveItems(view);
    SHMKV_TEST_HOOK(meter.WorkDone());
    guard.Release();
    SHMKV_TEST_HOOK(meter.Report(stripe, from, chunk_.size()));
    if (!walk.ok()) return walk;
    if (glob_) {
      if (absl::Status s = MatchGlob(view, first_order, limit, may_exceed, remove, &next);
          !s.ok()) {
        return s;
      }
    }
    position_ = (stripe << kStripeShift) + next;
    return absl::OkStatus();
  }

  // Next's second step with a glob, off the lock: drops the chunk's keys
  // the glob does not match, cuts it to `limit` (moving *next back), and,
  // when removing, takes the stripe's lock again to delete what is left.
  absl::Status MatchGlob(StripeView& view, uint32_t first_order, size_t limit, bool may_exceed,
                         bool remove, uint64_t* next) {
    chunk_.Filter([&](size_t i) {
      const absl::string_view key = chunk_.key(i);
      return key.find('\0') == absl::string_view::npos && glob_->Matches(key);
    });
    if (chunk_.size() > limit) *next = Trim(first_order, limit, may_exceed);
    if (!remove || chunk_.size() == 0) return absl::OkStatus();
    StripeGuard guard;
    if (absl::Status s = store_.Lock(view, &guard); !s.ok()) return s;
    absl::Status removed = RemoveItems(view);
    guard.Release();
    return removed;
  }

  // The last chunk's entries, for the caller to pass on with no lock held.
  const ScanChunk& chunk() const { return chunk_; }
  uint64_t removed() const { return removed_; }

 private:
  // Maps the stripe's index slots and the part of its slice the log holds
  // into this process's page tables before its lock is taken: a process
  // that attached recently would otherwise take a page fault (microseconds
  // each, tens on a busy VM) on nearly every record of a chunk while holding
  // the lock. Pages stay mapped until the store is detached, so a later walk
  // of the stripe maps in only what the log has grown into since
  // (SegmentStore::mapped_to_): the pages other processes wrote after that,
  // which would otherwise fault one by one under the lock. The log's bounds
  // are read without the lock: a hint, clamped to the slice. The slice
  // beyond the log is left alone, so pages never written stay unallocated.
  void MapInStripe(uint64_t stripe) {
    const Geometry& g = store_.geometry_;
    const Stripe* s = store_.stripes_[stripe].stripe();
    const uint64_t head = LoadOnce(&s->head), tail = LoadOnce(&s->tail);
    std::atomic<uint64_t>& mapped = store_.mapped_to_[stripe];
    uint64_t mapped_to = mapped.load(std::memory_order_relaxed);
    // Never mapped, or mapped past the head (a recovery reset the log): all
    // of it, index slots too.
    if (mapped_to == 0 || mapped_to - 1 > head) {
      MapIn(g.index_offset + stripe * slots_ * sizeof(IndexSlot),
            uint64_t{slots_} * sizeof(IndexSlot));
      mapped_to = 0;
    } else {
      mapped_to -= 1;
    }
    if (tail <= head) {
      const uint64_t size = g.stripe_arena_bytes;
      const uint64_t slice = g.arena_offset + stripe * size;
      const uint64_t from = std::max({tail, mapped_to, head - std::min(head, size)});
      const uint64_t bytes = head - from;
      const uint64_t begin = from % size;
      const uint64_t first = std::min(bytes, size - begin);
      MapIn(slice + begin, first);
      if (bytes > first) MapIn(slice, bytes - first);
      mapped_to = head;
    }
    mapped.store(mapped_to + 1, std::memory_order_relaxed);
  }
  void MapIn(uint64_t offset, uint64_t bytes) {
    if (bytes == 0) return;
    static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t start = offset / page * page;
    platform::ShmPopulate(store_.base_ + start, bytes + (offset - start));
  }

  // Live, not expired, and selected by the prefix (the glob is matched
  // later, off the lock); a GetOrCompute lease only when removing: deleting
  // a key cancels the computation of its value, whose result is then not
  // stored (as Delete does).
  bool Selected(const Located& found, int64_t* now) {
    const bool lease = (found.header.bits & kLease) != 0;
    if (lease && !removing_) return false;
    const absl::string_view key(found.key(), found.header.key_size);
    if (!absl::StartsWith(key, options_.prefix)) return false;
    return lease || !store_.Expired(found, now);
  }

  // The smallest order whose home slot is `home` (< slots_).
  uint64_t FirstOrderOf(uint32_t home) const {
    return ((uint64_t{home} << 32) + slots_ - 1) / slots_;
  }

  // Keeps the entries of the lowest orders, at most `limit` of them (or, if
  // more than `limit` share the lowest order, all of those if `may_exceed`,
  // else none), and returns the order the next chunk starts at (1 << 32:
  // the stripe's end).
  uint64_t Trim(uint32_t first_order, size_t limit, bool may_exceed) {
    chunk_.SortByOrder();
    uint64_t end = chunk_.order(limit);
    if (end == chunk_.order(0)) end = may_exceed ? end + 1 : first_order;
    size_t kept = chunk_.size();
    while (kept > 0 && chunk_.order(kept - 1) >= end) --kept;
    chunk_.Truncate(kept);
    return end;
  }

  absl::Status RemoveItems(StripeView& view) {
    for (size_t i = 0; i < chunk_.size(); ++i) {
      const absl::string_view key = chunk_.key(i);
      absl::StatusOr<Located> found =
          view.Find(key, Hash64(key.data(), key.size(), store_.geometry_.hash_seed));
      if (!found.ok()) return found.status();
      if (found->entry == nullptr) continue;
      if (absl::Status s = view.Remove(*found, /*expired=*/false); !s.ok()) return s;
      if (!(found->header.bits & kLease)) ++removed_;  // a cancelled lease is no entry
    }
    return absl::OkStatus();
  }

  SegmentStore& store_;
  const ScanOptions& options_;
  const uint32_t slots_;
  const uint64_t total_;
  const uint64_t tag_;
  uint64_t position_ = 0;
  ScanChunk chunk_;
  uint64_t removed_ = 0;
  bool removing_ = false;
  std::optional<util::Glob> glob_;
};

absl::StatusOr<uint64_t> SegmentStore::Scan(
    uint64_t cursor, size_t count, const ScanOptions& options,
    absl::FunctionRef<void(absl::string_view, absl::string_view, const EntryMeta&)> fn) {
  if (count == 0) {
    return absl::InvalidArgumentError(
        "count is 0; pass at least 1 (the most entries one Scan call returns)");
  }
  Walker walker(*this, options);
  if (absl::Status s = walker.CheckOptions(); !s.ok()) return s;
  if (absl::Status s = walker.SetCursor(cursor); !s.ok()) return s;
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  size_t delivered = 0;
  while (!walker.done() && delivered < count) {
    const uint64_t before = walker.Cursor();
    if (absl::Status s = walker.Next(count - delivered, /*may_exceed=*/delivered == 0,
                                     /*remove=*/false);
        !s.ok()) {
      return s;
    }
    if (walker.Cursor() == before) break;  // the next home slot's keys go in the next call
    const ScanChunk& chunk = walker.chunk();
    for (size_t i = 0; i < chunk.size(); ++i) {
      fn(chunk.key(i), chunk.value(i), chunk.meta(i));
      ++delivered;
    }
  }
  return walker.Cursor();
}

absl::Status SegmentStore::Walk(
    const ScanOptions& options,
    absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) {
  Walker walker(*this, options);
  if (absl::Status s = walker.CheckOptions(); !s.ok()) return s;
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  while (!walker.done()) {
    if (absl::Status s = walker.Next(std::numeric_limits<size_t>::max(), true, /*remove=*/false);
        !s.ok()) {
      return s;
    }
    const ScanChunk& chunk = walker.chunk();
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (!fn(chunk.key(i), chunk.value(i), chunk.meta(i))) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SegmentStore::DeleteMatching(const ScanOptions& options) {
  ScanOptions selection = options;
  selection.with_values = false;
  Walker walker(*this, selection);
  if (absl::Status s = walker.CheckOptions(); !s.ok()) return s;
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  while (!walker.done()) {
    if (absl::Status s = walker.Next(std::numeric_limits<size_t>::max(), true, /*remove=*/true);
        !s.ok()) {
      return s;
    }
  }
  return walker.removed();
}

}  // namespace shmkv::internal
