#include "kv/platform/robust_mutex.h"

#include <errno.h>
#include <time.h>

#include <algorithm>

#include "kv/platform/monotonic_clock.h"
#include "kv/platform/sanitizers.h"

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

// How often a waiter looks whether the lock changed hands.
constexpr absl::Duration kProgressCheck = absl::Milliseconds(50);

// The end of a wait: the lock if it is free now, else `otherwise`.
LockResult LastTry(pthread_mutex_t* mutex, LockResult otherwise) {
  // The wait can end while the lock is free (this thread did not run
  // between the release and its deadline): take it then.
  const int rc = pthread_mutex_trylock(mutex);
  return rc == EBUSY ? otherwise : FromCode(rc, true);
}

}  // namespace

LockResult LockRobustMutex(pthread_mutex_t* mutex, absl::Duration timeout,
                           const uint64_t* acquisitions) {
  int rc = pthread_mutex_trylock(mutex);
  if (rc != EBUSY) return FromCode(rc, false);
  // Critical sections are a few hundred nanoseconds: spin briefly before
  // sleeping in the kernel, as a holder on another core is about to leave.
  for (int spin = 0; spin < kSpinAttempts; ++spin) {
    for (int i = 0; i < 8; ++i) CpuRelax();
    rc = pthread_mutex_trylock(mutex);
    if (rc != EBUSY) return FromCode(rc, true);
  }
  // Deadlines are on CLOCK_MONOTONIC (glibc 2.30+): a wall clock stepped by
  // NTP or by hand neither ends the wait early nor stretches it.
  uint64_t seen = acquisitions != nullptr ? __atomic_load_n(acquisitions, __ATOMIC_RELAXED) : 0;
  const absl::Duration start = MonotonicNow();
  // The counter lives in the segment, where any process that may write the
  // segment can bump it: the restarts never take the wait past this cap.
  const absl::Duration cap = start + kMaxWaitTimeouts * timeout;
  absl::Duration deadline = start + timeout;
  for (;;) {
    const absl::Duration slice_end = std::min(deadline, MonotonicNow() + kProgressCheck);
#if SHMKV_TSAN
    // ThreadSanitizer (clang 14) does not intercept pthread_mutex_clocklock,
    // so it would report every unlock that follows one. Under it, poll with
    // trylock.
    rc = pthread_mutex_trylock(mutex);
    while (rc == EBUSY && MonotonicNow() < slice_end) {
      const timespec pause = {0, 100 * 1000};
      nanosleep(&pause, nullptr);
      rc = pthread_mutex_trylock(mutex);
    }
    if (rc == EBUSY) rc = ETIMEDOUT;
#else
    const timespec until = absl::ToTimespec(slice_end);
    do {
      rc = pthread_mutex_clocklock(mutex, CLOCK_MONOTONIC, &until);
    } while (rc == EINTR);
#endif
    if (rc != ETIMEDOUT) return FromCode(rc, true);
    if (acquisitions != nullptr) {
      const uint64_t now_seen = __atomic_load_n(acquisitions, __ATOMIC_RELAXED);
      if (now_seen != seen) {
        seen = now_seen;
        const absl::Duration now = MonotonicNow();
        if (now >= cap) return LastTry(mutex, LockResult::kWaitCapped);
        deadline = std::min(cap, now + timeout);
        continue;
      }
    }
    const absl::Duration now = MonotonicNow();
    if (now >= deadline) {
      return LastTry(mutex, now >= cap ? LockResult::kWaitCapped : LockResult::kTimedOut);
    }
  }
}

void UnlockRobustMutex(pthread_mutex_t* mutex) { pthread_mutex_unlock(mutex); }

void MarkConsistent(pthread_mutex_t* mutex) { pthread_mutex_consistent(mutex); }

}  // namespace shmkv::platform
