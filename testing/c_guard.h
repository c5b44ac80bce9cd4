/* The IPC guard and test keys for tests written in C. */
#ifndef SHMKV_TESTING_C_GUARD_H_
#define SHMKV_TESTING_C_GUARD_H_

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RunChildUnderGuard (guard.h): call first thing in main. */
void shmkv_test_run_under_guard(const char* label);
/* AllocateTestKey (key_range.h); prints the reason and exits 1 when there is
 * no key to give. */
key_t shmkv_test_key(const char* owner);

#ifdef __cplusplus
}
#endif

#endif /* SHMKV_TESTING_C_GUARD_H_ */
