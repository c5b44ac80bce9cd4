#include "kv/platform/process.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kv/platform/ipc.h"

namespace shmkv::platform {
namespace {

std::atomic<pid_t> cached_pid{0};
void RefreshPid() { cached_pid.store(getpid(), std::memory_order_relaxed); }

// What /proc/PID/stat says of a process: its state (field 3; 0 when it
// cannot be read) and its start time (field 22, clock ticks after boot; 0
// when it cannot be read). Field 2, the command name, may hold spaces and
// parentheses: the fields after it start after its last ')'.
struct ProcStat {
  char state = 0;
  uint64_t start_time = 0;
};
// `process` is a pid or "self" (this process, whatever namespace /proc
// shows).
ProcStat StatOf(const std::string& process) {
  ProcStat result;
  std::ifstream in(absl::StrCat("/proc/", process, "/stat"));
  std::string stat;
  if (!std::getline(in, stat)) return result;
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return result;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 1), ' ', absl::SkipEmpty());
  if (!fields.empty() && fields[0].size() == 1) result.state = fields[0][0];
  // Fields 3, 4, ... follow the ')': field 22 is the 20th of them.
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &result.start_time)) {
    result.start_time = 0;
  }
  return result;
}

ProcStat StatOf(pid_t pid) { return StatOf(absl::StrCat(pid)); }

// The inode of /proc/PROCESS/ns/pid; 0 when it cannot be read.
uint64_t PidNamespaceOf(const std::string& process) {
  struct stat st;
  if (stat(absl::StrCat("/proc/", process, "/ns/pid").c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// The last RemoveIPC= setting in a logind configuration file, or "".
std::string RemoveIpcSetting(const std::string& path) {
  std::ifstream in(path);
  std::string line, value;
  while (std::getline(in, line)) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(text, "RemoveIPC=")) {
      value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(10)));
    }
  }
  return value;
}

// Whether a process named systemd-logind runs (one that /proc shows this
// user). Its program being installed is not enough: containers carry it
// without running it, and only a running logind removes IPC objects.
bool LogindRuns() {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return false;
  bool found = false;
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    std::ifstream comm(absl::StrCat("/proc/", entry->d_name, "/comm"));
    std::string name;
    if (std::getline(comm, name) && name == "systemd-logind") {
      found = true;
      break;
    }
  }
  closedir(proc);
  return found;
}

}  // namespace

pid_t CurrentPid() {
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid != 0) return pid;
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, RefreshPid);
    return true;
  }();
  (void)registered;
  RefreshPid();
  return cached_pid.load(std::memory_order_relaxed);
}

bool ProcessExists(pid_t pid) {
  if (pid <= 0) return false;
  return kill(pid, 0) == 0 || errno != ESRCH;
}

// Whether /proc shows this process's PID namespace (/proc/self is our pid):
// only then does /proc/PID tell of the process we call PID. Set with
// CurrentIdentity.
thread_local bool proc_shows_our_pids = true;

const ProcessIdentity& CurrentIdentity() {
  // Per thread, so no lock; a fork child's first call sees a new pid.
  static thread_local ProcessIdentity id;
  static thread_local pid_t id_pid = 0;
  const pid_t pid = CurrentPid();
  if (id_pid != pid) {
    // Read through /proc/self: a /proc mounted for another PID namespace
    // (a process in a new namespace that kept its parent's /proc) shows
    // another process at /proc/PID.
    id.pid = pid;
    id.start_time = StatOf(std::string("self")).start_time;
    id.pid_namespace = PidNamespaceOf("self");
    id_pid = pid;
    char link[32] = {};
    proc_shows_our_pids = readlink("/proc/self", link, sizeof(link) - 1) > 0 &&
                          std::string(link) == absl::StrCat(pid);
  }
  return id;
}

Liveness LivenessOf(const ProcessIdentity& id) {
  const ProcessIdentity& self = CurrentIdentity();
  if (id.pid_namespace != 0 && self.pid_namespace != 0 && id.pid_namespace != self.pid_namespace) {
    return Liveness::kUnknown;
  }
  if (!proc_shows_our_pids) return Liveness::kUnknown;
  if (!ProcessExists(id.pid)) return Liveness::kDead;
  // A zombie (killed, not yet waited for by its parent) keeps its pid but
  // runs no more: 'Z', or 'X' while it is being reaped.
  const ProcStat now = StatOf(id.pid);
  if (now.state == 'Z' || now.state == 'X') return Liveness::kDead;
  if (id.start_time == 0) return Liveness::kAlive;  // nothing more to compare
  if (now.start_time == 0) return ProcessExists(id.pid) ? Liveness::kAlive : Liveness::kDead;
  return now.start_time == id.start_time ? Liveness::kAlive : Liveness::kDead;
}

const std::string& BootId() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    if (!std::getline(in, line)) return std::string();
    return std::string(absl::StripAsciiWhitespace(line));
  }();
  return id;
}

std::vector<std::string> PersistenceWarnings(uid_t owner_uid) {
  std::vector<std::string> warnings;
  if (ReadKernelSetting("shm_rmid_forced") == "1") {
    warnings.push_back(
        "kernel.shm_rmid_forced = 1: the kernel removes a segment when its last process detaches, "
        "so stores do not persist between processes; set it to 0 (sysctl -w "
        "kernel.shm_rmid_forced=0)");
  }
  // systemd-logind removes a non-system user's IPC objects when the user's
  // last session ends, unless RemoveIPC=no. Root and system users are exempt.
  if (owner_uid >= 1000 && LogindRuns()) {
    std::string setting = RemoveIpcSetting("/etc/systemd/logind.conf");
    if (setting != "no") {
      warnings.push_back(absl::StrCat(
          "systemd-logind's RemoveIPC is ", setting.empty() ? "yes (the default)" : setting,
          ": the store of uid ", owner_uid,
          " is removed when that user's last login session ends; set RemoveIPC=no in "
          "/etc/systemd/logind.conf or run the owner as a system user"));
    }
  }
  return warnings;
}

}  // namespace shmkv::platform
