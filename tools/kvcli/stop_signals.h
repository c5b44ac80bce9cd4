// SIGINT and SIGTERM as a request to end a loop (kvcli stats --watch) rather
// than the process, so the loop ends between two complete outputs.
#ifndef SHMKV_TOOLS_KVCLI_STOP_SIGNALS_H_
#define SHMKV_TOOLS_KVCLI_STOP_SIGNALS_H_

#include <signal.h>

#include "absl/time/time.h"

namespace shmkv {
namespace kvcli {

// Installs the handlers; the destructor restores the previous ones. One at a
// time per process (the flag the handler sets is process-wide).
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Whether SIGINT or SIGTERM arrived since construction.
  bool stopped() const;
  // Sleeps up to `duration`; returns early once a stop signal arrived.
  void SleepUnlessStopped(absl::Duration duration) const;

 private:
  struct sigaction old_int_;
  struct sigaction old_term_;
};

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_STOP_SIGNALS_H_
