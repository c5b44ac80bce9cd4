#include "testing/key_range.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace shmkv {
namespace testguard {

std::string KeyHex(key_t key) { return absl::StrFormat("0x%08x", static_cast<uint32_t>(key)); }

bool IpcExistsAt(key_t key) {
  if (shmget(key, 0, 0) >= 0 || errno != ENOENT) return true;
  return semget(key, 0, 0) >= 0 || errno != ENOENT;
}

std::vector<IpcObject> ListIpcObjects() {
  std::vector<IpcObject> all;
  for (bool segment : {true, false}) {
    std::ifstream in(segment ? "/proc/sysvipc/shm" : "/proc/sysvipc/sem");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      long long key = 0;  // printed as a signed decimal
      int id = -1;
      unsigned perms = 0;  // octal; SHM_DEST marks a removed segment
      if (fields >> key >> id >> std::oct >> perms) {
        all.push_back({segment, id, static_cast<key_t>(key), segment && (perms & SHM_DEST) != 0});
      }
    }
  }
  return all;
}

bool IsTestKey(key_t key) { return (static_cast<uint32_t>(key) >> 24) == 0x5e; }

// How long a claim set may stay unmarked (created, its guard's first
// operation not yet done) before it counts as the leftover of a dead guard.
constexpr time_t kClaimGraceSeconds = 60;

bool ClaimIsLive(key_t key) {
  const key_t claim = static_cast<key_t>(static_cast<uint32_t>(key) & ~0xffu);
  const int id = semget(claim, 0, 0);
  if (id < 0) return false;
  const int guard_pid = semctl(id, 0, GETPID);
  if (guard_pid == 0) {
    // Created but not yet marked: a guard is claiming it right now, unless
    // that guard died in between, long ago.
    semid_ds ds = {};
    return semctl(id, 0, IPC_STAT, &ds) == 0 && time(nullptr) - ds.sem_ctime < kClaimGraceSeconds;
  }
  return guard_pid > 0 && (kill(guard_pid, 0) == 0 || errno == EPERM);
}

absl::StatusOr<KeyRange> RangeFromEnvironment() {
  const char* range = std::getenv(kRangeEnv);
  const char* log = std::getenv(kLogEnv);
  if (range == nullptr || log == nullptr || *log == '\0') {
    return absl::FailedPreconditionError(
        absl::StrCat("no test key range: ", kRangeEnv, " and ", kLogEnv,
                     " are unset; run the test under the IPC guard (bazel test does; by hand: "
                     "bazel-bin/testing/ipc_guard -- PROGRAM ARGS...)"));
  }
  uint32_t claim = 0;
  if (!absl::SimpleHexAtoi(range, &claim) || claim == 0 || (claim & 0xff) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(kRangeEnv, "=", range, " is not a range"));
  }
  KeyRange r;
  r.claim = static_cast<key_t>(claim);
  r.log_path = log;
  return r;
}

absl::StatusOr<key_t> AllocateTestKey(absl::string_view owner) {
  absl::StatusOr<KeyRange> range = RangeFromEnvironment();
  if (!range.ok()) return range.status();
  const int fd = open(range->log_path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key log ", range->log_path, ": ", std::strerror(errno)));
  }
  // The lock makes "count the keys handed out, pick the next free one,
  // record it" one step for every process of the run.
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = pread(fd, buf, sizeof buf, static_cast<off_t>(text.size()))) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  size_t handed_out = 0;
  for (char c : text) handed_out += c == '\n';
  constexpr int kUsable = kKeysPerRange - 1;
  absl::StatusOr<key_t> result = absl::ResourceExhaustedError(
      absl::StrCat("every key of the test range ", KeyHex(range->first()), "..",
                   KeyHex(range->last()), " is in use: a test keeps too many stores alive"));
  for (int i = 0; i < kUsable; ++i) {
    const key_t key = range->first() + static_cast<key_t>((handed_out + i) % kUsable);
    if (IpcExistsAt(key)) continue;
    std::string line = absl::StrCat(KeyHex(key), " ", owner, "\n");
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      result = absl::InternalError(absl::StrCat("key log: ", std::strerror(errno)));
    } else {
      result = key;
    }
    break;
  }
  close(fd);  // also releases the lock
  return result;
}

std::map<key_t, std::string> ReadKeyOwners(const std::string& log_path) {
  std::map<key_t, std::string> owners;
  std::ifstream in(log_path);
  std::string line;
  while (std::getline(in, line)) {
    std::pair<std::string, std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 1));
    uint32_t key = 0;
    if (absl::SimpleHexAtoi(parts.first, &key)) owners[static_cast<key_t>(key)] = parts.second;
  }
  return owners;
}

}  // namespace testguard
}  // namespace shmkv
