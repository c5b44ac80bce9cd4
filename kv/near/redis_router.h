// The connections of one reader to Redis: one server, the primary the
// sentinels name (kv/near/sentinel.h), or every primary of a Redis Cluster
// it has needed so far, each command sent to the primary that serves its
// key's slot (kv/near/slot_map.h). Follows MOVED (reads the slot map again,
// then sends once more) and ASK (ASKING, then the command, once, to the node
// named), and counts both. Under Sentinel, a server is used only once it
// answers ROLE as a primary, and a connection error or a READONLY answer
// makes it ask the sentinels again. Fork-aware: a connection
// opened by another process (before a fork()) is dropped without sending
// anything on it, and a new one opened. Each connection knows the run_id of
// the server it reached. Not thread-safe; not a public API of shmkv.
#ifndef SHMKV_KV_NEAR_REDIS_ROUTER_H_
#define SHMKV_KV_NEAR_REDIS_ROUTER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "kv/near/redis_client.h"
#include "kv/near/sentinel.h"
#include "kv/near/slot_map.h"

namespace shmkv::near {

class RedisRouter {
 public:
  // `target`: "unix:/path", "host:port", "cluster:HOST:PORT[,...]" or
  // "sentinel:HOST:PORT[,...]/MASTERNAME". InvalidArgument for a bad
  // address. Connects nothing yet.
  static absl::StatusOr<std::unique_ptr<RedisRouter>> Create(absl::string_view target,
                                                             absl::Duration timeout);

  // The normalised target ("cluster:..." for a cluster, "sentinel:..."
  // under Sentinel).
  const std::string& target() const { return target_; }
  bool cluster() const { return !seeds_.empty(); }
  bool sentinel() const { return sentinel_.has_value(); }
  // Whether the server of a key may change under this router (a cluster's
  // slot map, the primary the sentinels name).
  bool routed() const { return cluster() || sentinel(); }

  struct Answer {
    RedisReply reply;
    std::string run_id;  // of the server that answered
  };
  // Sends `argv` to the server of `key` and returns its answer. An
  // idempotent command goes once more on a new connection after an I/O
  // error on one that had worked before (Redis may have restarted).
  absl::StatusOr<Answer> Command(const std::vector<std::string>& argv, absl::string_view key,
                                 bool idempotent);
  // Sends `commands` together to the one server of a router that is not
  // routed() (RedisConnection::Commands: one round trip, a kArray reply of
  // their replies), as Command sends one. FailedPrecondition when routed: a
  // redirect or a demoted primary answers each command of a batch on its
  // own, which Command's handling of one reply does not cover.
  absl::StatusOr<Answer> Commands(absl::Span<const std::vector<std::string>> commands,
                                  bool idempotent);
  // The run_id of the server that serves `key`, connecting if needed; valid
  // until the router's next call.
  absl::StatusOr<absl::string_view> ServerOf(absl::string_view key);

  // Drops the slot map, or the primary the sentinels named: the next
  // command reads it again.
  void ForgetRoutes() {
    slot_map_.reset();
    primary_.reset();
  }

  // MOVED and ASK answers followed so far (any thread may read them).
  uint64_t redirects() const { return redirects_.load(std::memory_order_relaxed); }
  // Connections that failed to open or broke, servers refused for their
  // role (any thread may read them).
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  struct Link {
    std::unique_ptr<RedisConnection> connection;
    pid_t pid = 0;  // the process that opened it
    std::string run_id;
  };
  // Links by address, ordered on its fields: a lookup builds no string.
  static bool SameAddress(const RedisAddress& a, const RedisAddress& b) {
    return a.port == b.port && a.unix_path == b.unix_path && a.host == b.host;
  }
  struct AddressLess {
    bool operator()(const RedisAddress& a, const RedisAddress& b) const {
      return std::tie(a.unix_path, a.host, a.port) < std::tie(b.unix_path, b.host, b.port);
    }
  };
  RedisRouter(std::string target, RedisAddress server, std::vector<RedisAddress> seeds,
              std::optional<SentinelTarget> sentinel, absl::Duration timeout);
  // The address that serves `key` (reading the slot map, or asking the
  // sentinels, when none is held).
  absl::StatusOr<const RedisAddress*> Route(absl::string_view key);
  // Asks each sentinel in turn for the primary and keeps the first one
  // named that answers ROLE as a primary.
  absl::Status ResolvePrimary();
  void CountError() { errors_.fetch_add(1, std::memory_order_relaxed); }
  // An open connection of this process to `address`; `fresh` says it was
  // opened now.
  absl::StatusOr<Link*> Connect(const RedisAddress& address, bool* fresh);
  absl::StatusOr<Answer> Send(const RedisAddress& address,
                              absl::Span<const std::vector<std::string>> commands, bool idempotent,
                              bool asking);
  // After `unreachable` failed a command for `key`: in a cluster, drops the
  // slot map and reads it again (the node may have been failed over);
  // whether the new map names another node for `key`.
  bool MovedOn(const RedisAddress& unreachable, absl::string_view key);
  // Under Sentinel, after `answer` to `argv`: a READONLY answer or a
  // connection error forgets the primary and asks the sentinels again.
  absl::StatusOr<Answer> FollowPrimary(absl::StatusOr<Answer> answer,
                                       const std::vector<std::string>& argv, absl::string_view key,
                                       bool idempotent);

  const std::string target_;
  const RedisAddress server_;              // one server (no seeds)
  const std::vector<RedisAddress> seeds_;  // a cluster
  const std::optional<SentinelTarget> sentinel_;
  const absl::Duration timeout_;
  std::unique_ptr<SlotMap> slot_map_;                // none until first needed
  std::optional<RedisAddress> primary_;              // the sentinels' answer, once asked
  std::map<RedisAddress, Link, AddressLess> links_;  // never erased from
  // The entry of links_ Connect used last (its node's key and value).
  const RedisAddress* last_address_ = nullptr;
  Link* last_link_ = nullptr;
  std::atomic<uint64_t> redirects_{0}, errors_{0};
};

// Whether `run_id` is one of the comma-separated run_ids of `tracked` (the
// record kvsync writes: one server's, or every primary's of a cluster).
bool RunIdTracked(absl::string_view tracked, absl::string_view run_id);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_REDIS_ROUTER_H_
