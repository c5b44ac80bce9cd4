#include "bench/engine/backend.h"

#include "absl/strings/str_cat.h"

namespace shmkv {
namespace bench {

void Client::GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) {
  for (size_t i = 0; i < keys.size(); ++i) results[i] = Get(keys[i], &batch_value_);
}

void Client::PutBatch(absl::Span<const absl::string_view> keys,
                      absl::Span<const absl::string_view> values, absl::Span<OpResult> results) {
  for (size_t i = 0; i < keys.size(); ++i) results[i] = Put(keys[i], values[i]);
}

absl::Status Backend::Preload(const Workload& workload, const ProgressFn& progress) {
  auto client = NewClient();
  if (!client.ok()) return client.status();
  const uint64_t n = workload.num_keys();
  KeyBuffer key(workload.config());
  for (uint64_t i = 0; i < n; ++i) {
    if ((*client)->Put(key.Of(i), workload.Value(workload.PreloadValueSize(i))) ==
        OpResult::kError) {
      return absl::InternalError(absl::StrCat("preload put: ", (*client)->LastError()));
    }
    if ((i & 4095) == 0 && !progress(i, n)) return absl::CancelledError("interrupted");
  }
  progress(n, n);
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace shmkv
