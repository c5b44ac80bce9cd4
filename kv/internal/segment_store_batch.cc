// SegmentStore's batched operations, GetMany and PutMany: the per-key work
// is Get's and Put's (segment_store.cc); what is here is the order in which
// a batch's keys are hashed, prefetched and served, one stripe lock at a time.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "kv/internal/hash.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe_guard.h"

namespace shmkv::internal {
namespace {

// Items hashed, sorted and served together: bounds the scratch below (on the
// stack, so a call allocates nothing) and how long one stripe's lock is held.
constexpr size_t kChunk = 64;

// Reads start loading each record in two steps (writes load a chunk's all
// at once, as each waits for its stripe's lock anyway): its first line
// kStartAhead items ahead of the one they read, the rest kReadAhead items
// ahead. The first line's prefetch walks the record's page, which on 4 KiB
// pages costs about as much as the miss, and those walks overlap when they
// are asked for together; loading a 16-key chunk's 48 lines at once instead
// filled the core's miss buffers, and the reads then waited for most of them
// before the first (W5, 1M keys: 8 ahead against all at once 1.15-1.25x, 3
// pairs; 4 and 12 ahead: less).
constexpr size_t kStartAhead = 16;
constexpr size_t kReadAhead = 8;

// One item of a chunk: where it goes, and what Prepare computed for it.
struct Pending {
  uint64_t hash;
  int64_t aux;  // passed from Prepare to Serve (PutMany: the expiry)
  size_t item;
  uint32_t stripe;
  uint32_t hint;  // reads: the slot where PrefetchEntryStart found the key's tag
};

// Before pending[j] of n is read: starts loading the first line of the
// record kStartAhead items after it, and the rest of the one kReadAhead
// after it.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void PrefetchAhead(const std::vector<StripeView>& stripes,
                                                       Pending* pending, size_t j, size_t n) {
  if (j + kStartAhead < n) {
    Pending& start = pending[j + kStartAhead];
    start.hint = stripes[start.stripe].PrefetchEntryStart(start.hash);
  }
  if (j + kReadAhead < n) {
    const Pending& rest = pending[j + kReadAhead];
    stripes[rest.stripe].PrefetchEntryRest(rest.hint);
  }
}

// A read of a key that failed. A hit overwrites the value and every field
// of the meta, so only a key that fails has them reset.
void FailRead(GetResult& r, absl::Status status) {
  r.status = std::move(status);
  r.value.clear();
  r.meta = EntryMeta();
}

}  // namespace

// For each chunk of kChunk items: prepare(i, &key, &aux) checks item i and
// settles its result when it fails alone (false); the others are hashed and
// their home slots prefetched (and, for writes, their stripe mutexes), then
// the records the home slots point at: all of them for writes; for reads,
// the first lines of the first kStartAhead and the rest of the first
// kReadAhead.
// Writes (kWrites) also prefetch what making room in each stripe touches:
// its log's tail and head, then the index slots of the live records at the
// tail. Reads call settle(pending, n) once per chunk, which goes on
// loading records as far ahead of each item before it reads it, and
// serves what it can without a lock (doc/locking.md, "Optimistic reads"),
// in item order, and moves the n - k items it left to the first k places
// of `pending`, in their order, returning k. Then each stripe with items
// left is locked once, in ascending stripe order, and serve(view, i, hash,
// aux, &now) runs for each of its items in item order (so repeated keys
// are served in the order given); `now` is read from the clock at most once
// per lock hold. Only one stripe lock is held at any time. When a lock
// cannot be taken, abandon(i, error) runs for every item not served that
// prepare accepts.
template <bool kWrites, typename Prepare, typename Settle, typename Serve, typename Abandon>
absl::Status SegmentStore::ByStripe(size_t count, Prepare prepare, Settle settle, Serve serve,
                                    Abandon abandon) {
  Pending pending[kChunk];
  const auto by_stripe = [](const Pending& a, const Pending& b) {
    return a.stripe != b.stripe ? a.stripe < b.stripe : a.item < b.item;
  };
  for (size_t start = 0; start < count; start += kChunk) {
    const size_t end = std::min(count, start + kChunk);
    size_t n = 0;
    for (size_t i = start; i < end; ++i) {
      absl::string_view key;
      int64_t aux = 0;
      if (!prepare(i, &key, &aux)) continue;
      const uint64_t hash = Hash64(key.data(), key.size(), geometry_.hash_seed);
      StripeView& view = StripeFor(hash);
      view.PrefetchHome(hash);
      // The mutex, written by the lock: writes only, as a read without the
      // lock must not take the line from other readers' cores.
      if constexpr (kWrites) __builtin_prefetch(view.stripe(), 1);
      pending[n++] = Pending{hash, aux, i, view.index(), kNoHint};
    }
    // Writes lock every item's stripe: sorted now, each stripe's first item
    // prefetches what making room there touches. Reads sort only what their
    // unlocked tries leave (usually nothing).
    if constexpr (kWrites) std::sort(pending, pending + n, by_stripe);
    // The home slots have arrived meanwhile: start loading the records they
    // point at, before the first read or lock, so the chunk's record misses
    // overlap.
    const auto first_of_stripe = [&](size_t j) {
      return j == 0 || pending[j].stripe != pending[j - 1].stripe;
    };
    if constexpr (kWrites) {
      for (size_t j = 0; j < n; ++j) {
        StripeView& view = stripes_[pending[j].stripe];
        view.PrefetchEntry(pending[j].hash);
        if (first_of_stripe(j)) view.PrefetchWriteRoom();
      }
    } else {
      for (size_t j = 0; j < std::min(n, kStartAhead); ++j) {
        pending[j].hint = stripes_[pending[j].stripe].PrefetchEntryStart(pending[j].hash);
      }
      for (size_t j = 0; j < std::min(n, kReadAhead); ++j) {
        stripes_[pending[j].stripe].PrefetchEntryRest(pending[j].hint);
      }
    }
    if constexpr (kWrites) {
      for (size_t j = 0; j < n; ++j) {
        if (first_of_stripe(j)) stripes_[pending[j].stripe].PrefetchTailSlots();
      }
    } else {
      n = settle(pending, n);
      std::sort(pending, pending + n, by_stripe);
    }
    for (size_t group = 0; group < n;) {
      size_t group_end = group + 1;
      while (group_end < n && pending[group_end].stripe == pending[group].stripe) ++group_end;
      StripeView& view = stripes_[pending[group].stripe];
      StripeGuard guard;
      if (absl::Status s = Lock(view, &guard); !s.ok()) {
        for (size_t j = group; j < n; ++j) abandon(pending[j].item, s);
        for (size_t i = end; i < count; ++i) {
          absl::string_view key;
          int64_t aux = 0;
          if (prepare(i, &key, &aux)) abandon(i, s);
        }
        return s;
      }
      int64_t now = -1;
      for (size_t j = group; j < group_end; ++j) {
        serve(view, pending[j].item, pending[j].hash, pending[j].aux, &now);
      }
      group = group_end;
    }
  }
  return absl::OkStatus();
}

