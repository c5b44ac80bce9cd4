#include "tools/kvcli/stop_signals.h"

#include <cstring>

#include "kv/util/sleep.h"
#include "shmkv/near/sync_state.h"

namespace shmkv {
namespace kvcli {
namespace {

volatile sig_atomic_t g_stop = 0;

void Stop(int) { g_stop = 1; }

}  // namespace

StopSignals::StopSignals() {
  g_stop = 0;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = Stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: sleeps end at once
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

bool StopSignals::stopped() const { return g_stop != 0; }

void StopSignals::SleepUnlessStopped(absl::Duration duration) const {
  // On CLOCK_MONOTONIC: a step of the wall clock neither ends the sleep
  // early nor stretches it.
  const absl::Duration deadline = absl::Nanoseconds(near::MonotonicNowNs()) + duration;
  while (!g_stop) {
    const absl::Duration left = deadline - absl::Nanoseconds(near::MonotonicNowNs());
    if (left <= absl::ZeroDuration()) return;
    util::SleepAtMost(left);
  }
}

}  // namespace kvcli
}  // namespace shmkv
