#include "shmkv/clock.h"

#include <time.h>

namespace shmkv {

int64_t SystemClock::NowMillis() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

const SystemClock* SystemClock::Get() {
  static const SystemClock clock;
  return &clock;
}

}  // namespace shmkv
