#include "shmkv/store.h"

namespace shmkv {

absl::Status Store::Add(absl::string_view key, absl::string_view value, WriteOptions options) {
  options.condition = WriteCondition::kIfAbsent;
  return Put(key, value, options);
}

absl::Status Store::Replace(absl::string_view key, absl::string_view value, WriteOptions options) {
  options.condition = WriteCondition::kIfPresent;
  return Put(key, value, options);
}

absl::Status Store::CompareAndSwap(absl::string_view key, uint64_t expected_version,
                                   absl::string_view value, WriteOptions options,
                                   uint64_t* version) {
  options.condition = WriteCondition::kIfVersion;
  options.expected_version = expected_version;
  return Put(key, value, options, version);
}

absl::StatusOr<std::string> Store::GetOrCompute(
    absl::string_view key, absl::FunctionRef<absl::StatusOr<std::string>()> compute,
    const GetOrComputeOptions& options) {
  return GetOrCompute(
      key, [&](absl::Duration*) { return compute(); }, options);
}

absl::Status Store::ForEach(
    absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) {
  ScanOptions options;
  options.prefix = std::string(prefix);
  options.with_values = true;
  return Walk(options, fn);
}

absl::StatusOr<uint64_t> Store::DeletePrefix(absl::string_view prefix) {
  ScanOptions options;
  options.prefix = std::string(prefix);
  return DeleteMatching(options);
}

}  // namespace shmkv
