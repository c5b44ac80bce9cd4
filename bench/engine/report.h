// What a run tells its user: the progress line while it runs, and the report
// at the end (human-readable, and one JSON line with --json).
#ifndef SHMKV_BENCH_ENGINE_REPORT_H_
#define SHMKV_BENCH_ENGINE_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "bench/engine/histogram.h"
#include "bench/engine/run_control.h"
#include "bench/engine/workload_config.h"

namespace shmkv {
namespace bench {

// Shortens a count for humans: 1234567 -> "1.23M".
std::string HumanCount(double v);

// Progress on stderr: a redrawn bar on a terminal, a line every 5 s otherwise.
class Progress {
 public:
  Progress(std::string label, bool quiet);
  ~Progress() { Clear(); }
  // `fraction` of `phase` done, at `rate` ops/s (0: unknown).
  void Show(absl::string_view phase, double fraction, double rate);
  // Erases the bar, if one is drawn.
  void Clear();

 private:
  std::string label_;
  bool quiet_, tty_;
  bool drawn_ = false;
  uint64_t last_ = 0;
};

// The measured phase of every client thread, summed.
struct RunTotals {
  Histogram latency;
  uint64_t ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  std::string first_error;       // of the first thread with errors
  std::vector<double> per_proc;  // ops/s of each process (or thread group)
  double seconds = 0;            // from the first thread's start to the last one's end
  double ops_per_sec = 0;
};

// Sums the slots of config.procs x config.threads threads (process-major).
RunTotals SumSlots(const ThreadSlot* slots, const WorkloadConfig& config);

// Prints the report to stdout, or to stderr with --json, followed then by the
// JSON line on stdout. `extra` are the backend's own fields (Backend::Describe).
void PrintReport(const std::string& label, const WorkloadConfig& config, const RunTotals& totals,
                 const std::vector<std::pair<std::string, std::string>>& extra);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_REPORT_H_
