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
// switch of `master`; `*description` then says from where to where.
bool IsSwitchOf(const RedisReply& reply, absl::string_view master, std::string* description);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_SENTINEL_H_
