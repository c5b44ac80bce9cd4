// The clock for deadlines and intervals: CLOCK_MONOTONIC, which no step of
// the wall clock (NTP, date -s, a resumed VM) moves.
#ifndef SHMKV_KV_PLATFORM_MONOTONIC_CLOCK_H_
#define SHMKV_KV_PLATFORM_MONOTONIC_CLOCK_H_

#include "absl/time/time.h"

namespace shmkv::platform {

// Time since an arbitrary fixed point (boot), the same in every process.
absl::Duration MonotonicNow();

}  // namespace shmkv::platform

#endif  // SHMKV_KV_PLATFORM_MONOTONIC_CLOCK_H_
