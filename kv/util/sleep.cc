#include "kv/util/sleep.h"

#include <time.h>

namespace shmkv::util {

void SleepAtMost(absl::Duration duration) {
  if (duration <= absl::ZeroDuration()) return;
  timespec ts = absl::ToTimespec(duration);
  nanosleep(&ts, nullptr);  // EINTR: a signal ends the nap early
}

}  // namespace shmkv::util
