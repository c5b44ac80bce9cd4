// The scan-hold hook's observer and the measuring of one hold for it: in
// //kv/internal:test_hooks only (scan_hold_meter.h).
#include "kv/internal/scan_hold_meter.h"

#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "kv/internal/scan_hook.h"
#include "kv/platform/monotonic_clock.h"

namespace shmkv::internal {
namespace {

std::atomic<ScanHoldObserver> hold_observer{nullptr};
std::atomic<ScanHoldStartObserver> hold_start_observer{nullptr};

uint64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

rusage ThreadUsage() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage;
}

}  // namespace

void SetScanHoldObserver(ScanHoldObserver observer, ScanHoldStartObserver on_lock_taken) {
  hold_start_observer.store(on_lock_taken);
  hold_observer.store(observer);
}

ScanHoldMeter::ScanHoldMeter()
    : observer_(hold_observer.load(std::memory_order_relaxed)),
      on_lock_taken_(observer_ != nullptr ? hold_start_observer.load(std::memory_order_relaxed)
                                          : nullptr) {}

// The getrusage calls stay outside the timed span, so they add nothing to
// the times reported (they do lengthen the real hold by a microsecond or so).
void ScanHoldMeter::Start() {
  if (observer_ == nullptr) return;
  if (on_lock_taken_ != nullptr) on_lock_taken_();
  usage_before_ = ThreadUsage();
  wall_start_ = uint64_t(platform::MonotonicNanos());
  cpu_start_ = ThreadCpuNanos();
}

void ScanHoldMeter::WorkDone() {
  if (observer_ == nullptr) return;
  hold_.cpu_ns = ThreadCpuNanos() - cpu_start_;
}

void ScanHoldMeter::Report(uint64_t stripe, uint64_t first_home_slot, uint64_t entries) {
  if (observer_ == nullptr) return;
  hold_.start_ns = wall_start_;
  hold_.wall_ns = uint64_t(platform::MonotonicNanos()) - wall_start_;
  const rusage after = ThreadUsage();
  hold_.minor_faults = uint64_t(after.ru_minflt - usage_before_.ru_minflt);
  hold_.major_faults = uint64_t(after.ru_majflt - usage_before_.ru_majflt);
  hold_.preemptions = uint64_t(after.ru_nivcsw - usage_before_.ru_nivcsw);
  hold_.stripe = stripe;
  hold_.first_home_slot = first_home_slot;
  hold_.entries = entries;
  observer_(hold_);
}

}  // namespace shmkv::internal
