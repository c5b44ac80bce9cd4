#include "kv/platform/ipc.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kv/platform/monotonic_clock.h"

namespace shmkv::platform {
namespace {

std::string Errno(int err) { return absl::StrCat(strerror(err), " (errno ", err, ")"); }

std::string LimitText(const std::string& name) {
  std::string value = ReadKernelSetting(name);
  if (value.empty()) value = "unknown";
  return absl::StrCat("kernel.", name, " = ", value);
}

// A field of /proc/meminfo ("HugePages_Free", "Hugepagesize" in KiB); 0 if
// absent.
uint64_t MemInfoValue(absl::string_view field) {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, field) || !absl::ConsumePrefix(&rest, ":")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    uint64_t value = 0;
    return absl::SimpleAtoi(rest, &value) ? value : 0;
  }
  return 0;
}

}  // namespace

std::string KeyToString(key_t key) { return absl::StrFormat("0x%08x", static_cast<uint32_t>(key)); }

std::string ReadKernelSetting(const std::string& name) {
  std::ifstream in("/proc/sys/kernel/" + name);
  std::string value;
  if (!in || !std::getline(in, value)) return "";
  return std::string(absl::StripAsciiWhitespace(value));
}

absl::StatusOr<int> ShmCreate(key_t key, uint64_t bytes, int mode, bool huge_pages) {
  int id =
      shmget(key, bytes, IPC_CREAT | IPC_EXCL | (huge_pages ? SHM_HUGETLB : 0) | (mode & 0777));
  if (id >= 0) return id;
  int err = errno;
  std::string at =
      absl::StrCat("shared-memory segment of ", bytes, " bytes at key ", KeyToString(key));
  if (huge_pages && err != EEXIST) {
    const uint64_t page_kib = MemInfoValue("Hugepagesize");
    const uint64_t needed = page_kib == 0 ? 0 : (bytes + page_kib * 1024 - 1) / (page_kib * 1024);
    const std::string have =
        absl::StrCat("the host has ", MemInfoValue("HugePages_Free"), " free of ",
                     MemInfoValue("HugePages_Total"), " reserved huge pages of ", page_kib,
                     " KiB and this store needs ", needed);
    if (err == EPERM || err == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", at, " in huge pages: ", Errno(err),
                       "; the creating user must be in the "
                       "group of vm.hugetlb_shm_group (",
                       have, "), or create the store without huge pages"));
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create ", at, " in huge pages: ", Errno(err), "; ", have,
        ". Reserve more (sysctl -w vm.nr_hugepages=N) or create the store without huge pages"));
  }
  switch (err) {
    case EEXIST:
      return absl::AlreadyExistsError(
          absl::StrCat("a segment already exists at key ", KeyToString(key)));
    case EINVAL:
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot create ", at, ": the size is outside the kernel's limits (", LimitText("shmmax"),
          ", shmmin = 1); lower the capacity or raise the limit with sysctl -w "
          "kernel.shmmax=BYTES"));
    case ENOSPC:
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot create ", at, ": the host ran out of segment ids or shared-memory pages (",
          LimitText("shmmni"), ", ", LimitText("shmall"),
          " pages); remove unused segments (ipcs -m, kvcli ls) or raise the limit with sysctl"));
    case ENOMEM:
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot create ", at, ": not enough memory for it (", LimitText("shmall"), " pages, ",
          LimitText("shmmax"), " bytes, and the host's free memory); lower the capacity"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat("cannot create ", at, ": ", Errno(err)));
    default:
      return absl::InternalError(absl::StrCat("shmget failed for ", at, ": ", Errno(err)));
  }
}

absl::StatusOr<int> ShmLookup(key_t key) {
  int id = shmget(key, 0, 0);
  if (id >= 0) return id;
  int err = errno;
  if (err == ENOENT) {
    return absl::NotFoundError(absl::StrCat("no shared-memory segment at key ", KeyToString(key)));
  }
  if (err == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the segment at key ", KeyToString(key),
        " exists but its mode denies this user (see ipcs -m); ask its owner or run as that user"));
  }
  return absl::InternalError(absl::StrCat("shmget at key ", KeyToString(key), ": ", Errno(err)));
}

