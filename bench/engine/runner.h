// The runner: preloads a system, starts its clients (forked processes, or
// threads for in-process systems), runs the warmup and the measured phase,
// and reports. It cleans up after itself, also on SIGINT and SIGTERM.
#ifndef SHMKV_BENCH_ENGINE_RUNNER_H_
#define SHMKV_BENCH_ENGINE_RUNNER_H_

#include "bench/engine/backend.h"
#include "bench/engine/workload_config.h"

namespace shmkv {
namespace bench {

// Runs the whole benchmark; returns the process exit code: 0, 1 when
// setup failed or any operation failed, 128+signal when interrupted.
int RunBenchmark(Backend* backend, const WorkloadConfig& config);

// Set by SIGINT/SIGTERM once RunBenchmark installed its handlers; backends
// check it in long loops of their own.
bool StopRequested();

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_RUNNER_H_
