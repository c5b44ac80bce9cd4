// The Redis that near_bench (W6) runs against, as a plain client sees it:
// one server ("unix:PATH", "host:port"), the primaries of a Redis Cluster
// ("cluster:HOST:PORT[,...]": each key goes to the primary serving its
// slot), or the primary Redis Sentinel names
// ("sentinel:HOST:PORT[,...]/MASTERNAME"). The same text NearCache and
// kvsync take. Resolved once, before the run: the benchmark expects no
// failover or slot migration while it measures (a MOVED or READONLY answer
// is an error of the run).
#ifndef SHMKV_BENCH_NEAR_REDIS_TARGET_H_
#define SHMKV_BENCH_NEAR_REDIS_TARGET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/engine/backend.h"
#include "bench/engine/keys_values.h"
#include "bench/peers/redis_peer.h"

namespace shmkv {
namespace bench {

class RedisTarget {
 public:
  // Waits (up to about 10 s) until the server, every primary of the
  // cluster, or the primary the sentinels name answers PING.
  // InvalidArgument for text of none of the forms, saying which they are.
  static absl::StatusOr<RedisTarget> Resolve(const std::string& text);

  // The primaries ("host:port" or "unix:PATH"); one unless a cluster.
  const std::vector<std::string>& primaries() const { return primaries_; }
  // The index in primaries() of the one that serves `key`.
  size_t PrimaryOf(absl::string_view key) const;

  // One connection to each primary, in primaries()'s order.
  absl::StatusOr<std::vector<RedisContextPtr>> ConnectAll() const;
  // A client that sends one GET or SET per operation to the primary that
  // serves the key.
  absl::StatusOr<std::unique_ptr<Client>> NewGetSetClient() const;
  // SETs every key of the workload on the primary that serves it.
  absl::Status Preload(const Workload& workload, const ProgressFn& progress) const;
  // INFO commandstats' calls per command, summed over the primaries.
  absl::StatusOr<std::map<std::string, uint64_t>> CommandCalls() const;

 private:
  std::vector<std::string> primaries_;
  // Cluster only: the index in primaries_ of the primary of each slot.
  std::vector<uint16_t> slot_primary_;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_NEAR_REDIS_TARGET_H_
