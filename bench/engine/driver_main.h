// main() of a driver: the workload flags and the driver's own, then the run.
#ifndef SHMKV_BENCH_ENGINE_DRIVER_MAIN_H_
#define SHMKV_BENCH_ENGINE_DRIVER_MAIN_H_

#include "absl/functional/function_ref.h"
#include "bench/engine/flags.h"
#include "bench/engine/workload_config.h"

namespace shmkv {
namespace bench {

// Parses `program`'s command line: the workload flags (AddWorkloadFlags,
// starting from `config`, the driver's defaults), then those `add_flags`
// adds; exits with the usage on --help or a bad flag. Then returns what
// `run` returns for the parsed workload: the process exit code (usually
// RunBenchmark's over the driver's backend; 2 for flags that parse but do not
// go together). The callbacks add_flags registers run while the line is
// parsed, after add_flags has returned: they capture `config` by value.
int DriverMain(int argc, char** argv, const char* program, const char* description,
               WorkloadConfig config,
               absl::FunctionRef<void(FlagSet* flags, WorkloadConfig* config)> add_flags,
               absl::FunctionRef<int(const WorkloadConfig& config)> run);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_DRIVER_MAIN_H_
