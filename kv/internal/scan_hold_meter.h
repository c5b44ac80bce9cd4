// Measures one chunk's lock hold for the scan-hold hook (scan_hook.h):
// does nothing unless a benchmark or a test set an observer. Used only
// inside SHMKV_TEST_HOOK (test_hook.h) and defined in
// //kv/internal:test_hooks, so production builds carry none of it.
#ifndef SHMKV_KV_INTERNAL_SCAN_HOLD_METER_H_
#define SHMKV_KV_INTERNAL_SCAN_HOLD_METER_H_

#include <sys/resource.h>

#include <cstdint>

#include "kv/internal/scan_hook.h"
#include "kv/internal/test_hook.h"

namespace shmkv::internal {

// One per hold, on the walking thread: Start right after the lock is taken,
// WorkDone right before it is released, Report right after.
class ScanHoldMeter {
 public:
  ScanHoldMeter();
  void Start();
  void WorkDone();
  void Report(uint64_t stripe, uint64_t first_home_slot, uint64_t entries);

 private:
  ScanHoldObserver observer_;
  ScanHoldStartObserver on_lock_taken_;
  rusage usage_before_{};
  ScanHold hold_;
  uint64_t wall_start_ = 0, cpu_start_ = 0;
};

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_SCAN_HOLD_METER_H_
