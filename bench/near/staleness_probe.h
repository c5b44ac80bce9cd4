// near_bench's staleness probe (W6): how long a write made elsewhere leaves
// this host's store serving the old value.
#ifndef SHMKV_BENCH_NEAR_STALENESS_PROBE_H_
#define SHMKV_BENCH_NEAR_STALENESS_PROBE_H_

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "bench/near/redis_target.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace bench {

// Staleness on this host after a write made elsewhere (another host, or a
// writer not using this store): one probe every --probe-interval, on keys of
// its own under the workload's prefix that nothing else touches. Each probe
// fills its key through a NearCache, checks that the store holds it, sends
// a plain SET to Redis (what NearCache::Set on another host sends; its local
// delete happens on that host's store) and polls this store until kvsync
// has deleted the entry. Staleness is from the SET being sent (an upper
// bound: it includes the request's trip to Redis) and, as a lower bound,
// from its reply, which may come after the delete (then 0). The poll
// yields the CPU between looks (Store::Contains, well under a microsecond).
class StalenessProbe {
 public:
  struct Result {
    std::vector<uint64_t> from_send_ns, from_ack_ns;
    uint64_t skipped = 0, timeouts = 0, redis_sets = 0, redis_gets = 0;
    std::string error;
  };

  // `redis` is what the NearCache reads through; the SETs go, as a plain
  // client's, to the primary of `target` that serves the key.
  void Start(const StoreName& name, const std::string& redis, const RedisTarget& target,
             const std::string& prefix, absl::Duration interval, std::string value) {
    thread_ = std::thread([this, name, redis, target, prefix, interval, v = std::move(value)] {
      Run(name, redis, target, prefix, interval, v);
    });
  }
  // Stops and joins the thread; returns what it measured.
  Result Stop() {
    if (thread_.joinable()) {
      stop_.Notify();
      thread_.join();
    }
    return std::move(result_);
  }
  ~StalenessProbe() { Stop(); }

 private:
  void Run(const StoreName& name, const std::string& redis, const RedisTarget& target,
           const std::string& prefix, absl::Duration interval, const std::string& value);
  bool Set(redisContext* c, absl::string_view key, absl::string_view value);
  void Probe(Store* store, near::NearCache* cache, redisContext* writer, const std::string& key,
             const std::string& value);

  std::thread thread_;
  absl::Notification stop_;
  Result result_;
};

// The p-th percentile of `ns`, in microseconds (0 when empty).
double PercentileUs(std::vector<uint64_t> ns, double p);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_NEAR_STALENESS_PROBE_H_
