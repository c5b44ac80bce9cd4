// SegmentStore's hold on one stripe's mutex, and on one key's stripe, shared
// by the files that implement SegmentStore.
#ifndef SHMKV_KV_INTERNAL_STRIPE_GUARD_H_
#define SHMKV_KV_INTERNAL_STRIPE_GUARD_H_

#include "kv/internal/layout.h"
#include "kv/internal/segment_store.h"
#include "kv/platform/robust_mutex.h"

namespace shmkv::internal {

// Holds one stripe's mutex; releases it on destruction. While it holds the
// mutex, the stripe's read_version is odd (doc/locking.md, "Optimistic
// reads"): Hold makes it odd, before the holder writes anything else, unless
// a holder that died left it odd already; Release makes it even again just
// before it unlocks.
class SegmentStore::StripeGuard {
 public:
  StripeGuard() = default;
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;
  ~StripeGuard() { Release(); }
  // Called right after the mutex was acquired.
  void Hold(Stripe* stripe) {
    stripe_ = stripe;
    const uint64_t version = LoadOnce(&stripe->read_version);
    if ((version & 1) == 0) __atomic_store_n(&stripe->read_version, version + 1, __ATOMIC_RELAXED);
    // The odd version is visible before any change the holder makes.
    __atomic_thread_fence(__ATOMIC_RELEASE);
  }
  void Release() {
    if (stripe_ == nullptr) return;
    Publish(&stripe_->holder_pid, 0);
    Publish(&stripe_->read_version, (LoadOnce(&stripe_->read_version) | 1) + 1);
    platform::UnlockRobustMutex(&stripe_->mutex);
    stripe_ = nullptr;
  }

 private:
  Stripe* stripe_ = nullptr;
};

// One key's operation: its hash and stripe, the stripe's lock (held until
// this goes out of scope), and where the key stands in the index.
struct SegmentStore::KeyAccess {
  uint64_t hash = 0;
  StripeView* view = nullptr;
  StripeGuard guard;
  Located found;
  int64_t now = -1;  // read from the clock at most once, when an expiry matters
};

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_STRIPE_GUARD_H_
