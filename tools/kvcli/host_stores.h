// The segments of the host as kvcli ls and kvcli serve describe them: each
// classified, and each shmkv store among them opened only to read its Info
// and Stats (and whatever else the caller reads while it is open).
#ifndef SHMKV_TOOLS_KVCLI_HOST_STORES_H_
#define SHMKV_TOOLS_KVCLI_HOST_STORES_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "shmkv/admin.h"
#include "shmkv/store.h"

namespace shmkv {
namespace kvcli {

struct Row {
  SegmentInfo segment;
  bool is_store = false;
  // Stores:
  std::string name;
  uint64_t capacity = 0;
  bool items_known = false;
  uint64_t items = 0;
  // Stores: ok, semaphore_missing, removed. Others: not_shmkv,
  // permission_denied, private, incompatible, error, gone.
  std::string status;
  std::string detail;
};

// Classifies `segment`. A shmkv store is opened with OpenMode::kAttach,
// allow_foreign_owner and `lock_timeout`; `read_more` runs on it (status ok)
// before it is closed again. Status "gone": removed while looking.
Row Inspect(const SegmentInfo& segment, absl::Duration lock_timeout,
            absl::FunctionRef<void(Store&, const StoreInfo&, Row&)> read_more);
Row Inspect(const SegmentInfo& segment, absl::Duration lock_timeout);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_HOST_STORES_H_