absl::StatusOr<SegmentStat> ShmStat(int shm_id) {
  shmid_ds ds;
  if (shmctl(shm_id, IPC_STAT, &ds) != 0) {
    int err = errno;
    if (err == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat("no permission to inspect segment id ", shm_id));
    }
    if (err == EINVAL || err == EIDRM) {
      return absl::NotFoundError(absl::StrCat("segment id ", shm_id, " no longer exists"));
    }
    return absl::InternalError(absl::StrCat("shmctl(IPC_STAT) on id ", shm_id, ": ", Errno(err)));
  }
  SegmentStat st;
  st.size = ds.shm_segsz;
  st.owner_uid = ds.shm_perm.uid;
  st.creator_uid = ds.shm_perm.cuid;
  st.owner_gid = ds.shm_perm.gid;
  st.mode = ds.shm_perm.mode & 0777;
  st.removed = (ds.shm_perm.mode & SHM_DEST) != 0;
  st.attached = ds.shm_nattch;
  st.creator_pid = ds.shm_cpid;
  st.last_pid = ds.shm_lpid;
  st.changed_at = ds.shm_ctime;
  return st;
}

void ShmPopulate(void* address, uint64_t bytes) {
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif
  if (madvise(address, bytes, MADV_POPULATE_WRITE) == 0) return;
  if (errno != EINVAL) return;  // out of memory or interrupted: leave the rest to faults
  const long page = sysconf(_SC_PAGESIZE);
  volatile const char* p = static_cast<const char*>(address);
  for (uint64_t at = 0; at < bytes; at += static_cast<uint64_t>(page)) (void)p[at];
}

absl::StatusOr<void*> ShmAttach(int shm_id, key_t key, bool read_only) {
  void* address = shmat(shm_id, nullptr, read_only ? SHM_RDONLY : 0);
  if (address != reinterpret_cast<void*>(-1)) return address;
  int err = errno;
  if (err == EACCES && read_only) {
    return absl::PermissionDeniedError(
        absl::StrCat("the segment at key ", KeyToString(key),
                     " does not grant this user read access (see its mode in ipcs -m)"));
  }
  if (err == EACCES) {
    return absl::PermissionDeniedError(
        absl::StrCat("the store at key ", KeyToString(key),
                     " does not grant this user read and write access (see its mode in ipcs -m); "
                     "ask its owner to create it with a wider mode"));
  }
  if (err == EINVAL || err == EIDRM) {
    return absl::NotFoundError(absl::StrCat("the segment at key ", KeyToString(key),
                                            " was removed while opening it; try again"));
  }
  if (err == ENOMEM || err == EMFILE) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map the segment at key ", KeyToString(key), ": ", Errno(err),
                     " (the process's address space or kernel.shmseg is exhausted)"));
  }
  return absl::InternalError(absl::StrCat("shmat at key ", KeyToString(key), ": ", Errno(err)));
}

void ShmDetach(void* address) {
  if (address != nullptr) shmdt(address);
}

absl::Status ShmRemove(int shm_id) {
  if (shmctl(shm_id, IPC_RMID, nullptr) == 0) return absl::OkStatus();
  int err = errno;
  if (err == EPERM || err == EACCES) {
    return absl::PermissionDeniedError(
        absl::StrCat("only the owner, creator or root may remove segment id ", shm_id));
  }
  if (err == EINVAL || err == EIDRM) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("shmctl(IPC_RMID) on id ", shm_id, ": ", Errno(err)));
}

