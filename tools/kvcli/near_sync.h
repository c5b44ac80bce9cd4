// kvsync's sync record in a store (the near cache in front of Redis,
// doc/near_cache.md), as kvcli info and stats show it.
#ifndef SHMKV_TOOLS_KVCLI_NEAR_SYNC_H_
#define SHMKV_TOOLS_KVCLI_NEAR_SYNC_H_

#include <string>

#include "shmkv/store.h"
#include "tools/kvcli/json.h"

namespace shmkv {
namespace kvcli {

struct NearSyncView {
  bool present = false;  // a kvsync has run on this store
  std::string line;      // one line: phase, health, heartbeat age, counters
  std::string json;      // a JSON object, or null when absent
};

// Reads the record. A record that does not parse is shown as such.
NearSyncView DescribeNearSync(Store& store);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_NEAR_SYNC_H_
