// ipc_guard: the IPC guard (guard.h) as a program, for tests that are not
// GoogleTest binaries (shell scripts), and the key allocator for them.
//
//   ipc_guard -- PROGRAM ARGS...   run PROGRAM under the guard; exits with
//                                  its status (1 if it left IPC objects or
//                                  processes behind)
//   ipc_guard keys N OWNER         print N keys of the current run's range,
//                                  one a line, recorded as taken by OWNER
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "tests/ipc_guard/guard.h"
#include "tests/ipc_guard/key_range.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: ipc_guard -- PROGRAM ARGS...\n"
               "       ipc_guard keys N OWNER\n");
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "keys") == 0) return PrintKeys(argv[2], argv[3]);
  if (argc < 3 || std::strcmp(argv[1], "--") != 0) return Usage();
  const char* target = getenv("TEST_TARGET");
  shmkv::testguard::RunChildUnderGuard(target != nullptr ? target : argv[2]);
  execvp(argv[2], argv + 2);
  std::fprintf(stderr, "ipc_guard: cannot run %s: %s\n", argv[2], std::strerror(errno));
  return 127;
}
