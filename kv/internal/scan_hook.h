// A test-only hook into the chunked walk behind Store::Scan, ForEach and
// DeleteMatching: it reports how long each chunk held its stripe lock, so a
// benchmark can show the longest hold. Not part of the public API; nothing
// in the library sets it.
#ifndef SHMKV_KV_INTERNAL_SCAN_HOOK_H_
#define SHMKV_KV_INTERNAL_SCAN_HOOK_H_

#include <cstdint>

namespace shmkv::internal {

// Called (from the walking thread, after the lock is released) with the
// nanoseconds from taking a chunk's stripe lock to letting it go: on
// CLOCK_MONOTONIC (what other processes wait, preemption included) and on
// the thread's CPU clock (the work done in the hold). nullptr (the default)
// turns the measuring off.
using ScanHoldObserver = void (*)(uint64_t hold_ns, uint64_t cpu_ns);
void SetScanHoldObserver(ScanHoldObserver observer);

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_SCAN_HOOK_H_
