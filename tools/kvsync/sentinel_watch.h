// kvsync's view of Redis Sentinel (doc/near_cache.md, "Sentinel"): one
// connection subscribed to +switch-master on each sentinel that answers,
// opened before the primary is asked for, so that no failover after the
// question goes unseen. A switch of the followed master, a sentinel
// connection lost, or a PING it leaves unanswered is a loss.
#ifndef SHMKV_TOOLS_KVSYNC_SENTINEL_WATCH_H_
#define SHMKV_TOOLS_KVSYNC_SENTINEL_WATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kv/near/redis_client.h"
#include "kv/near/sentinel.h"

namespace shmkv::kvsync {

class SentinelWatch {
 public:
  // Subscribes on every sentinel of `target` that answers. Unavailable,
  // naming each failure, when none does.
  static absl::StatusOr<SentinelWatch> Open(const near::SentinelTarget& target,
                                            absl::Duration timeout);

  // The primary the sentinels name for the master, once it answers ROLE as
  // a primary over `connect`'s connection (each sentinel asked in turn).
  // `connect` opens whatever the caller needs to that address and checks
  // its role.
  template <typename Connect>
  absl::Status FindPrimary(const Connect& connect) const;

  size_t size() const { return sentinels_.size(); }
  int fd(size_t i) const { return sentinels_[i].connection->fd(); }
  // Reads what arrived on sentinel `i`; a switch of the master, or the
  // connection lost, sets `*lost`.
  void Read(size_t i, std::string* lost);
  // At each heartbeat: a PING on every subscription, whose pong must come
  // back within `pong_timeout` (times on kvsync's clock).
  void Beat(absl::Duration now, absl::Duration pong_timeout, std::string* lost);

 private:
  struct Sentinel {
    std::unique_ptr<near::RedisConnection> connection;
    bool ping_outstanding = false;
    absl::Duration ping_sent;
  };
  near::SentinelTarget target_;
  absl::Duration timeout_;
  std::vector<Sentinel> sentinels_;
};

template <typename Connect>
absl::Status SentinelWatch::FindPrimary(const Connect& connect) const {
  std::string failures;
  for (const near::RedisAddress& s : target_.sentinels) {
    absl::StatusOr<near::RedisAddress> primary = near::AskSentinel(s, target_.master, timeout_);
    absl::Status tried = primary.ok() ? connect(*primary) : primary.status();
    if (tried.ok()) return tried;
    if (absl::IsFailedPrecondition(tried)) return tried;  // fatal, whoever named it
    failures += (failures.empty() ? "" : "; ") + std::string(tried.message());
  }
  return absl::UnavailableError("no sentinel named a primary that answers as one: " + failures);
}

}  // namespace shmkv::kvsync

#endif  // SHMKV_TOOLS_KVSYNC_SENTINEL_WATCH_H_
