// Test-only crash points: SHMKV_CRASH_POINT("write.after_head") names a step
// of a write path at which tests/reliability/crash_point_test makes the
// process _exit, so that every intermediate state a crash can leave is
// recovered from deterministically (not only when a random SIGKILL happens
// to land there).
//
// Why a macro and a second build of the store: production code must carry no
// trace of the hook (no call, no branch, no symbol), so the macro expands to
// nothing unless SHMKV_CRASH_POINTS is defined. Only the testonly
// *_crash_points twins of the store's libraries (crash_points.bzl: the same
// sources, ending in //kv:store_crash_points) define it and link
// crash_point.cc, and only the crash-point test links them. A runtime
// flag or a weak symbol would leave a check on every write of every program.
#ifndef SHMKV_KV_INTERNAL_CRASH_POINT_H_
#define SHMKV_KV_INTERNAL_CRASH_POINT_H_

namespace shmkv::internal {

// The exit status of a process that died at an armed crash point.
inline constexpr int kCrashPointExit = 77;

// Defined only in the *_crash_points twins. Arms `name` (a string literal of
// a SHMKV_CRASH_POINT): its (skip + 1)-th execution in this process calls
// _exit(kCrashPointExit). One point is armed at a time; arming replaces it.
void ArmCrashPoint(const char* name, int skip = 0);

#ifdef SHMKV_CRASH_POINTS
void CrashPoint(const char* name);
#define SHMKV_CRASH_POINT(name) ::shmkv::internal::CrashPoint(name)
#else
#define SHMKV_CRASH_POINT(name) static_cast<void>(0)
#endif

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_CRASH_POINT_H_
