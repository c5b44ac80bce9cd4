#include "bench/near/staleness_probe.h"

#include <sched.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/peers/redis_peer.h"
#include "kv/platform/monotonic_clock.h"

namespace shmkv {
namespace bench {

void StalenessProbe::Run(const StoreName& name, const std::string& redis, const RedisTarget& target,
                         const std::string& prefix, absl::Duration interval,
                         const std::string& value) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(name, Options(), OpenMode::kAttach);
  if (!store.ok()) {
    result_.error = absl::StrCat("probe: ", store.status().ToString());
    return;
  }
  near::NearCacheOptions options;
  options.redis = redis;
  absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
      near::NearCache::Create(store->get(), options);
  absl::StatusOr<std::vector<RedisContextPtr>> writers = target.ConnectAll();
  if (!cache.ok() || !writers.ok()) {
    result_.error =
        absl::StrCat("probe: ", (cache.ok() ? writers.status() : cache.status()).ToString());
    return;
  }
  const auto writer = [&](const std::string& key) {
    return (*writers)[target.PrimaryOf(key)].get();
  };
  constexpr int kKeys = 16;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(absl::StrCat(prefix, "probe:", i));
    if (!Set(writer(keys.back()), keys.back(), value)) return;
  }
  // Let kvsync apply the invalidations of those first SETs.
  if (stop_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) return;
  for (uint64_t n = 0;; ++n) {
    const std::string& key = keys[n % kKeys];
    Probe(store->get(), cache->get(), writer(key), key, value);
    if (!result_.error.empty()) break;
    if (stop_.WaitForNotificationWithTimeout(interval)) break;
  }
  result_.redis_gets = (*cache)->Stats().redis_reads;
}

bool StalenessProbe::Set(redisContext* c, absl::string_view key, absl::string_view value) {
  ++result_.redis_sets;
  absl::StatusOr<RedisReplyPtr> r = RedisRun(c, {"SET", key, value});
  if (!r.ok()) result_.error = absl::StrCat("probe SET: ", r.status().ToString());
  return r.ok();
}

void StalenessProbe::Probe(Store* store, near::NearCache* cache, redisContext* writer,
                           const std::string& key, const std::string& value) {
  near::ReadInfo info;
  absl::StatusOr<std::string> v = cache->Get(key, &info);
  if (!v.ok() || info.path == near::ReadPath::kDirect) {  // kvsync not serving now
    ++result_.skipped;
    return;
  }
  absl::StatusOr<bool> held = store->Contains(key);
  if (!held.ok() || !*held) {  // a late invalidation took it already
    ++result_.skipped;
    return;
  }
  const uint64_t t0 = platform::MonotonicNanos();
  if (!Set(writer, key, value)) return;
  const uint64_t ack = platform::MonotonicNanos();
  for (;;) {
    held = store->Contains(key);
    const uint64_t now = platform::MonotonicNanos();
    if (held.ok() && !*held) {
      result_.from_send_ns.push_back(now - t0);
      result_.from_ack_ns.push_back(now > ack ? now - ack : 0);
      return;
    }
    if (now - t0 > 2000000000ULL) {  // no invalidation within 2 s
      ++result_.timeouts;
      return;
    }
    sched_yield();
  }
}

double PercentileUs(std::vector<uint64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100 * static_cast<double>(v.size()));
  if (i >= v.size()) i = v.size() - 1;
  return static_cast<double>(v[i]) / 1e3;
}

}  // namespace bench
}  // namespace shmkv
