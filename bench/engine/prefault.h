// Prefaulting: a fresh client process maps in the shared pages that exist.
#ifndef SHMKV_BENCH_ENGINE_PREFAULT_H_
#define SHMKV_BENCH_ENGINE_PREFAULT_H_

#include <cstdint>

namespace shmkv {
namespace bench {

// Maps in every resident page of this process's shared file mappings
// (System V segments and /dev/shm files; mincore() finds the pages that exist,
// so holes are not allocated). Returns the number of bytes mapped in.
uint64_t PrefaultSharedMappings();

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_PREFAULT_H_
