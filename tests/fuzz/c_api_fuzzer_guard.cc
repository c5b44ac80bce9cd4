// The C API fuzzer's stores live at keys of an IPC guard's range: run the
// fuzzer under a guard, which removes whatever a crash leaves behind.
#include "testing/c_guard.h"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)argv;
  shmkv_test_run_under_guard("c_api_fuzzer");
  return 0;
}
