// What both formats share: the record limits and telling the formats apart.
#include "kv/snapshot/snapshot.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace shmkv {

namespace fmt = snapshot_format;

absl::Status ValidateSnapshotRecord(const SnapshotRecord& record) {
  if (record.key.empty()) {
    return absl::InvalidArgumentError("snapshot record has an empty key");
  }
  if (record.key.size() > kMaxSnapshotKeySize) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot record key is ", record.key.size(),
                                                   " bytes; the maximum is ", kMaxSnapshotKeySize));
  }
  if (record.value.size() > kMaxSnapshotValueSize) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot record value is ", record.value.size(),
                                                   " bytes; the maximum is ",
                                                   kMaxSnapshotValueSize));
  }
  if (record.ttl_remaining_ms < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot record ttl_remaining_ms is ", record.ttl_remaining_ms,
                     "; it must be -1 (never expires) or at least 0"));
  }
  return absl::OkStatus();
}

SnapshotFormat DetectSnapshotFormat(absl::string_view head) {
  if (head.size() >= fmt::kMagicSize &&
      std::memcmp(head.data(), fmt::kMagic, fmt::kMagicSize) == 0) {
    return SnapshotFormat::kBinary;
  }
  for (const char c : head) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' ? SnapshotFormat::kJsonl : SnapshotFormat::kUnknown;
  }
  return SnapshotFormat::kJsonl;
}

}  // namespace shmkv
