#include "testing/guard.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "testing/key_range.h"

namespace shmkv {
namespace testguard {
namespace {

volatile sig_atomic_t g_stop_signal = 0;

void OnStopSignal(int sig) { g_stop_signal = sig; }

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "ipc_guard: %s\n", message.c_str());
  std::fflush(stderr);
  _exit(1);
}

// Claims a free range: the semaphore set at its first key is created with
// IPC_EXCL, so no other run (of any user) can hold the same range.
std::pair<KeyRange, int> ClaimRange() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint32_t start =
      static_cast<uint32_t>(getpid()) * 2654435761u ^ static_cast<uint32_t>(now.tv_nsec);
  for (uint32_t i = 0; i < 0x10000; ++i) {
    const uint32_t slot = (start + i) & 0xffff;
    const key_t claim = static_cast<key_t>(0x5e000000u | (slot << 8));
    const int id = semget(claim, 1, IPC_CREAT | IPC_EXCL | 0600);
    if (id >= 0) {
      // One operation records this process as the set's last operator: the
      // mark by which ClaimIsLive tells a running guard from a dead one.
      sembuf op = {0, 1, 0};
      if (semop(id, &op, 1) != 0)
        Die(absl::StrCat("semop(", KeyHex(claim), "): ", strerror(errno)));
      KeyRange range;
      range.claim = claim;
      return {range, id};
    }
    if (errno != EEXIST) Die(absl::StrCat("semget(", KeyHex(claim), "): ", strerror(errno)));
  }
  Die("no free test key range in 0x5e000000..0x5effffff");
}

// Processes whose parent is this process (the guard is their subreaper, so
// orphans of the test land here), skipping zombies.
std::vector<pid_t> LiveChildren() {
  std::vector<pid_t> pids;
  const pid_t self = getpid();
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* e = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
    std::string stat;
    std::getline(in, stat);
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    char state = 0;
    int ppid = 0;
    if (rest >> state >> ppid && ppid == self && state != 'Z') pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

int StatusOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return 1;
}

// Waits for the test; a stop signal (bazel's timeout sends SIGTERM) kills it.
int WaitForTest(pid_t test) {
  bool killed = false;
  for (;;) {
    int wstatus = 0;
    const pid_t r = waitpid(test, &wstatus, 0);
    if (r == test) return StatusOf(wstatus);
    if (r < 0 && errno != EINTR) Die(absl::StrCat("waitpid: ", strerror(errno)));
    if (g_stop_signal != 0 && !killed) {
      std::fprintf(stderr, "ipc_guard: got signal %d (a test timeout?): killing the test\n",
                   static_cast<int>(g_stop_signal));
      kill(test, SIGKILL);
      killed = true;
    }
  }
}

// Kills and reaps whatever the test left running; returns how many there were.
// A process killed here may still be listed on the next pass (it has not
// finished dying: freeing a large address space takes a while), so each is
// counted once.
int KillLeftovers() {
  std::set<pid_t> killed;
  for (;;) {
    for (pid_t pid : LiveChildren()) {
      killed.insert(pid);
      kill(pid, SIGKILL);
    }
    int wstatus;
    const pid_t r = waitpid(-1, &wstatus, WNOHANG);
    if (r < 0 && errno == ECHILD) return static_cast<int>(killed.size());
    if (r == 0) usleep(5000);
  }
}

}  // namespace

void RunChildUnderGuard(const char* label) {
  std::fflush(stdout);
  std::fflush(stderr);
  auto [range, claim_id] = ClaimRange();

  std::set<std::pair<bool, int>> before;
  for (const IpcObject& o : ListIpcObjects()) {
    if (range.Contains(o.key)) before.insert({o.is_segment, o.id});
  }
  const char* tmp = getenv("TEST_TMPDIR");
  if (tmp == nullptr) tmp = getenv("TMPDIR");
  std::string log_path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/shmkv-test-keys.XXXXXX");
  const int log_fd = mkstemp(log_path.data());
  if (log_fd < 0) Die(absl::StrCat("mkstemp(", log_path, "): ", strerror(errno)));
  close(log_fd);
  range.log_path = log_path;
  setenv(kRangeEnv, KeyHex(range.claim).c_str(), 1);
  setenv(kLogEnv, log_path.c_str(), 1);

  prctl(PR_SET_CHILD_SUBREAPER, 1);
  struct sigaction stop = {};
  stop.sa_handler = OnStopSignal;  // no SA_RESTART: waitpid returns EINTR
  sigemptyset(&stop.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &stop, nullptr);

  const pid_t test = fork();
  if (test < 0) Die(absl::StrCat("fork: ", strerror(errno)));
  if (test == 0) {
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    return;
  }

  int status = WaitForTest(test);
  if (status > 128) {
    std::fprintf(stderr, "ipc_guard: %s: the test process was killed by signal %d (%s)\n", label,
                 status - 128, strsignal(status - 128));
  }
  bool dirty = false;
  if (int left = KillLeftovers(); left > 0) {
    std::fprintf(stderr, "ipc_guard: %s: the test left %d process%s running; killed\n", label, left,
                 left == 1 ? "" : "es");
    dirty = true;
  }
  const std::map<key_t, std::string> owners = ReadKeyOwners(log_path);
  for (const IpcObject& o : ListIpcObjects()) {
    if (!range.Contains(o.key) || before.count({o.is_segment, o.id}) != 0) continue;
    const bool removed =
        o.is_segment ? shmctl(o.id, IPC_RMID, nullptr) == 0 : semctl(o.id, 0, IPC_RMID) == 0;
    auto owner = owners.find(o.key);
    std::fprintf(stderr, "ipc_guard: %s: %s left a %s at key %s (id %d)%s\n", label,
                 owner == owners.end() ? "an unknown test" : ("test " + owner->second).c_str(),
                 o.is_segment ? "shared-memory segment" : "semaphore set", KeyHex(o.key).c_str(),
                 o.id, removed ? "; removed it" : "; could not remove it");
    dirty = true;
  }
  semctl(claim_id, 0, IPC_RMID);
  unlink(log_path.c_str());
  if (dirty && status == 0) status = 1;
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(status);
}

}  // namespace testguard
}  // namespace shmkv
