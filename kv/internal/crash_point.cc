// The crash points' switch, linked only into the *_test_hooks twins of the
// store's libraries (see crash_point.h).
#include "kv/internal/crash_point.h"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace shmkv::internal {
namespace {

std::atomic<const char*> armed{nullptr};
std::atomic<int> remaining{0};

}  // namespace

void ArmCrashPoint(const char* name, int skip) {
  remaining.store(skip);
  armed.store(name);
}

void CrashPoint(const char* name) {
  const char* target = armed.load();
  if (target == nullptr || std::strcmp(target, name) != 0) return;
  if (remaining.fetch_sub(1) > 0) return;
  _exit(kCrashPointExit);
}

}  // namespace shmkv::internal
