// Which Redis Cluster primary serves which slot (kv/near/key_slot.h), as
// the cluster itself reports it (CLUSTER SLOTS), and the redirections a node
// answers with when a client asked the wrong one (MOVED, ASK). Shared by
// kvsync and NearCache; not a public API of shmkv.
//
// A cluster is named by "cluster:HOST:PORT[,HOST:PORT...]" everywhere a
// Redis address is accepted: the addresses are seeds, any one of which is
// enough to discover the rest.
#ifndef SHMKV_KV_NEAR_SLOT_MAP_H_
#define SHMKV_KV_NEAR_SLOT_MAP_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/near/redis_client.h"

namespace shmkv::near {

inline constexpr char kClusterScheme[] = "cluster:";

// Whether `text` names a cluster ("cluster:..."), not one server.
bool IsClusterTarget(absl::string_view text);

// Parses "cluster:HOST:PORT[,HOST:PORT...]" into its seed addresses (TCP
// only: cluster nodes announce TCP addresses). InvalidArgument says the
// expected form.
absl::StatusOr<std::vector<RedisAddress>> ParseClusterSeeds(absl::string_view text);

// One contiguous run of slots and the node that serves it.
struct SlotRange {
  int first = 0, last = 0;  // inclusive
  RedisAddress primary;
  std::vector<RedisAddress> replicas;
};

class SlotMap {
 public:
  SlotMap() = default;

  // From a CLUSTER SLOTS reply obtained from `asked` (a node announcing an
  // empty host is at `asked`'s host). Unavailable when the reply is not a
  // slot table, or leaves a slot unserved (the cluster is not ready).
  static absl::StatusOr<SlotMap> FromClusterSlots(const RedisReply& reply,
                                                  const RedisAddress& asked);

  // The primary serving `slot` (0..16383); nullptr when none does.
  const RedisAddress* PrimaryOf(int slot) const;
  // Every primary once, in the order of their first slot.
  std::vector<RedisAddress> Primaries() const;
  const std::vector<SlotRange>& ranges() const { return ranges_; }
  // "0-5460 127.0.0.1:7000; 5461-10922 ...": for logs and comparisons.
  std::string ToString() const;
  // Same slots served by the same primaries.
  bool SameRouting(const SlotMap& other) const { return ToString() == other.ToString(); }

 private:
  std::vector<SlotRange> ranges_;  // sorted by first slot
};

// Asks the seeds in turn for CLUSTER SLOTS and returns the first complete
// map. Unavailable, naming each seed's failure, when none gave one.
absl::StatusOr<SlotMap> DiscoverSlotMap(const std::vector<RedisAddress>& seeds,
                                        absl::Duration timeout);

// A node's answer that the key's slot is served elsewhere: "MOVED <slot>
// <host:port>" (for good: refresh the map) or "ASK <slot> <host:port>"
// (during a migration: send that one command to the target, after ASKING).
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  RedisAddress to;
};

// The redirect an error reply's text carries; nullopt for any other error.
std::optional<Redirect> ParseRedirect(absl::string_view error);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_SLOT_MAP_H_
