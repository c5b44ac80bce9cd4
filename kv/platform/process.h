// Process identity without a system call on hot paths.
#ifndef SHMKV_KV_PLATFORM_PROCESS_H_
#define SHMKV_KV_PLATFORM_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace shmkv::platform {

// getpid(), cached and refreshed in fork children.
pid_t CurrentPid();
// True unless kill(pid, 0) reports ESRCH (a pid we may not signal is alive).
bool ProcessExists(pid_t pid);

// Host settings that make System V segments disappear before IPC_RMID, as
// sentences for a user (empty when none applies to `owner_uid`).
std::vector<std::string> PersistenceWarnings(uid_t owner_uid);

}  // namespace shmkv::platform

#endif  // SHMKV_KV_PLATFORM_PROCESS_H_
