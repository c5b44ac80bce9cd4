// What the runner and its client threads share: one anonymous shared
// mapping (a Control, then one ThreadSlot per thread) that survives the fork,
// and the start gates.
#ifndef SHMKV_BENCH_ENGINE_RUN_CONTROL_H_
#define SHMKV_BENCH_ENGINE_RUN_CONTROL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/engine/histogram.h"

namespace shmkv {
namespace bench {

// The phase of a run, set by the runner in Control::phase.
enum Phase : int { kWait = 0, kWarmup = 1, kMeasure = 2, kStop = 3 };

// One client thread's results, written by that thread: `progress` during the
// run, the rest when it ends.
struct alignas(64) ThreadSlot {
  std::atomic<uint64_t> progress{0};  // ops so far, all phases (for the progress line)
  alignas(64) uint64_t ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  uint64_t start_ns = 0, end_ns = 0;
  char error[200] = {};
  Histogram hist;
};

// The state of the whole run: its phase, and how many threads finished or failed.
struct Control {
  alignas(64) std::atomic<int> phase{kWait};
  alignas(64) std::atomic<int> finished{0};
  std::atomic<int> failed{0};
  std::atomic<int> fail_lock{0};
  char fail_message[400] = {};
};

// Records the first failure's message (later ones are only counted).
void RecordFailure(Control* ctl, const std::string& message);

// Start gates: pipes rather than polling, so that the system calls of a run
// do not depend on how long anything took (see the syscall count in
// bench/README.md). Each client thread writes one byte to `ready` once
// connected, then blocks reading one byte from `go`.
struct Gates {
  int ready[2] = {-1, -1};
  int go[2] = {-1, -1};
};

// Writes `n` bytes to `fd` (a gate's write end), retrying after signals.
void WriteBytes(int fd, size_t n);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_RUN_CONTROL_H_
