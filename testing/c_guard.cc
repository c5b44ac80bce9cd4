#include "testing/c_guard.h"

#include <cstdio>
#include <cstdlib>

#include "testing/guard.h"
#include "testing/key_range.h"

extern "C" {

void shmkv_test_run_under_guard(const char* label) { shmkv::testguard::RunChildUnderGuard(label); }

key_t shmkv_test_key(const char* owner) {
  absl::StatusOr<key_t> key = shmkv::testguard::AllocateTestKey(owner);
  if (!key.ok()) {
    std::fprintf(stderr, "shmkv_test_key: %s\n", key.status().ToString().c_str());
    std::exit(1);
  }
  return *key;
}

}  // extern "C"
