// The C API: status names, options, opening, closing and destroying stores.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
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

static_assert(std::is_same<key_t, shmkv_key_t>::value, "shmkv_key_t must be key_t");

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
  if (options != nullptr && !options->default_ttl_error.empty()) {
    return InvalidArgument(options->default_ttl_error, err);
  }
  const shmkv::Options defaults;
  absl::StatusOr<std::unique_ptr<Store>> opened =
      Store::Open(*name, options != nullptr ? options->options : defaults, open_mode);
  if (!opened.ok()) return Report(opened.status(), err);
  *store = new shmkv_store{*std::move(opened)};
  return SHMKV_OK;
}
// Keeps a closed handle for good (shmkv_store in c_api.h says why): on a
// list, so that leak checkers see it is still referenced.
void KeepClosed(shmkv_store* store) {
  static std::atomic<shmkv_store*> closed{nullptr};
  shmkv_store* head = closed.load(std::memory_order_relaxed);
  do {
    store->next_closed = head;
  } while (!closed.compare_exchange_weak(head, store, std::memory_order_release,
                                         std::memory_order_relaxed));
}

}  // namespace

extern "C" {

const char* shmkv_status_name(int status) {
  if (status == SHMKV_BUFFER_TOO_SMALL) return "BUFFER_TOO_SMALL";
  if (status == SHMKV_STORE_DESTROYED) return "STORE_DESTROYED";
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
SHMKV_OPTION_SETTER(huge_pages, int, huge_pages, v != 0)
SHMKV_OPTION_SETTER(populate, int, populate, v != 0)
SHMKV_OPTION_SETTER(lock_timeout, double, lock_timeout,
                    v > 0 && !std::isnan(v) ? absl::Seconds(v) : absl::ZeroDuration())
SHMKV_OPTION_SETTER(allow_foreign_owner, int, allow_foreign_owner, v != 0)
SHMKV_OPTION_SETTER(require_persistence, int, require_persistence, v != 0)
#undef SHMKV_OPTION_SETTER

void shmkv_options_set_default_ttl(shmkv_options* options, double seconds) {
  if (options == nullptr) return;
  options->default_ttl_error.clear();
  if (seconds == 0 || seconds == SHMKV_TTL_NEVER) {
    options->options.default_ttl = absl::ZeroDuration();
  } else if (!PositiveTtl(seconds, &options->options.default_ttl)) {
    options->default_ttl_error = absl::StrCat(
        "shmkv_options_set_default_ttl(", seconds,
        "): not a TTL; give seconds > 0, or 0 or SHMKV_TTL_NEVER for entries that never expire");
  }
}

void shmkv_close(shmkv_store** store) {
  if (store == nullptr) return;
  // Two threads closing one variable: one of them gets the handle.
  shmkv_store* s = __atomic_exchange_n(store, nullptr, __ATOMIC_ACQ_REL);
  if (s == nullptr) return;
  const uint64_t before = s->state.fetch_or(1, std::memory_order_acq_rel);
  if ((before & 1) != 0) return;  // closed already, through a copy of the handle
  if (before == 0 && !s->detached.exchange(true, std::memory_order_acq_rel)) s->store.reset();
  KeepClosed(s);
}

shmkv_status shmkv_open_key(shmkv_key_t key, const shmkv_options* options, int mode,
                            shmkv_store** store, shmkv_error* err) {
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

shmkv_status shmkv_destroy_key(shmkv_key_t key, shmkv_error* err) {
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
