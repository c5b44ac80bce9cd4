// A process-shared, robust pthread mutex living in shared memory, with
// bounded waits. Robustness means a holder's death is reported to the next
// locker (kOwnerDied) instead of hanging it; that locker must repair what the
// mutex guards and then call MarkConsistent() before unlocking, or the mutex
// becomes unusable for everyone.
#ifndef SHMKV_KV_PLATFORM_ROBUST_MUTEX_H_
#define SHMKV_KV_PLATFORM_ROBUST_MUTEX_H_

#include <pthread.h>

#include <cstdint>

#include "absl/time/time.h"

namespace shmkv::platform {

enum class LockResult {
  kAcquired,
  kAcquiredAfterWait,  // acquired, but another holder had it first
  kOwnerDied,          // acquired; the previous holder died holding it
  kTimedOut,           // one holder kept it for the whole timeout
  kWaitCapped,         // it kept changing hands for kMaxWaitTimeouts timeouts
  kUnrecoverable,      // ENOTRECOVERABLE, or the mutex bytes are garbage
};

// Initialises `mutex` (which lives in shared memory) as process-shared and
// robust. Returns false if pthread refuses.
bool InitRobustMutex(pthread_mutex_t* mutex);

// No system call when the mutex is free. `timeout` bounds how long one holder
// may keep the mutex while this call waits: `acquisitions` is a counter every
// holder bumps after acquiring (nullptr: none), and each time this call sees
// it change, the lock has changed hands and the wait starts over. So a waiter
// fails behind a holder that is stuck, not behind a busy lock it keeps
// losing to other lockers (glibc's mutexes are not fair). The counter is in
// shared memory that any writer of the segment can bump, so the restarts
// end after kMaxWaitTimeouts * timeout from the start of the wait, whatever
// the counter does (kWaitCapped).
inline constexpr int kMaxWaitTimeouts = 8;
LockResult LockRobustMutex(pthread_mutex_t* mutex, absl::Duration timeout,
                           const uint64_t* acquisitions);
void UnlockRobustMutex(pthread_mutex_t* mutex);
void MarkConsistent(pthread_mutex_t* mutex);

}  // namespace shmkv::platform

#endif  // SHMKV_KV_PLATFORM_ROBUST_MUTEX_H_
