// ipc_guard: the IPC guard (guard.h) as a program, for tests that are not
// GoogleTest binaries (shell scripts), and the key allocator for them.
//
//   ipc_guard -- PROGRAM ARGS...   run PROGRAM under the guard; exits with
//                                  its status (1 if it left IPC objects or
//                                  processes behind)
//   ipc_guard keys N OWNER         print N keys of the current run's range,
//                                  one a line, recorded as taken by OWNER
//   ipc_guard leaks BEFORE         list the segments and semaphore sets that
//                                  are not in BEFORE (tools/ipc_snapshot.sh's
//                                  output) and belong to no running test;
//                                  exit 1 if there are any
//   ipc_guard sweep                remove what guards that died (SIGKILLed,
//                                  so they could not clean up) left in the
//                                  test key ranges: their tests' segments and
//                                  semaphore sets, then their claims
#include <errno.h>
#include <stdlib.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "testing/guard.h"
#include "testing/key_range.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: ipc_guard -- PROGRAM ARGS...\n"
               "       ipc_guard keys N OWNER\n"
               "       ipc_guard leaks BEFORE\n"
               "       ipc_guard sweep\n");
  return 2;
}

int PrintKeys(const char* count_text, const char* owner) {
  int count = 0;
  if (!absl::SimpleAtoi(count_text, &count) || count <= 0) return Usage();
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<key_t> key = shmkv::testguard::AllocateTestKey(owner);
    if (!key.ok()) {
      std::fprintf(stderr, "ipc_guard: %s\n", key.status().ToString().c_str());
      return 1;
    }
    std::printf("%s\n", shmkv::testguard::KeyHex(*key).c_str());
  }
  return 0;
}

// What appeared since `before_path` was written and is not held by a test
// that is still running (another run of the test command, side by side).
int ReportLeaks(const char* before_path) {
  std::ifstream in(before_path);
  if (!in) {
    std::fprintf(stderr, "ipc_guard: cannot read %s\n", before_path);
    return 2;
  }
  std::set<std::pair<bool, int>> before;
  std::string kind, key_field, id_field;
  while (in >> kind >> key_field >> id_field) {
    int id = 0;
    if (absl::SimpleAtoi(absl::StripPrefix(id_field, "id="), &id))
      before.insert({kind == "shm", id});
  }
  int leaks = 0;
  for (const shmkv::testguard::IpcObject& o : shmkv::testguard::ListIpcObjects()) {
    if (before.count({o.is_segment, o.id}) != 0 || o.removed) continue;
    const bool test_key = shmkv::testguard::IsTestKey(o.key);
    if (test_key && shmkv::testguard::ClaimIsLive(o.key)) continue;
    std::printf("%s at key %s (id %d)%s\n",
                o.is_segment ? "shared-memory segment" : "semaphore set",
                shmkv::testguard::KeyHex(o.key).c_str(), o.id,
                test_key ? ": in a test key range whose guard is gone" : "");
    ++leaks;
  }
  return leaks == 0 ? 0 : 1;
}

// Leftovers of dead guards: objects in a test key range whose claim is not
// live. Members go before claims, so that a range is claimable again only
// once it is empty.
int Sweep() {
  std::vector<shmkv::testguard::IpcObject> objects = shmkv::testguard::ListIpcObjects();
  std::stable_partition(objects.begin(), objects.end(),
                        [](const shmkv::testguard::IpcObject& o) { return (o.key & 0xff) != 0; });
  for (const shmkv::testguard::IpcObject& o : objects) {
    if (!shmkv::testguard::IsTestKey(o.key) || o.removed) continue;
    if (shmkv::testguard::ClaimIsLive(o.key)) continue;
    const char* what = o.is_segment ? "shared-memory segment" : "semaphore set";
    const int rc = o.is_segment ? shmctl(o.id, IPC_RMID, nullptr) : semctl(o.id, 0, IPC_RMID);
    if (rc == 0) {
      std::printf("ipc_guard: removed the %s at key %s (id %d) that a dead guard's run left\n",
                  what, shmkv::testguard::KeyHex(o.key).c_str(), o.id);
    } else if (errno != EINVAL && errno != EIDRM) {  // not already gone
      std::fprintf(stderr, "ipc_guard: cannot remove the %s at key %s (id %d): %s\n", what,
                   shmkv::testguard::KeyHex(o.key).c_str(), o.id, std::strerror(errno));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "keys") == 0) return PrintKeys(argv[2], argv[3]);
  if (argc == 3 && std::strcmp(argv[1], "leaks") == 0) return ReportLeaks(argv[2]);
  if (argc == 2 && std::strcmp(argv[1], "sweep") == 0) return Sweep();
  if (argc < 3 || std::strcmp(argv[1], "--") != 0) return Usage();
  const char* target = getenv("TEST_TARGET");
  shmkv::testguard::RunChildUnderGuard(target != nullptr ? target : argv[2]);
  execvp(argv[2], argv + 2);
  std::fprintf(stderr, "ipc_guard: cannot run %s: %s\n", argv[2], std::strerror(errno));
  return 127;
}
