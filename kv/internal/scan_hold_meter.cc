// The test-only scan hook's observer and the measuring of one hold for it.
#include "kv/internal/scan_hold_meter.h"

#include <sys/resource.h>
#include <time.h>

#include <atomic>
#include <cstdint>

#include "kv/internal/scan_hook.h"

namespace shmkv::internal {
namespace {

std::atomic<ScanHoldObserver> hold_observer{nullptr};
std::atomic<ScanHoldStartObserver> hold_start_observer{nullptr};

uint64_t Nanos(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
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
  wall_start_ = Nanos(CLOCK_MONOTONIC);
  cpu_start_ = Nanos(CLOCK_THREAD_CPUTIME_ID);
}

void ScanHoldMeter::WorkDone() {
  if (observer_ == nullptr) return;
  hold_.cpu_ns = Nanos(CLOCK_THREAD_CPUTIME_ID) - cpu_start_;
}

void ScanHoldMeter::Report(uint64_t stripe, uint64_t first_home_slot, uint64_t entries) {
  if (observer_ == nullptr) return;
  hold_.start_ns = wall_start_;
  hold_.wall_ns = Nanos(CLOCK_MONOTONIC) - wall_start_;
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
