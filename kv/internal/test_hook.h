// The switch of every test hook (tests/README.md, "Test hooks"):
// SHMKV_TEST_HOOK(statement) is the statement in the testonly *_test_hooks
// twins of the store's libraries (test_hooks.bzl defines SHMKV_TEST_HOOKS
// there) and nothing at all in production builds: no call, no branch, no
// symbol, at any optimisation level.
#ifndef SHMKV_KV_INTERNAL_TEST_HOOK_H_
#define SHMKV_KV_INTERNAL_TEST_HOOK_H_

#ifdef SHMKV_TEST_HOOKS
#define SHMKV_TEST_HOOK(...) __VA_ARGS__
#else
#define SHMKV_TEST_HOOK(...) static_cast<void>(0)
#endif

#endif  // SHMKV_KV_INTERNAL_TEST_HOOK_H_
