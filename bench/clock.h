// Time for the runner and its clients: a monotonic clock and a nap.
#ifndef SHMKV_BENCH_CLOCK_H_
#define SHMKV_BENCH_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace shmkv {
namespace bench {

// Nanoseconds of CLOCK_MONOTONIC.
inline uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// Sleeps `ms` milliseconds.
inline void SleepMillis(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);  // EINTR (a signal) just ends the nap early
}

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_CLOCK_H_
