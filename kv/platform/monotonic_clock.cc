#include "kv/platform/monotonic_clock.h"

namespace shmkv::platform {

absl::Duration MonotonicNow() { return absl::Nanoseconds(MonotonicNanos()); }

}  // namespace shmkv::platform
