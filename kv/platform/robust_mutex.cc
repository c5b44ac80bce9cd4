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

}  // namespace

LockResult LockRobustMutex(pthread_mutex_t* mutex, absl::Duration timeout) {
  int rc = pthread_mutex_trylock(mutex);
  if (rc != EBUSY) return FromCode(rc, false);
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  timespec deadline = absl::ToTimespec(absl::TimeFromTimespec(now) - absl::UnixEpoch() + timeout);
  for (;;) {
    rc = pthread_mutex_timedlock(mutex, &deadline);
    if (rc != EINTR) return FromCode(rc, true);
  }
}

void UnlockRobustMutex(pthread_mutex_t* mutex) { pthread_mutex_unlock(mutex); }

void MarkConsistent(pthread_mutex_t* mutex) { pthread_mutex_consistent(mutex); }

}  // namespace shmkv::platform
