// A nap that a signal cuts short.
#ifndef SHMKV_KV_UTIL_SLEEP_H_
#define SHMKV_KV_UTIL_SLEEP_H_

#include "absl/time/time.h"

namespace shmkv::util {

// Sleeps for `duration` (nothing if it is not positive), or less if a signal
// handler runs meanwhile (nanosleep's EINTR is not retried): a loop that
// waits for a flag set by a handler sees it at once.
void SleepAtMost(absl::Duration duration);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_SLEEP_H_