absl::StatusOr<std::vector<ShmListing>> ShmList() {
  constexpr char kProcShm[] = "/proc/sysvipc/shm";
  std::FILE* file = std::fopen(kProcShm, "r");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot read ", kProcShm, ": ", std::strerror(errno),
                                               " (needs Linux with /proc mounted)"));
  }
  std::vector<ShmListing> segments;
  char* buffer = nullptr;
  size_t capacity = 0;
  std::vector<std::string> columns;
  while (getline(&buffer, &capacity, file) >= 0) {
    std::vector<std::string> fields =
        absl::StrSplit(buffer, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    if (fields.empty()) continue;
    if (columns.empty()) {
      columns = fields;
      continue;
    }
    auto field = [&](absl::string_view name) -> const std::string* {
      for (size_t i = 0; i < columns.size() && i < fields.size(); ++i) {
        if (columns[i] == name) return &fields[i];
      }
      return nullptr;
    };
    const std::string* key = field("key");
    const std::string* id = field("shmid");
    const std::string* perms = field("perms");
    const std::string* size = field("size");
    const std::string* nattch = field("nattch");
    const std::string* uid = field("uid");
    const std::string* cuid = field("cuid");
    const std::string* cpid = field("cpid");
    ShmListing s;
    int64_t key_value = 0;
    uint32_t uid_value = 0, cuid_value = 0;
    if (key == nullptr || id == nullptr || perms == nullptr || size == nullptr ||
        nattch == nullptr || uid == nullptr || !absl::SimpleAtoi(*key, &key_value) ||
        !absl::SimpleAtoi(*id, &s.shm_id) || !absl::SimpleAtoi(*size, &s.stat.size) ||
        !absl::SimpleAtoi(*nattch, &s.stat.attached) || !absl::SimpleAtoi(*uid, &uid_value)) {
      continue;  // a line this build does not understand
    }
    // perms are octal in /proc and may carry SHM_DEST and other state bits.
    char* end = nullptr;
    const uint64_t perms_value = std::strtoull(perms->c_str(), &end, 8);
    s.key = static_cast<key_t>(static_cast<uint32_t>(key_value));
    s.stat.mode = static_cast<int>(perms_value & 0777);
    s.stat.removed = (perms_value & SHM_DEST) != 0;
    s.stat.owner_uid = uid_value;
    s.stat.creator_uid =
        cuid != nullptr && absl::SimpleAtoi(*cuid, &cuid_value) ? cuid_value : uid_value;
    if (cpid != nullptr) (void)absl::SimpleAtoi(*cpid, &s.stat.creator_pid);
    segments.push_back(s);
  }
  std::free(buffer);
  std::fclose(file);
  return segments;
}

namespace {

// True when this process is in group `gid` (effective or supplementary).
bool InGroup(gid_t gid) {
  if (getegid() == gid) return true;
  gid_t groups[256];
  const int n = getgroups(256, groups);
  for (int i = 0; i < n; ++i) {
    if (groups[i] == gid) return true;
  }
  return false;
}

// Why the semaphore set `sem_id` refuses this process, and what to do: its
// mode, owner and creator, which class of the mode (owner, group, others)
// applies here by the kernel's rule, and what that class may do. Read from
// /proc/sysvipc/sem, which anyone may read (IPC_STAT needs read permission).
std::string SemDenial(int sem_id) {
  std::ifstream in("/proc/sysvipc/sem");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    // key semid perms nsems uid gid cuid cgid otime ctime
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int id = -1;
    uint32_t uid = 0, gid = 0, cuid = 0, cgid = 0;
    if (f.size() < 8 || !absl::SimpleAtoi(f[1], &id) || id != sem_id ||
        !absl::SimpleAtoi(f[4], &uid) || !absl::SimpleAtoi(f[5], &gid) ||
        !absl::SimpleAtoi(f[6], &cuid) || !absl::SimpleAtoi(f[7], &cgid)) {
      continue;
    }
    const int mode = static_cast<int>(std::strtoul(std::string(f[2]).c_str(), nullptr, 8) & 0777);
    const uid_t me = geteuid();
    const char* who = "others";
    int bits = mode & 07;
    if (me == uid || me == cuid) {
      who = "its owner";
      bits = mode >> 6 & 07;
    } else if (InGroup(gid) || InGroup(cgid)) {
      who = "its group";
      bits = mode >> 3 & 07;
    }
    const char* may = (bits & 06) == 06 ? "may read and alter it"
                      : (bits & 04)     ? "may only read it"
                      : (bits & 02)     ? "may only alter it, not read it"
                                        : "may not even read it";
    return absl::StrFormat(
        ": it has mode %04o, owner uid %u (created by uid %u, group %u), and this process (uid "
        "%u) falls under %s, and %s %s, while using the store needs read and alter (write) "
        "permission; ask uid %u to run this, or to recreate the store with a mode that "
        "includes this user (Options::mode), or run as a user the mode "
        "allows; see ipcs -s -i %d",
        mode, uid, cuid, gid, me, who, who, may, uid, sem_id);
  }
  return absl::StrCat(" (see ipcs -s -i ", sem_id, ")");
}

