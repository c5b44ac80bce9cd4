// A Redis primary found through Redis Sentinel: the address form, the
// question every client asks the sentinels (SENTINEL get-master-addr-by-name)
// and the check that the server named is a primary (ROLE). Shared by kvsync
// and NearCache; not a public API of shmkv.
//
// A primary under Sentinel is named by
// "sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME" everywhere a Redis address
// is accepted: the sentinels (any one that answers is enough) and the name
// they monitor the primary under.
#ifndef SHMKV_KV_NEAR_SENTINEL_H_
#define SHMKV_KV_NEAR_SENTINEL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/near/redis_client.h"

namespace shmkv::near {

inline constexpr char kSentinelScheme[] = "sentinel:";
// The channel on which every sentinel announces a failover's outcome:
// "<master name> <old ip> <old port> <new ip> <new port>".
inline constexpr char kSwitchMasterChannel[] = "+switch-master";
// The channel on which a sentinel announces that it starts a failover (to
// lead it, or to try to be elected its leader), before any replica is
// promoted: "master <master name> <ip> <port>".
inline constexpr char kTryFailoverChannel[] = "+try-failover";

// Put before a read script under Sentinel: a server that is not a primary
// (one demoted since the reader connected, its announcement not yet heard)
// refuses the script with a READONLY error, which the reader takes as it
// takes a refused write: it asks the sentinels again. GET alone would be
// answered by a replica, and the reader would fill from it.
inline constexpr char kPrimaryOnlyScript[] =
    "if not string.find(redis.call('INFO', 'replication'), 'role:master', 1, true) then "
    "return redis.error_reply('READONLY this Redis is not a primary: a failover is under way') "
    "end ";

struct SentinelTarget {
  std::vector<RedisAddress> sentinels;  // TCP
  std::string master;                   // the name the sentinels monitor it under
  // "sentinel:127.0.0.1:26379,127.0.0.1:26380/mymaster".
  std::string ToString() const;
};

// Whether `text` names a primary under Sentinel ("sentinel:...").
bool IsSentinelTarget(absl::string_view text);

// Parses "sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME". InvalidArgument
// says the expected form.
absl::StatusOr<SentinelTarget> ParseSentinelTarget(absl::string_view text);

// The primary `sentinel` names for `master` (SENTINEL
// get-master-addr-by-name), over a connection of its own. Unavailable,
// naming the sentinel, when it cannot be asked or does not know the name.
absl::StatusOr<RedisAddress> AskSentinel(const RedisAddress& sentinel, absl::string_view master,
                                         absl::Duration timeout);

// OK when the server `connection` reached answers ROLE as a primary
// ("master"); Unavailable, saying what it is, otherwise (a replica, a
// sentinel, a server that did not answer).
absl::Status CheckPrimaryRole(RedisConnection& connection);

// Whether `reply`, read on a connection subscribed to +switch-master, is a
// switch of `master`; `*description` then says from where to where, and
// `*to` (when given) is the new primary's host and port.
bool IsSwitchOf(const RedisReply& reply, absl::string_view master, std::string* description,
                RedisAddress* to = nullptr);

// Whether `reply`, read on a connection subscribed to +try-failover, is the
// start of a failover of `master`; `*description` then names its primary.
bool IsFailoverStartOf(const RedisReply& reply, absl::string_view master, std::string* description);

// Whether a SENTINEL MASTER reply's flags include failover_in_progress.
// Unavailable, naming `who`, when the reply is not a master's fields.
absl::StatusOr<bool> HasFailoverInProgress(const RedisReply& master, absl::string_view who);

// Whether `sentinel` is failing over `master` now: SENTINEL MASTER's flags
// say failover_in_progress from its +try-failover until the failover ends
// (the switch, or an abort). Only that sentinel knows; the others learn of
// the outcome. Unavailable, naming the sentinel, when it cannot be asked.
absl::StatusOr<bool> FailoverUnderWay(const RedisAddress& sentinel, absl::string_view master,
                                      absl::Duration timeout);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_SENTINEL_H_
