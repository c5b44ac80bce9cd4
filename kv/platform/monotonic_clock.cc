#include "kv/platform/monotonic_clock.h"

#include <time.h>

namespace shmkv::platform {

absl::Duration MonotonicNow() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::DurationFromTimespec(now);
}

}  // namespace shmkv::platform
