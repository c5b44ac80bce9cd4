// SegmentStore's hold on one stripe's mutex, shared by the files that
// implement SegmentStore.
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

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_STRIPE_GUARD_H_
