// SegmentStore's hold on one stripe's mutex, and on one key's stripe, shared
// by the files that implement SegmentStore.
#ifndef SHMKV_KV_INTERNAL_STRIPE_GUARD_H_
#define SHMKV_KV_INTERNAL_STRIPE_GUARD_H_

#include "kv/internal/layout.h"
#include "kv/internal/segment_store.h"
#include "kv/platform/robust_mutex.h"

namespace shmkv::internal {

// Holds one stripe's mutex; releases it on destruction.
class SegmentStore::StripeGuard {
 public:
  StripeGuard() = default;
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;
  ~StripeGuard() { Release(); }
  void Hold(Stripe* stripe) { stripe_ = stripe; }
  void Release() {
    if (stripe_ == nullptr) return;
    Publish(&stripe_->holder_pid, 0);
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
