#include "kv/platform/robust_mutex.h"

#include <errno.h>
#include <time.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMKV_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(SHMKV_TSAN)
#define SHMKV_TSAN 1
#endif
#ifndef SHMKV_TSAN
#define SHMKV_TSAN 0
#endif

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
  const absl::Duration deadline = absl::DurationFromTimespec(now) + timeout;
#if SHMKV_TSAN
  // ThreadSanitizer (clang 14) does not intercept pthread_mutex_clocklock,
  // so it would report every unlock that follows one. Under it, poll with
  // trylock against the same monotonic deadline.
  for (;;) {
    rc = pthread_mutex_trylock(mutex);
    if (rc != EBUSY) return FromCode(rc, true);
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (absl::DurationFromTimespec(now) >= deadline) return LockResult::kTimedOut;
    const timespec pause = {0, 100 * 1000};
    nanosleep(&pause, nullptr);
  }
#else
  const timespec until = absl::ToTimespec(deadline);
  for (;;) {
    rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &until);
    if (rc != EINTR) return FromCode(rc, true);
  }
#endif
}

void UnlockRobustMutex(pthread_mutex_t* mutex) { pthread_mutex_unlock(mutex); }

void MarkConsistent(pthread_mutex_t* mutex) { pthread_mutex_consistent(mutex); }

}  // namespace shmkv::platform
