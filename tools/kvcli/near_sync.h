// kvsync's sync record in a store (the near cache in front of Redis,
// doc/near_cache.md), as kvcli info and stats show it.
#ifndef SHMKV_TOOLS_KVCLI_NEAR_SYNC_H_
#define SHMKV_TOOLS_KVCLI_NEAR_SYNC_H_

#include <string>

#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"
#include "tools/kvcli/json.h"

namespace shmkv {
namespace kvcli {

struct NearSyncView {
  bool present = false;   // a kvsync has run on this store
  std::string line;       // one line: phase, health, heartbeat age, counters
  std::string json;       // a JSON object, or null when absent
  bool readable = false;  // the record parsed: state and health are set
  near::SyncState state;
  near::SyncHealth health;  // as readers with the default heartbeat timeout judge it
};

// Reads the record. A record that does not parse is shown as such.
NearSyncView DescribeNearSync(Store& store);

// When `key` is under a prefix that kvsync tracks in `store` (a near cache
// of Redis), what a plain write (`verb`: put, incr, touch) of it means, as a
// warning; "" otherwise. doc/near_cache.md, "Sharing a store".
std::string NearTrackedWriteWarning(Store& store, absl::string_view key, absl::string_view verb);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_NEAR_SYNC_H_
