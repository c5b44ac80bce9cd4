// The IPC guard: runs a test in a child process and, however that child ends
// (exit, assertion, sanitizer abort, SIGKILL, a test timeout), removes every
// System V segment and semaphore set left in the run's key range, kills the
// processes the test left running, and fails the test naming what it left.
//
// The guard is the parent; it claims a key range (key_range.h), exports it,
// becomes the subreaper of everything the test forks, and outlives it.
#ifndef SHMKV_TESTING_GUARD_H_
#define SHMKV_TESTING_GUARD_H_

namespace shmkv {
namespace testguard {

// Forks. Returns in the child, with the key range in its environment. The
// calling process becomes the guard: it waits for the child, cleans up,
// and exits with the child's status (128 + signal when a signal ended it),
// or 1 when the child succeeded but left IPC objects or processes behind.
// Call it first thing in main, before any thread exists. `label` names the
// test in messages.
void RunChildUnderGuard(const char* label);

}  // namespace testguard
}  // namespace shmkv

#endif  // SHMKV_TESTING_GUARD_H_
