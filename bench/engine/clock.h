// Time for the runner and its clients: a monotonic clock (naps are
// util::SleepAtMost, kv/util/sleep.h).
#ifndef SHMKV_BENCH_ENGINE_CLOCK_H_
#define SHMKV_BENCH_ENGINE_CLOCK_H_

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

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_CLOCK_H_
