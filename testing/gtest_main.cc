// main() of every GoogleTest binary of shmkv: the tests run in a child of the
// IPC guard (guard.h), so a test that dies leaves no System V object behind.
#include <stdlib.h>

#include "gtest/gtest.h"
#include "testing/guard.h"

int main(int argc, char** argv) {
  const char* target = getenv("TEST_TARGET");
  shmkv::testguard::RunChildUnderGuard(target != nullptr ? target : argv[0]);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
