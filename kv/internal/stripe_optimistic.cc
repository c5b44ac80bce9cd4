// StripeView::ReadOptimistic: a lookup without the stripe's lock, validated
// by the stripe's read_version (doc/locking.md, "Optimistic reads"). It
// reads every word of the segment with a relaxed atomic load and checks
// every offset and size against the slice before following it, as a locked
// lookup does; a check that fails here is a sign of a concurrent change (the
// try is retried or handed to the lock), never reported as corruption.
#include <cstdint>
#include <string>

#include "absl/base/attributes.h"
#include "kv/internal/relaxed_bytes.h"
#include "kv/internal/stripe.h"
#include "kv/internal/stripe_records.h"

namespace shmkv::internal {
namespace {

// Tries before a read takes the lock: the first and two retries. A try
// fails only when a writer changed the stripe while it ran; two in a row
// mean the stripe is busy with writes, and the lock then costs little more.
constexpr int kOptimisticTries = 3;

// Whether the record `entry` (header h) holds `key`.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool HoldsKey(const EntryHeader* entry, const EntryHeader& h,
                                                  absl::string_view key) {
  return h.key_size == key.size() && EqualKeyBytes(KeyBytes(entry), key.data(), key.size());
}

// The end of a try that found the key's record: what only a holder may do
// (set the reference bit, reclaim an expired entry, serve a lease) goes to
// the lock; otherwise the value is copied.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Optimistic ServeFound(const EntryHeader* entry,
                                                          const EntryHeader& h, std::string* value,
                                                          EntryHeader* header, int64_t* now,
                                                          const Clock& clock) {
  if ((h.bits & (kReferenced | kLease)) != kReferenced) return Optimistic::kLock;
  if (h.expires_at_ms != 0) {
    if (*now < 0) *now = clock.NowMillis();
    if (h.expires_at_ms <= *now) return Optimistic::kLock;
  }
  value->resize(h.value_size);
  LoadPayloadBytes(value->data(), KeyBytes(entry) + h.key_size, h.value_size);
  *header = h;
  return Optimistic::kHit;
}

}  // namespace

template <bool kHinted>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Optimistic StripeView::ProbeUnlocked(
    absl::string_view key, uint64_t hash, uint32_t hint, std::string* value, EntryHeader* header,
    int64_t* now, const Clock& clock) const {
  const uint32_t slot_count = geometry_.slots_per_stripe;
  const uint32_t tag = TagOf(hash);
  EntryHeader h;
  // The hinted slot first: when it names the key, no other slot does.
  if constexpr (kHinted) {
    if (hint < slot_count) {
      if (const IndexSlot slot = LoadOnce(&slots_[hint]); slot != 0 && TagOfSlot(slot) == tag) {
        const EntryHeader* entry = Resolve(slot, &h);
        if (entry != nullptr && h.state == kLive && HoldsKey(entry, h, key)) {
          return ServeFound(entry, h, value, header, now, clock);
        }
      }
    }
  }
  uint32_t i = IndexHome(hash, slot_count);
  for (uint32_t probes = 0; probes < slot_count; ++probes, i = NextSlot(i)) {
    const IndexSlot slot = LoadOnce(&slots_[i]);
    if (slot == 0) return Optimistic::kMiss;
    if (TagOfSlot(slot) != tag) continue;
    PrefetchRecord(slot);
    const EntryHeader* entry = Resolve(slot, &h);
    if (entry == nullptr || h.state != kLive) return Optimistic::kTorn;
    if (HoldsKey(entry, h, key)) return ServeFound(entry, h, value, header, now, clock);
  }
  return Optimistic::kTorn;  // no empty slot: a probe run read while it changed
}

template <bool kHinted>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline Optimistic StripeView::ReadOnce(
    absl::string_view key, uint64_t hash, uint32_t hint, std::string* value, EntryHeader* header,
    int64_t* now, const Clock& clock) const {
  const uint64_t before = __atomic_load_n(&stripe_->read_version, __ATOMIC_ACQUIRE);
  if ((before & 1) != 0 || LoadOnce(&stripe_->rebuilding) != 0) return Optimistic::kLock;
  const Optimistic found = ProbeUnlocked<kHinted>(key, hash, hint, value, header, now, clock);
  // Every load of the probe happens before the version is read again.
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (LoadOnce(&stripe_->read_version) != before) return Optimistic::kTorn;
  // Nothing changed, and still what was read makes no sense: the stripe is
  // damaged, which the locked path reports.
  return found == Optimistic::kTorn ? Optimistic::kLock : found;
}

Optimistic StripeView::ReadOptimistic(absl::string_view key, uint64_t hash, uint32_t hint,
                                      std::string* value, EntryHeader* header, int64_t* now,
                                      const Clock& clock) const {
  for (int tries = 0; tries < kOptimisticTries; ++tries) {
    const Optimistic result = hint == kNoHint
                                  ? ReadOnce<false>(key, hash, hint, value, header, now, clock)
                                  : ReadOnce<true>(key, hash, hint, value, header, now, clock);
    if (result != Optimistic::kTorn) return result;
  }
  return Optimistic::kLock;
}

}  // namespace shmkv::internal
