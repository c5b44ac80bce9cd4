// The C API: walks in pages (shmkv_scan) and bulk deletes
// (shmkv_delete_matching).
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kv/c/c_api.h"

using namespace shmkv::c_api;  // NOLINT: this file implements the C API over them

namespace {

// The selection shared by both calls; false (after reporting) for bad input.
bool Selection(const void* prefix, size_t prefix_size, const char* match,
               shmkv::ScanOptions* options, shmkv_error* err) {
  absl::string_view p;
  if (!Bytes(prefix, prefix_size, "prefix", &p, err)) return false;
  options->prefix = std::string(p);
  if (match != nullptr) options->match = match;
  return true;
}

}  // namespace

extern "C" {

shmkv_status shmkv_scan(shmkv_store* store, uint64_t cursor, size_t count, const void* prefix,
                        size_t prefix_size, const char* match, int with_values,
                        shmkv_visit_fn visit, void* context, uint64_t* next_cursor,
                        shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    shmkv::ScanOptions options;
    if (!Selection(prefix, prefix_size, match, &options, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (visit == nullptr) return InvalidArgument("visit is NULL", err);
    if (next_cursor == nullptr) {
      return InvalidArgument("next_cursor is NULL: it receives the cursor of the next page", err);
    }
    options.with_values = with_values != 0;
    absl::StatusOr<uint64_t> next = store->store->Scan(
        cursor, count, options,
        [&](absl::string_view key, absl::string_view value, const shmkv::EntryMeta& meta) {
          shmkv_meta m;
          FillMeta(meta, &m);
          (void)visit(context, key.data(), key.size(), options.with_values ? value.data() : nullptr,
                      value.size(), &m);
        });
    if (!next.ok()) return Report(next.status(), err);
    *next_cursor = *next;
    return SHMKV_OK;
  });
}

shmkv_status shmkv_delete_matching(shmkv_store* store, const void* prefix, size_t prefix_size,
                                   const char* match, uint64_t* removed, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    shmkv::ScanOptions options;
    if (!Selection(prefix, prefix_size, match, &options, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (options.prefix.empty() && options.match.empty()) {
      return InvalidArgument(
          "no prefix and no match select every entry; use shmkv_flush to delete everything", err);
    }
    absl::StatusOr<uint64_t> n = store->store->DeleteMatching(options);
    if (!n.ok()) return Report(n.status(), err);
    if (removed != nullptr) *removed = *n;
    return SHMKV_OK;
  });
}

}  // extern "C"
