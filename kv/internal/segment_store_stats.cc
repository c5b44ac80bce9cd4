// SegmentStore's counters: each stripe's (StatsByStripe, which Stats()
// sums with the per-CPU read counters) and resetting them.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe_guard.h"

namespace shmkv::internal {

absl::StatusOr<std::vector<StripeStats>> SegmentStore::StatsByStripe() {
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  if (absl::Status s = CheckNotRemoved(); !s.ok()) return s;
  std::vector<StripeStats> all(stripes_.size());
  for (uint32_t i = 0; i < all.size(); ++i) {
    const Stripe* s = stripes_[i].stripe();
    all[i].stripe = i;
    StoreStats& st = all[i].stats;
    st.puts = LoadOnce(&s->puts);
    st.deletes = LoadOnce(&s->deletes);
    st.evictions = LoadOnce(&s->evictions);
    st.expirations = LoadOnce(&s->expirations);
    st.items = LoadOnce(&s->live_items);
    st.key_bytes = LoadOnce(&s->live_key_bytes);
    st.value_bytes = LoadOnce(&s->live_value_bytes);
    st.bytes_used = LoadOnce(&s->live_record_bytes);
    const uint64_t head = LoadOnce(&s->head), tail = LoadOnce(&s->tail);
    st.log_bytes = head >= tail ? std::min(head - tail, geometry_.stripe_arena_bytes) : 0;
    st.capacity = geometry_.stripe_arena_bytes;
    st.index_entries = LoadOnce(&s->index_entries);
    st.index_limit = MaxIndexEntries(geometry_.slots_per_stripe);
    st.lock_waits = LoadOnce(&s->lock_waits);
    st.owner_deaths_recovered = LoadOnce(&s->owner_deaths);
  }
  return all;
}

absl::Status SegmentStore::ResetCounters() {
  for (StripeView& view : stripes_) {
    StripeGuard guard;
    if (absl::Status s = Lock(view, &guard); !s.ok()) return s;
    // Stats() reads these without the lock.
    Stripe* s = view.stripe();
    for (uint64_t* counter : {&s->puts, &s->deletes, &s->evictions, &s->expirations, &s->lock_waits,
                              &s->owner_deaths}) {
      Publish(counter, uint64_t{0});
    }
  }
  read_counters_.Reset();
  return absl::OkStatus();
}

}  // namespace shmkv::internal
