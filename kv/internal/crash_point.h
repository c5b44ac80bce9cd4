// Test-only crash points: SHMKV_CRASH_POINT("write.after_head") names a step
// of a write path at which tests/reliability/crash_point_test makes the
// process _exit, so that every intermediate state a crash can leave is
// recovered from deterministically (not only when a random SIGKILL happens
// to land there).
//
// A test hook, so it follows the one rule for them (tests/README.md, "Test
// hooks"): production code carries no trace of it (no call, no branch, no
// symbol), so the macro expands to nothing unless SHMKV_TEST_HOOKS is
// defined (test_hook.h). Only the testonly *_test_hooks twins of the store's libraries
// (test_hooks.bzl: the same sources, ending in //kv:store_test_hooks) define
// it and link crash_point.cc. A runtime flag or a weak symbol would leave a
// check on every write of every program.
#ifndef SHMKV_KV_INTERNAL_CRASH_POINT_H_
#define SHMKV_KV_INTERNAL_CRASH_POINT_H_

#include "kv/internal/test_hook.h"

namespace shmkv::internal {

// The exit status of a process that died at an armed crash point.
inline constexpr int kCrashPointExit = 77;

// Defined only in //kv/internal:test_hooks, which only the *_test_hooks
// twins link. Arms `name` (a string literal of
// a SHMKV_CRASH_POINT): its (skip + 1)-th execution in this process calls
// _exit(kCrashPointExit). One point is armed at a time; arming replaces it.
void ArmCrashPoint(const char* name, int skip = 0);

void CrashPoint(const char* name);
#define SHMKV_CRASH_POINT(name) SHMKV_TEST_HOOK(::shmkv::internal::CrashPoint(name))

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_CRASH_POINT_H_
