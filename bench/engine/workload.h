// The load generator shared by kvbench (bench/kvbench.cc) and the drivers
// in bench/peers/ and bench/near/, in one include. Its parts, in the order a run uses them:
//
//   driver_main.h      a driver's main(): the flags, then the run
//   flags.h            the command line (FlagSet; counts; sizes and durations
//                      come from kv/util/parse.h)
//   workload_config.h  what a run does (WorkloadConfig) and its flags
//   rng.h, zipf.h      random numbers and the zipf key distribution
//   keys_values.h      the keys, values and operation stream every system gets
//   backend.h          how a system plugs in (Backend, Client)
//   runner.h           RunBenchmark: preload, clients, warmup, measurement
//   prefault.h         clients map in the shared pages that exist
//   histogram.h        the latency histogram
//   report.h           the progress line and the report
//
// Nothing in the measured loop allocates: keys are formatted into one buffer
// per thread, values are views of one pattern buffer made before the fork,
// and Get fills a std::string the thread reuses.
#ifndef SHMKV_BENCH_ENGINE_WORKLOAD_H_
#define SHMKV_BENCH_ENGINE_WORKLOAD_H_

#include "bench/engine/backend.h"          // IWYU pragma: export
#include "bench/engine/driver_main.h"      // IWYU pragma: export
#include "bench/engine/flags.h"            // IWYU pragma: export
#include "bench/engine/histogram.h"        // IWYU pragma: export
#include "bench/engine/keys_values.h"      // IWYU pragma: export
#include "bench/engine/prefault.h"         // IWYU pragma: export
#include "bench/engine/report.h"           // IWYU pragma: export
#include "bench/engine/rng.h"              // IWYU pragma: export
#include "bench/engine/runner.h"           // IWYU pragma: export
#include "bench/engine/workload_config.h"  // IWYU pragma: export
#include "bench/engine/zipf.h"             // IWYU pragma: export

#endif  // SHMKV_BENCH_ENGINE_WORKLOAD_H_
