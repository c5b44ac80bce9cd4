// The C API: status names, options, opening, closing and destroying stores.
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/c/c_api.h"

using namespace shmkv::c_api;  // NOLINT: this file implements the C API over them

namespace {

using shmkv::Store;

shmkv_status Open(absl::StatusOr<shmkv::StoreName> name, const shmkv_options* options, int mode,
                  shmkv_store** store, shmkv_error* err) {
  if (store == nullptr) return InvalidArgument("store is NULL: it receives the handle", err);
  *store = nullptr;
  if (!name.ok()) return Report(name.status(), err);
  shmkv::OpenMode open_mode;
  switch (mode) {
    case SHMKV_CREATE:
      open_mode = shmkv::OpenMode::kCreate;
      break;
    case SHMKV_ATTACH:
      open_mode = shmkv::OpenMode::kAttach;
      break;
    case SHMKV_OPEN_OR_CREATE:
      open_mode = shmkv::OpenMode::kOpenOrCreate;
      break;
    default:
      return InvalidArgument(
          absl::StrCat("open mode ", static_cast<int>(mode),
                       " is not one of SHMKV_CREATE, SHMKV_ATTACH, SHMKV_OPEN_OR_CREATE"),
          err);
  }
  const shmkv::Options defaults;
  absl::StatusOr<std::unique_ptr<Store>> opened =
      Store::Open(*name, options != nullptr ? options->options : defaults, open_mode);
  if (!opened.ok()) return Report(opened.status(), err);
  *store = new shmkv_store{*std::move(opened)};
  return SHMKV_OK;
}
}  // namespace

extern "C" {

const char* shmkv_status_name(int status) {
  if (status == SHMKV_BUFFER_TOO_SMALL) return "BUFFER_TOO_SMALL";
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS"};
  if (status < 0 || status >= static_cast<int>(sizeof kNames / sizeof kNames[0])) {
    return "UNKNOWN_STATUS";
  }
  return kNames[status];
}

const char* shmkv_version(void) { return SHMKV_VERSION_STRING; }

shmkv_options* shmkv_options_create(void) { return new (std::nothrow) shmkv_options(); }
void shmkv_options_destroy(shmkv_options* options) { delete options; }

#define SHMKV_OPTION_SETTER(name, type, field, convert)           \
  void shmkv_options_set_##name(shmkv_options* options, type v) { \
    if (options != nullptr) options->options.field = convert;     \
  }
SHMKV_OPTION_SETTER(capacity, uint64_t, capacity_bytes, static_cast<size_t>(v))
SHMKV_OPTION_SETTER(expected_items, uint64_t, expected_items, static_cast<size_t>(v))
SHMKV_OPTION_SETTER(mode, int, mode, v)
SHMKV_OPTION_SETTER(max_key_size, uint64_t, max_key_size, static_cast<size_t>(v))
SHMKV_OPTION_SETTER(max_value_size, uint64_t, max_value_size, static_cast<size_t>(v))
SHMKV_OPTION_SETTER(lock_stripes, uint32_t, lock_stripes, v)
SHMKV_OPTION_SETTER(evict, int, evict, v != 0)
SHMKV_OPTION_SETTER(default_ttl, double, default_ttl,
                    v > 0 && !std::isnan(v) ? absl::Seconds(v) : absl::ZeroDuration())
SHMKV_OPTION_SETTER(huge_pages, int, huge_pages, v != 0)
SHMKV_OPTION_SETTER(populate, int, populate, v != 0)
SHMKV_OPTION_SETTER(lock_timeout, double, lock_timeout,
                    v > 0 && !std::isnan(v) ? absl::Seconds(v) : absl::ZeroDuration())
SHMKV_OPTION_SETTER(allow_foreign_owner, int, allow_foreign_owner, v != 0)
SHMKV_OPTION_SETTER(require_persistence, int, require_persistence, v != 0)
#undef SHMKV_OPTION_SETTER

shmkv_status shmkv_open_key(key_t key, const shmkv_options* options, int mode, shmkv_store** store,
                            shmkv_error* err) {
  return Guarded(err,
                 [&] { return Open(shmkv::StoreName::FromKey(key), options, mode, store, err); });
}

shmkv_status shmkv_open_path(const char* path, int proj_id, const shmkv_options* options, int mode,
                             shmkv_store** store, shmkv_error* err) {
  return Guarded(err, [&] {
    if (path == nullptr) {
      if (store != nullptr) *store = nullptr;
      return InvalidArgument("path is NULL", err);
    }
    return Open(shmkv::StoreName::FromPath(path, proj_id), options, mode, store, err);
  });
}

void shmkv_close(shmkv_store** store) {
  if (store == nullptr) return;
  delete *store;
  *store = nullptr;
}

shmkv_status shmkv_destroy_key(key_t key, shmkv_error* err) {
  return Guarded(err, [&] {
    absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::FromKey(key);
    if (!name.ok()) return Report(name.status(), err);
    return Report(Store::Destroy(*name), err);
  });
}

shmkv_status shmkv_destroy_path(const char* path, int proj_id, shmkv_error* err) {
  return Guarded(err, [&] {
    if (path == nullptr) return InvalidArgument("path is NULL", err);
    absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::FromPath(path, proj_id);
    if (!name.ok()) return Report(name.status(), err);
    return Report(Store::Destroy(*name), err);
  });
}
}  // extern "C"