absl::Status SemError(int sem_id, int err, const char* what) {
  if (err == EIDRM || err == EINVAL) {
    return absl::UnavailableError(absl::StrCat("the store's semaphore set (id ", sem_id,
                                               ") was removed while ", what,
                                               ": the store was destroyed; open it again"));
  }
  if (err == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat(
        "no permission to use the store's semaphore set (id ", sem_id, ")", SemDenial(sem_id)));
  }
  if (err == ENOSPC) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many semaphore undo entries (kernel.sem = ", ReadKernelSetting("sem"), ")"));
  }
  return absl::InternalError(
      absl::StrCat("semop on id ", sem_id, " while ", what, ": ", Errno(err)));
}

// 1: initialised, 0: not yet, -1: IPC_STAT failed (errno set).
int SemInitialised(int sem_id) {
  semid_ds ds;
  if (semctl(sem_id, 0, IPC_STAT, &ds) != 0) return -1;
  return ds.sem_otime != 0 ? 1 : 0;
}

}  // namespace

absl::StatusOr<int> SemLookup(key_t key) {
  int id = semget(key, 0, 0);
  if (id >= 0) return id;
  int err = errno;
  if (err == ENOENT) {
    return absl::NotFoundError(absl::StrCat("no semaphore set at key ", KeyToString(key)));
  }
  if (err == EACCES) {
    return absl::PermissionDeniedError(absl::StrCat("the semaphore set at key ", KeyToString(key),
                                                    " denies this user (see ipcs -s)"));
  }
  return absl::InternalError(absl::StrCat("semget at key ", KeyToString(key), ": ", Errno(err)));
}

namespace {

// Makes a new set (IPC_CREAT | IPC_EXCL) and sets it up: records this pid
// (SETVAL 0 sets sempid, not sem_otime), takes the requested owner, then the
// first semop (to 1, without SEM_UNDO) both frees the lock and marks the set
// initialised. -1 with errno from semget when the set could not be made.
absl::StatusOr<int> SemMake(key_t key, const SemCreation& creation) {
  int id = semget(key, 1, IPC_CREAT | IPC_EXCL | (creation.mode & 0777));
  if (id < 0) return -1;
  auto fail = [&](const char* what) {
    const int err = errno;
    semctl(id, 0, IPC_RMID);
    return SemError(id, err, what);
  };
  if (semctl(id, 0, SETVAL, 0) != 0) return fail("recording its creator");
  if (creation.take_owner) {
    semid_ds ds;
    if (semctl(id, 0, IPC_STAT, &ds) != 0) return fail("reading its owner");
    ds.sem_perm.uid = creation.owner_uid;
    ds.sem_perm.gid = creation.owner_gid;
    ds.sem_perm.mode = static_cast<unsigned short>(creation.mode & 0777);
    if (semctl(id, 0, IPC_SET, &ds) != 0) return fail("giving it the store's owner");
  }
  sembuf op = {0, 1, 0};
  if (semop(id, &op, 1) != 0) return fail("initialising it");
  return id;
}

// The set `id` (made by this user) stayed uninitialised for `waited`:
// remove it only when its creator is provably gone, else say why not.
absl::Status RemoveIfAbandoned(key_t key, int id, absl::Duration waited,
                               bool (*process_alive)(pid_t)) {
  const pid_t creator = semctl(id, 0, GETPID);
  if (creator < 0) return absl::OkStatus();  // removed meanwhile
  if (creator > 0 && process_alive != nullptr && !process_alive(creator)) {
    semctl(id, 0, IPC_RMID);
    return absl::OkStatus();
  }
  const std::string which =
      absl::StrCat("the semaphore set at key ", KeyToString(key), " (id ", id, ")");
  if (creator == 0) {
    return absl::UnavailableError(absl::StrCat(
        which, " was created but never set up in ", absl::FormatDuration(waited),
        ", and its creator recorded no pid (it stopped or died right after creating it), so "
        "nobody can tell whether it is abandoned; if no process is creating this store, remove "
        "it with ipcrm -s ",
        id, " and open again"));
  }
  return absl::UnavailableError(
      absl::StrCat(which, " is still being set up by its creator, pid ", creator,
                   ", which is alive but has not finished in ", absl::FormatDuration(waited),
                   " (stopped or overloaded?); open again once it goes on, or stop it"));
}

}  // namespace

