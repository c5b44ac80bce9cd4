// How a system under test plugs into the runner: a Backend (one instance
// per run, created in the parent) that hands out a Client per thread.
#ifndef SHMKV_BENCH_ENGINE_BACKEND_H_
#define SHMKV_BENCH_ENGINE_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "bench/engine/keys_values.h"
#include "bench/engine/workload_config.h"

namespace shmkv {
namespace bench {

enum class OpResult { kHit, kMiss, kOk, kError };

// One thread's connection to the system under test. Get and Put must not
// allocate in steady state (beyond what the system itself does).
class Client {
 public:
  virtual ~Client() = default;
  // kHit (value filled) / kMiss / kError.
  virtual OpResult Get(absl::string_view key, std::string* value) = 0;
  // kOk / kError.
  virtual OpResult Put(absl::string_view key, absl::string_view value) = 0;

  // One request for all of `keys` (--batch): results[i] is what Get(keys[i])
  // would have returned; the values land in buffers the client owns and
  // reuses. results.size() == keys.size(). The default is a loop of Get;
  // systems with a multi-key request (one transaction, one lock, one round
  // trip) override it. Like Get, it must not allocate in steady state beyond
  // what the system itself does.
  virtual void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results);
  // One request writing values[i] at keys[i]: results[i] is kOk or kError.
  // The default is a loop of Put.
  virtual void PutBatch(absl::Span<const absl::string_view> keys,
                        absl::Span<const absl::string_view> values, absl::Span<OpResult> results);
  // What the last kError was.
  virtual std::string LastError() const = 0;

 private:
  std::string batch_value_;  // the default GetBatch's value buffer
};

// Progress callback for long setup steps: `done` of `total`; false = stop.
using ProgressFn = std::function<bool(uint64_t done, uint64_t total)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string Name() const = 0;
  // Parent, once, before anything else: create (or find) the instance.
  virtual absl::Status Create(const WorkloadConfig& config) = 0;
  // Attaches the calling process: each forked child calls it once; the parent
  // calls it for the preload and, without fork, for the run.
  virtual absl::Status Attach() = 0;
  // Called in each client thread, concurrently.
  virtual absl::StatusOr<std::unique_ptr<Client>> NewClient() = 0;
  // Drops this process's attachment (the parent calls it before forking).
  virtual void Detach() = 0;
  // Parent, attached: writes every key once. The default goes through one
  // Client; systems with a faster bulk path (batches, pipelining) override.
  virtual absl::Status Preload(const Workload& workload, const ProgressFn& progress);
  // Parent, detached, as the measured phase starts and once it has ended:
  // for counters read around it and for work alongside it (near_bench's
  // staleness probe). MeasureEnded follows MeasureStarted however the
  // measurement ends.
  virtual void MeasureStarted() {}
  virtual void MeasureEnded() {}
  // Parent, after the run, detached: extra report fields as JSON values
  // (numbers, or quoted strings) and a note for the human report.
  virtual void Describe(std::vector<std::pair<std::string, std::string>>* fields) { (void)fields; }
  // Parent, last (also after an interrupt): removes what Create made,
  // unless the instance was given from outside.
  virtual void Destroy() = 0;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_BACKEND_H_
