#include "kv/platform/robust_mutex.h"

#include <errno.h>
#include <time.h>

namespace shmkv::platform {

bool InitRobustMutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  if (pthread_mutexattr_init(&attr) != 0) return false;
  bool ok = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
            pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 &&
            pthread_mutex_init(mutex, &attr) == 0;
  pthread_mutexattr_destroy(&attr);
  return ok;
}

namespace {

LockResult FromCode(int rc, bool waited) {
  switch (rc) {
    case 0:
      return waited ? LockResult::kAcquiredAfterWait : LockResult::kAcquired;
    case EOWNERDEAD:
      return LockResult::kOwnerDied;
    case ETIMEDOUT:
      return LockResult::kTimedOut;
    default:
      return LockResult::kUnrecoverable;
  }
}

constexpr int kSpinAttempts = 20;

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

LockResult LockRobustMutex(pthread_mutex_t* mutex, absl::Duration timeout) {
  int rc = pthread_mutex_trylock(mutex);
  if (rc != EBUSY) return FromCode(rc, false);
  // Critical sections are a few hundred nanoseconds: spin briefly before
  // sleeping in the kernel, as a holder on another core is about to leave.
  for (int spin = 0; spin < kSpinAttempts; ++spin) {
    for (int i = 0; i < 8; ++i) CpuRelax();
    rc = pthread_mutex_trylock(mutex);
    if (rc != EBUSY) return FromCode(rc, true);
  }
  // The deadline is on CLOCK_MONOTONIC (glibc 2.30+): a wall clock stepped
  // by NTP or by hand neither ends the wait early nor stretches it.
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const timespec deadline = absl::ToTimespec(absl::DurationFromTimespec(now) + timeout);
  for (;;) {
    rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &deadline);
    if (rc != EINTR) return FromCode(rc, true);
  }
}

void UnlockRobustMutex(pthread_mutex_t* mutex) { pthread_mutex_unlock(mutex); }

void MarkConsistent(pthread_mutex_t* mutex) { pthread_mutex_consistent(mutex); }

}  // namespace shmkv::platform
