// The clock for deadlines and intervals: CLOCK_MONOTONIC, which no step of
// the wall clock (NTP, date -s, a resumed VM) moves.
#ifndef SHMKV_KV_PLATFORM_MONOTONIC_CLOCK_H_
#define SHMKV_KV_PLATFORM_MONOTONIC_CLOCK_H_

#include <time.h>

#include <cstdint>

#include "absl/time/time.h"

namespace shmkv::platform {

// CLOCK_MONOTONIC in nanoseconds since an arbitrary fixed point (boot), the
// same in every process: the one reading of the precise clock, inline for
// the loops that time every operation.
inline int64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// CLOCK_BOOTTIME in nanoseconds: like CLOCK_MONOTONIC, but it also counts the
// time the machine spent suspended. For ages that must hold in real time
// across a suspend (a heartbeat written before one is old after it).
inline int64_t BootTimeNanos() {
  timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

// The same as a Duration.
absl::Duration MonotonicNow();

// CLOCK_MONOTONIC_COARSE in nanoseconds: the time of the kernel's last tick
// (a few milliseconds' resolution), read from memory the kernel shares with
// every process (the vDSO), never a system call, even where the precise
// clock needs one. For a check made on every operation.
inline int64_t MonotonicCoarseNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

}  // namespace shmkv::platform

#endif  // SHMKV_KV_PLATFORM_MONOTONIC_CLOCK_H_
