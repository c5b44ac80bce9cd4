// Replaces the global operator new and delete of a test binary that links
// this library (tests/BUILD: allocation_hook): each allocation first calls
// the calling thread's hook, if one is set, which may count it or throw
// std::bad_alloc to make it fail. Nothing else changes: the memory comes
// from malloc.
#ifndef SHMKV_TESTS_ALLOCATION_HOOK_H_
#define SHMKV_TESTS_ALLOCATION_HOOK_H_

namespace shmkv::testutil {

using AllocationHook = void (*)();

// Sets the calling thread's hook (nullptr: none).
void SetAllocationHook(AllocationHook hook);

}  // namespace shmkv::testutil

#endif  // SHMKV_TESTS_ALLOCATION_HOOK_H_