absl::Status SegmentStore::GetMany(absl::Span<const absl::string_view> keys,
                                   std::vector<GetResult>* results) {
  results->resize(keys.size());
  GetResult* out = results->data();
  const absl::string_view* key_at = keys.data();
  return ByStripe<false>(
      keys.size(),
      [&](size_t i, absl::string_view* key, int64_t*) ABSL_ATTRIBUTE_ALWAYS_INLINE {
        GetResult& r = out[i];
        *key = key_at[i];
        if (absl::Status s = CheckKey(*key); !s.ok()) {
          FailRead(r, std::move(s));
          return false;
        }
        if (!r.status.ok()) r.status = absl::OkStatus();  // results reused: usually OK already
        return true;
      },
      [&](Pending* pending, size_t n) {
        // Unlocked tries, and their hits and misses counted, once per chunk.
        if (!UnlockedReadsAllowed()) {
          for (size_t j = 0; j < n; ++j) PrefetchAhead(stripes_, pending, j, n);
          return n;
        }
        int64_t now = -1;
        uint64_t hits = 0, misses = 0;
        size_t kept = 0;
        for (size_t j = 0; j < n; ++j) {
          PrefetchAhead(stripes_, pending, j, n);
          const size_t i = pending[j].item;
          GetResult& r = out[i];
          switch (ReadUnlockedUncounted(stripes_[pending[j].stripe], key_at[i], pending[j].hash,
                                        pending[j].hint, &now, &r.value, &r.meta)) {
            case Optimistic::kHit:
              ++hits;
              continue;
            case Optimistic::kMiss:
              ++misses;
              FailRead(r, NotFoundKey());
              continue;
            case Optimistic::kLock:
            case Optimistic::kTorn:
              break;
          }
          pending[kept++] = pending[j];
        }
        if (hits != 0 || misses != 0) read_counters_.Count(hits, misses);
        return kept;
      },
      [&](StripeView& view, size_t i, uint64_t hash, int64_t, int64_t* now) {
        GetResult& r = out[i];
        Located located;
        if (absl::Status s = view.FindInto(keys[i], hash, &located); !s.ok()) {
          FailRead(r, std::move(s));
          return;
        }
        if (!Read(view, &located, now, &r.meta)) {
          FailRead(r, NotFoundKey());
          return;
        }
        r.value.assign(located.value(), located.header.value_size);
      },
      [&](size_t i, const absl::Status& error) { FailRead(out[i], error); });
}

absl::Status SegmentStore::PutMany(absl::Span<const PutItem> items, const WriteOptions& options,
                                   std::vector<PutResult>* results) {
  results->resize(items.size());
  PutResult* out = results->data();
  return ByStripe<true>(
      items.size(),
      [&](size_t i, absl::string_view* key, int64_t* expires) {
        const PutItem& item = items[i];
        PutResult& r = out[i];
        r.version = 0;
        r.status =
            CheckWrite(item.value, item.options != nullptr ? *item.options : options, expires);
        if (r.status.ok()) r.status = CheckKey(item.key);
        *key = item.key;
        return r.status.ok();
      },
      [](Pending*, size_t n) { return n; },
      [&](StripeView& view, size_t i, uint64_t hash, int64_t expires, int64_t*) {
        const PutItem& item = items[i];
        out[i].status = WriteLocked(view, item.key, hash, item.value,
                                    item.options != nullptr ? *item.options : options, expires,
                                    &out[i].version);
      },
      [&](size_t i, const absl::Status& error) { out[i].status = error; });
}

}  // namespace shmkv::internal
