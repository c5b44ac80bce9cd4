// Thin wrappers over System V shared memory and semaphores that turn errno
// into absl::Status messages naming the kernel limit involved and its value.
#ifndef SHMKV_KV_PLATFORM_IPC_H_
#define SHMKV_KV_PLATFORM_IPC_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace shmkv::platform {

struct SegmentStat {
  uint64_t size = 0;
  uid_t owner_uid = 0, creator_uid = 0;
  gid_t owner_gid = 0;
  int mode = 0;  // permission bits
  uint64_t attached = 0;
  bool removed = false;  // IPC_RMID done, waiting for the last detach
  pid_t creator_pid = 0, last_pid = 0;
  int64_t changed_at = 0;
};

// "0x5f3e0001"
std::string KeyToString(key_t key);

// Creates a new segment (IPC_CREAT | IPC_EXCL). AlreadyExists if one exists.
// huge_pages: back the segment with the kernel's reserved huge pages
// (SHM_HUGETLB); failure names vm.nr_hugepages and how many are free.
absl::StatusOr<int> ShmCreate(key_t key, uint64_t bytes, int mode, bool huge_pages = false);
// NotFound if no segment exists at the key.
absl::StatusOr<int> ShmLookup(key_t key);
absl::StatusOr<SegmentStat> ShmStat(int shm_id);
// read_only attaches with SHM_RDONLY, which needs only read permission.
// PermissionDenied when the mode refuses, NotFound when the segment was
// removed meanwhile.
absl::StatusOr<void*> ShmAttach(int shm_id, key_t key_for_messages, bool read_only = false);
void ShmDetach(void* address);
// Maps every page of an attached segment into this process's page tables now
// (MADV_POPULATE_WRITE; on kernels before 5.14, a read of each page), so
// later first touches take no page fault. Best effort: a page it could not
// map in faults later as usual.
void ShmPopulate(void* address, uint64_t bytes);
absl::Status ShmRemove(int shm_id);

// One line of /proc/sysvipc/shm. Unlike ShmStat, the listing needs no
// permission on the segment, so it describes every segment on the host.
struct ShmListing {
  key_t key = 0;  // 0 (IPC_PRIVATE) for private segments and removed ones
  int shm_id = -1;
  SegmentStat stat;  // size, uids, mode, attached, removed and creator_pid
};
// Every shared-memory segment on the host, in the kernel's order.
// Unavailable when /proc/sysvipc/shm cannot be read (not Linux, or /proc is
// not mounted). Lines this build does not understand are skipped.
absl::StatusOr<std::vector<ShmListing>> ShmList();

// True when this process may remove (IPC_RMID) an object with these owner
// and creator uids: the kernel's own rule, its effective uid is one of them
// or it has CAP_SYS_ADMIN.
bool MayRemoveIpc(uid_t owner_uid, uid_t creator_uid);

// Who a newly created semaphore set belongs to: `mode`, and when
// `take_owner` is set, the owner uid and gid given (IPC_SET before the set
// is initialised, so nobody sees it with other ones).
struct SemCreation {
  int mode = 0600;
  bool take_owner = false;
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
};

// A one-semaphore set used as a lock: value 1 = free, 0 = held. Acquire and
// release use SEM_UNDO so the kernel releases it when its holder dies.
// Creation is race-free: the creator records its pid (SETVAL 0, which sets
// sempid but not sem_otime), then initialises the value with its first semop
// (which sets sem_otime); others wait, bounded by `wait`, until
// sem_otime != 0. A set still uninitialised after `wait` is removed only
// when it is provably abandoned: this user created it and its recorded
// creator pid is dead by `process_alive` (nullptr: never). Otherwise
// Unavailable (a creator alive but stopped, or none recorded) or
// PermissionDenied (another user's), naming the set and `ipcrm -s`.
// `*created` reports whether this call created the set.
absl::StatusOr<int> SemOpenOrCreate(key_t key, const SemCreation& creation, absl::Duration wait,
                                    bool* created, bool (*process_alive)(pid_t) = nullptr);
inline absl::StatusOr<int> SemOpenOrCreate(key_t key, int mode, absl::Duration wait,
                                           bool* created) {
  SemCreation creation;
  creation.mode = mode;
  return SemOpenOrCreate(key, creation, wait, created);
}
// NotFound if no set exists at the key.
absl::StatusOr<int> SemLookup(key_t key);
// Unavailable on timeout or when the set is removed while waiting (EIDRM).
// The timeout runs on CLOCK_MONOTONIC. `*removed` (if given) tells the two
// apart: true when the set no longer exists (its holder removed it).
absl::Status SemLock(int sem_id, absl::Duration timeout, bool* removed = nullptr);
void SemUnlock(int sem_id);
absl::Status SemRemove(int sem_id);
// The pid of the last process that operated on the set (for messages).
pid_t SemLastPid(int sem_id);

struct SemStat {
  uid_t owner_uid = 0, creator_uid = 0;  // the owner may be changed by IPC_SET; the creator not
  int mode = 0;
};
// NotFound when the set is gone, PermissionDenied when its mode denies us.
absl::StatusOr<SemStat> SemStatus(int sem_id);

// Reads /proc/sys/kernel/<name> (e.g. "shmmax"); empty if unreadable.
std::string ReadKernelSetting(const std::string& name);

}  // namespace shmkv::platform

#endif  // SHMKV_KV_PLATFORM_IPC_H_
