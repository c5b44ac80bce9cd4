#include "kv/platform/process.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kv/platform/ipc.h"

namespace shmkv::platform {
namespace {

std::atomic<pid_t> cached_pid{0};

void RefreshPid() { cached_pid.store(getpid(), std::memory_order_relaxed); }

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
