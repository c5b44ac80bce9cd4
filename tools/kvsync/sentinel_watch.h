// kvsync's view of Redis Sentinel (doc/near_cache.md, "Sentinel"): one
// connection subscribed to +switch-master and +try-failover on each
// sentinel that answers, opened before the primary is asked for, so that no
// failover after the question goes unseen. The start of a failover of the
// followed master, its switch, a sentinel connection lost, or a PING it
// leaves unanswered is a loss; and no primary is followed while a sentinel
// says a failover is under way, as the replica it promotes takes writes
// before the switch is announced.
#ifndef SHMKV_TOOLS_KVSYNC_SENTINEL_WATCH_H_
#define SHMKV_TOOLS_KVSYNC_SENTINEL_WATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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
  // its role. Unavailable while any sentinel subscribed to is failing the
  // master over (one that did not answer Open is left out, as it is of the
  // subscriptions, rather than waited for once more).
  template <typename Connect>
  absl::Status FindPrimary(const Connect& connect);

  size_t size() const { return sentinels_.size(); }
  int fd(size_t i) const { return sentinels_[i].connection->fd(); }
  // Reads what arrived on sentinel `i`; a switch of the master, or the
  // connection lost, sets `*lost`. Each sentinel announces a failover as it
  // learns of it, seconds apart: a switch to the primary found (which
  // answered ROLE as a primary after the switch) is one already followed.
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
  near::RedisAddress primary_;  // FindPrimary's
};

template <typename Connect>
absl::Status SentinelWatch::FindPrimary(const Connect& connect) {
  for (const Sentinel& s : sentinels_) {
    const near::RedisAddress& address = s.connection->address();
    absl::StatusOr<bool> failing = near::FailoverUnderWay(address, target_.master, timeout_);
    if (failing.ok() && *failing) {
      return absl::UnavailableError(absl::StrCat("sentinel ", address.ToString(),
                                                 " is failing over ", target_.master,
                                                 ": synced once it ends"));
    }
  }
  std::string failures;
  for (const near::RedisAddress& s : target_.sentinels) {
    absl::StatusOr<near::RedisAddress> primary = near::AskSentinel(s, target_.master, timeout_);
    absl::Status tried = primary.ok() ? connect(*primary) : primary.status();
    if (tried.ok()) primary_ = *primary;
    if (tried.ok()) return tried;
    if (absl::IsFailedPrecondition(tried)) return tried;  // fatal, whoever named it
    failures += (failures.empty() ? "" : "; ") + std::string(tried.message());
  }
  return absl::UnavailableError("no sentinel named a primary that answers as one: " + failures);
}

}  // namespace shmkv::kvsync

#endif  // SHMKV_TOOLS_KVSYNC_SENTINEL_WATCH_H_
