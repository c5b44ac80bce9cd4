// What a run does: the workload's parameters, their flags, and their checks.
#ifndef SHMKV_BENCH_ENGINE_WORKLOAD_CONFIG_H_
#define SHMKV_BENCH_ENGINE_WORKLOAD_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bench/engine/flags.h"

namespace shmkv {
namespace bench {

struct WorkloadConfig {
  int procs = 1;
  int threads = 1;
  uint64_t keys = 100000;
  size_t key_size = 16;
  size_t value_min = 100, value_max = 100;  // uniform in [min, max]
  double read_pct = 95;                     // share of Get, the rest Put
  bool zipf = false;
  double zipf_theta = 0.99;
  // Keys per request: each Get or Put request carries this many keys
  // (Client::GetBatch / PutBatch); 1 is one key per call (Client::Get / Put).
  // Operations count keys; latencies are per request.
  int batch = 1;
  absl::Duration duration = absl::Seconds(10);
  uint64_t ops = 0;  // > 0: measure exactly this many ops in all, not a duration
  absl::Duration warmup = absl::Seconds(2);
  bool json = false;
  bool quiet = false;  // no progress output
  bool preload = true;
  // Before the run, each forked client maps in the pages of its shared
  // mappings (System V segments, /dev/shm files) that already exist, as a
  // long-running process would have: the run measures the steady state, not
  // first-touch page faults.
  bool prefault = true;
  std::string prefix = "kvb:";
  uint64_t seed = 42;
  // false: run procs * threads threads in this process (in-process systems).
  bool fork_processes = true;

  std::string ValueSizeText() const;  // "100" or "10-4000"
  std::string DistText() const;       // "uniform" or "zipf:0.99"
  double MeanValueSize() const { return (value_min + value_max) / 2.0; }
  // Bytes of keys plus values once every key is written at the mean size.
  double DataBytes() const { return keys * (key_size + MeanValueSize()); }
};

// The largest --batch.
inline constexpr int kMaxBatch = 1024;

// Registers --procs --threads --keys --key-size --value-size --read-pct
// --dist --batch --duration --ops --warmup --json --quiet --no-preload
// --no-prefault --prefix --seed. Validation happens in Validate().
void AddWorkloadFlags(FlagSet* flags, WorkloadConfig* config);
absl::Status Validate(const WorkloadConfig& config);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_WORKLOAD_CONFIG_H_