absl::StatusOr<int> SemOpenOrCreate(key_t key, const SemCreation& creation, absl::Duration wait,
                                    bool* created, bool (*process_alive)(pid_t)) {
  *created = false;
  // A set removed between our semget and our use of it was removed by its
  // holder (a Destroy, an opener that gave up): look again, for up to `wait`.
  const absl::Duration give_up = MonotonicNow() + wait;
  for (int attempt = 0; attempt < 2 || MonotonicNow() < give_up; ++attempt) {
    absl::StatusOr<int> made = SemMake(key, creation);
    if (!made.ok()) return made.status();
    if (*made >= 0) {
      *created = true;
      return *made;
    }
    int err = errno;
    if (err == ENOSPC) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot create a semaphore set at key ", KeyToString(key),
          ": the host's limit on semaphore sets is reached (kernel.sem = ",
          ReadKernelSetting("sem"),
          ", fields SEMMSL SEMMNS SEMOPM SEMMNI); remove unused sets (ipcs -s) or raise SEMMNI"));
    }
    if (err != EEXIST) {
      if (err == EACCES) return SemLookup(key).status();
      return absl::InternalError(
          absl::StrCat("semget at key ", KeyToString(key), ": ", Errno(err)));
    }
    absl::StatusOr<int> existing = SemLookup(key);
    if (!existing.ok()) {
      if (absl::IsNotFound(existing.status())) continue;  // removed meanwhile
      return existing.status();
    }
    semid_ds ds;
    if (semctl(*existing, 0, IPC_STAT, &ds) != 0) {
      int stat_err = errno;
      if (stat_err == EACCES) {
        return absl::PermissionDeniedError(
            absl::StrCat("no permission to use the semaphore set of the store at key ",
                         KeyToString(key), " (id ", *existing, ")", SemDenial(*existing)));
      }
      if (stat_err == EINVAL || stat_err == EIDRM) continue;  // removed meanwhile
      return absl::InternalError(
          absl::StrCat("semctl(IPC_STAT) at key ", KeyToString(key), ": ", Errno(stat_err)));
    }
    if (ds.sem_nsems != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the semaphore set at key ", KeyToString(key), " has ", ds.sem_nsems,
          " semaphores, so it is not a shmkv store's; pick another key or remove it (ipcrm -s ",
          *existing, ")"));
    }
    const absl::Duration deadline = MonotonicNow() + wait;
    while (SemInitialised(*existing) == 0 && MonotonicNow() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    const int state = SemInitialised(*existing);
    if (state == 1) return *existing;
    if (state < 0) continue;  // removed meanwhile
    // Never initialised. Another user's set is none of ours to remove,
    // whatever our privileges; ours only when its creator is gone.
    if (ds.sem_perm.cuid != geteuid()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the semaphore set at key ", KeyToString(key), " (id ", *existing, ") was made by uid ",
          ds.sem_perm.cuid, ", not by this user (uid ", geteuid(),
          "), and never set up as a shmkv store's lock: the key is someone else's, so it was "
          "left alone; pick another key, or ask its owner to remove it (ipcrm -s ",
          *existing, ")"));
    }
    if (absl::Status s = RemoveIfAbandoned(key, *existing, wait, process_alive); !s.ok()) return s;
  }
  return absl::UnavailableError(absl::StrCat("the semaphore set at key ", KeyToString(key),
                                             " keeps being re-created; try again"));
}

