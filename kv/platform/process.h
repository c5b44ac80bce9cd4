// Process identity without a system call on hot paths.
#ifndef SHMKV_KV_PLATFORM_PROCESS_H_
#define SHMKV_KV_PLATFORM_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace shmkv::platform {

// getpid(), cached and refreshed in fork children.
pid_t CurrentPid();
// True unless kill(pid, 0) reports ESRCH (a pid we may not signal is alive).
bool ProcessExists(pid_t pid);

// A process as other processes of the host can tell it from a later one
// with the same pid: its pid, its start time (clock ticks after boot,
// /proc/PID/stat field 22) and the inode of its PID namespace
// (/proc/PID/ns/pid). 0 stands for "unknown" in the last two.
struct ProcessIdentity {
  int32_t pid = 0;
  uint32_t reserved = 0;
  uint64_t start_time = 0;
  uint64_t pid_namespace = 0;
};
static_assert(sizeof(ProcessIdentity) == 24, "stored in leases as is");
// This process's identity, cached and refreshed in fork children.
const ProcessIdentity& CurrentIdentity();

enum class Liveness { kAlive, kDead, kUnknown };
// Whether the process `id` names still runs, as far as this process can
// tell: dead when no process has its pid or the process with that pid
// started at another time (the pid was reused), or it is a zombie (killed
// or exited, not yet waited for: /proc/PID/stat state 'Z' or 'X'); unknown when `id` is of
// another PID namespace than ours (its pid means another process here), or
// when /proc shows another PID namespace than ours (a process in a new
// namespace that kept its parent's /proc).
// Reads /proc: not for hot paths or while holding a lock.
Liveness LivenessOf(const ProcessIdentity& id);

// This boot of the host (/proc/sys/kernel/random/boot_id, read once), or ""
// when it cannot be read. CLOCK_MONOTONIC times of one boot mean nothing in
// another.
const std::string& BootId();

// Host settings that make System V segments disappear before IPC_RMID, as
// sentences for a user (empty when none applies to `owner_uid`).
std::vector<std::string> PersistenceWarnings(uid_t owner_uid);

}  // namespace shmkv::platform

#endif  // SHMKV_KV_PLATFORM_PROCESS_H_
