#include "tests/allocation_hook.h"

#include <cstdlib>
#include <new>

namespace shmkv::testutil {
namespace {

thread_local AllocationHook hook = nullptr;

void* Allocate(std::size_t size) {
  if (hook != nullptr) hook();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

}  // namespace

void SetAllocationHook(AllocationHook h) { hook = h; }

}  // namespace shmkv::testutil

void* operator new(std::size_t size) { return shmkv::testutil::Allocate(size); }
void* operator new[](std::size_t size) { return shmkv::testutil::Allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