bool MayRemoveIpc(uid_t owner_uid, uid_t creator_uid) {
  const uid_t me = geteuid();
  if (me == owner_uid || me == creator_uid) return true;
  // CAP_SYS_ADMIN in the effective set: /proc/self/status's CapEff, in hex.
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "CapEff:")) continue;
    uint64_t caps = 0;
    return absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &caps) &&
           (caps >> 21 & 1) != 0;  // CAP_SYS_ADMIN is capability 21
  }
  return false;
}

absl::Status SemLock(int sem_id, absl::Duration timeout, bool* removed) {
  if (removed != nullptr) *removed = false;
  sembuf op = {0, -1, SEM_UNDO};
  // semtimedop takes a relative timeout; what is left of it after an EINTR
  // is measured on CLOCK_MONOTONIC, which no wall-clock step moves.
  const absl::Duration deadline = MonotonicNow() + timeout;
  for (;;) {
    absl::Duration left = deadline - MonotonicNow();
    if (left < absl::ZeroDuration()) left = absl::ZeroDuration();
    timespec ts = absl::ToTimespec(left);
    if (semtimedop(sem_id, &op, 1, &ts) == 0) return absl::OkStatus();
    int err = errno;
    if (err == EINTR) continue;
    if ((err == EIDRM || err == EINVAL) && removed != nullptr) *removed = true;
    if (err == EAGAIN) {
      return absl::UnavailableError(absl::StrCat("timed out after ", absl::FormatDuration(timeout),
                                                 " waiting for the store-wide lock (semaphore id ",
                                                 sem_id, ", last used by pid ", SemLastPid(sem_id),
                                                 "); if that process is stuck, stop it"));
    }
    return SemError(sem_id, err, "waiting for it");
  }
}

void SemUnlock(int sem_id) {
  sembuf op = {0, 1, SEM_UNDO};
  while (semop(sem_id, &op, 1) != 0 && errno == EINTR) {
  }
}

absl::Status SemRemove(int sem_id) {
  if (semctl(sem_id, 0, IPC_RMID) == 0) return absl::OkStatus();
  int err = errno;
  if (err == EINVAL || err == EIDRM) return absl::OkStatus();
  if (err == EPERM) {
    return absl::PermissionDeniedError(
        absl::StrCat("only the owner, creator or root may remove semaphore set id ", sem_id));
  }
  return absl::InternalError(absl::StrCat("semctl(IPC_RMID) on id ", sem_id, ": ", Errno(err)));
}

pid_t SemLastPid(int sem_id) { return semctl(sem_id, 0, GETPID); }

absl::StatusOr<SemStat> SemStatus(int sem_id) {
  semid_ds ds;
  if (semctl(sem_id, 0, IPC_STAT, &ds) != 0) {
    const int err = errno;
    if (err == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat("no permission to inspect semaphore set id ", sem_id, " (see ipcs -s)"));
    }
    if (err == EINVAL || err == EIDRM) {
      return absl::NotFoundError(absl::StrCat("semaphore set id ", sem_id, " no longer exists"));
    }
    return absl::InternalError(
        absl::StrCat("semctl(IPC_STAT) on semaphore set id ", sem_id, ": ", Errno(err)));
  }
  SemStat st;
  st.owner_uid = ds.sem_perm.uid;
  st.creator_uid = ds.sem_perm.cuid;
  st.mode = ds.sem_perm.mode & 0777;
  return st;
}

}  // namespace shmkv::platform
