// The connections of one reader to Redis: one server, or every primary of
// a Redis Cluster it has needed so far, each command sent to the primary
// that serves its key's slot (kv/near/slot_map.h). Follows MOVED (reads the
// slot map again, then sends once more) and ASK (ASKING, then the command,
// once, to the node named), and counts both. Fork-aware: a connection
// opened by another process (before a fork()) is dropped without sending
// anything on it, and a new one opened. Each connection knows the run_id of
// the server it reached. Not thread-safe; not a public API of shmkv.
#ifndef SHMKV_KV_NEAR_REDIS_ROUTER_H_
#define SHMKV_KV_NEAR_REDIS_ROUTER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/near/redis_client.h"
#include "kv/near/slot_map.h"

namespace shmkv::near {

class RedisRouter {
 public:
  // `target`: "unix:/path", "host:port" or "cluster:HOST:PORT[,...]".
  // InvalidArgument for a bad address. Connects nothing yet.
  static absl::StatusOr<std::unique_ptr<RedisRouter>> Create(absl::string_view target,
                                                             absl::Duration timeout);

  // The normalised target ("cluster:..." for a cluster).
  const std::string& target() const { return target_; }
  bool cluster() const { return !seeds_.empty(); }

  struct Answer {
    RedisReply reply;
    std::string run_id;  // of the server that answered
  };
  // Sends `argv` to the server of `key` and returns its answer. An
  // idempotent command goes once more on a new connection after an I/O
  // error on one that had worked before (Redis may have restarted).
  absl::StatusOr<Answer> Command(const std::vector<std::string>& argv, absl::string_view key,
                                 bool idempotent);
  // The run_id of the server that serves `key`, connecting if needed; valid
  // until the router's next call.
  absl::StatusOr<absl::string_view> ServerOf(absl::string_view key);

  // Drops the slot map: the next command reads it again.
  void ForgetSlotMap() { slot_map_.reset(); }

  // MOVED and ASK answers followed so far.
  uint64_t redirects() const { return redirects_; }
  // Connections that failed to open or broke.
  uint64_t errors() const { return errors_; }

 private:
  struct Link {
    std::unique_ptr<RedisConnection> connection;
    pid_t pid = 0;  // the process that opened it
    std::string run_id;
  };
  RedisRouter(std::string target, RedisAddress server, std::vector<RedisAddress> seeds,
              absl::Duration timeout);
  // The address that serves `key` (reading the slot map when none is held).
  absl::StatusOr<const RedisAddress*> Route(absl::string_view key);
  // An open connection of this process to `address`; `fresh` says it was
  // opened now.
  absl::StatusOr<Link*> Connect(const RedisAddress& address, bool* fresh);
  absl::StatusOr<Answer> Send(const RedisAddress& address, const std::vector<std::string>& argv,
                              bool idempotent, bool asking);
  // After `unreachable` failed a command for `key`: in a cluster, drops the
  // slot map and reads it again (the node may have been failed over);
  // whether the new map names another node for `key`.
  bool MovedOn(const RedisAddress& unreachable, absl::string_view key);

  const std::string target_;
  const RedisAddress server_;              // one server (no seeds)
  const std::vector<RedisAddress> seeds_;  // a cluster
  const absl::Duration timeout_;
  std::unique_ptr<SlotMap> slot_map_;  // none until first needed
  std::map<std::string, Link> links_;  // by address
  uint64_t redirects_ = 0, errors_ = 0;
};

// Whether `run_id` is one of the comma-separated run_ids of `tracked` (the
// record kvsync writes: one server's, or every primary's of a cluster).
bool RunIdTracked(absl::string_view tracked, absl::string_view run_id);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_REDIS_ROUTER_H_
