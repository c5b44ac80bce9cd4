// A test hook into the chunked walk behind Store::Scan, ForEach and
// DeleteMatching: it reports how long each chunk held its stripe lock and
// what happened to the walking thread meanwhile, so a benchmark can show the
// longest hold and why it was long. Not part of the public API; nothing in
// the library sets it.
//
// Like every test hook (tests/README.md, "Test hooks") it exists only in the
// testonly *_test_hooks twins of the store's libraries (SHMKV_TEST_HOOKS):
// a program that calls SetScanHoldObserver links //kv:store_test_hooks
// (with //kv/internal:scan_hook), and production builds carry no trace of it.
#ifndef SHMKV_KV_INTERNAL_SCAN_HOOK_H_
#define SHMKV_KV_INTERNAL_SCAN_HOOK_H_

#include <cstdint>

namespace shmkv::internal {

// One chunk's hold of its stripe lock.
struct ScanHold {
  // Nanoseconds from taking the lock to letting it go: on CLOCK_MONOTONIC
  // (what other processes wait, preemption included) and on the thread's
  // CPU clock (the work done in the hold, plus whatever the kernel or the
  // hypervisor charged the thread meanwhile).
  uint64_t wall_ns = 0;
  uint64_t cpu_ns = 0;
  // When the hold began, on CLOCK_MONOTONIC: to line holds up with a kernel
  // trace (perf record -k CLOCK_MONOTONIC) of interrupts and faults.
  uint64_t start_ns = 0;
  // The walking thread's page faults and involuntary context switches during
  // the hold (getrusage(RUSAGE_THREAD) around it): a minor fault is a page
  // mapped in, a major one a page read from storage, and a switch means the
  // thread was preempted while holding the lock.
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  uint64_t preemptions = 0;
  // Where the chunk was (its stripe and first index home slot), and the
  // entries the hold copied out.
  uint64_t stripe = 0;
  uint64_t first_home_slot = 0;
  uint64_t entries = 0;
};

// `observer` is called from the walking thread after each chunk's lock is
// released, and `on_lock_taken` (optional) right after the lock is taken,
// before any of the chunk's work: a test can tell what the thread did in
// between. nullptr (the default) turns the measuring off; with an observer
// set, each hold also makes two getrusage calls, outside the timed span.
using ScanHoldObserver = void (*)(const ScanHold& hold);
using ScanHoldStartObserver = void (*)();
void SetScanHoldObserver(ScanHoldObserver observer, ScanHoldStartObserver on_lock_taken = nullptr);

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_SCAN_HOOK_H_
