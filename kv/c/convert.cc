// The C API's conversions and argument checks (c_api.h).
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "kv/c/c_api.h"
#include "kv/util/advice_terms.h"

namespace shmkv::c_api {

shmkv_status CodeOf(const absl::Status& status) {
  if (IsStoreDestroyed(status)) return SHMKV_STORE_DESTROYED;
  return static_cast<shmkv_status>(static_cast<int>(status.code()));
}

namespace {

// The library's advice (open modes, Options fields, Store calls) in this
// API's terms: shmkv.h's modes, option setters and functions.
std::string InCTerms(absl::string_view message) {
  static const util::BindingTerms* const terms = [] {
    auto* t = new util::BindingTerms;
    t->create_store =
        "SHMKV_CREATE (or SHMKV_OPEN_OR_CREATE) and shmkv_options_set_capacity, e.g. 64 << 20";
    t->capacity_example = "shmkv_options_set_capacity(options, 64 << 20)";
    t->open_again = "open it again (SHMKV_OPEN_OR_CREATE or SHMKV_ATTACH)";
    t->open_to_replace = "open with SHMKV_CREATE or SHMKV_OPEN_OR_CREATE";
    t->capacity = "shmkv_options_set_capacity";
    t->max_value = "shmkv_options_set_max_value_size";
    t->max_key = "shmkv_options_set_max_key_size";
    t->items = "shmkv_options_set_expected_items";
    t->lock_timeout = "shmkv_options_set_lock_timeout";
    t->allow_foreign_owner = "shmkv_options_set_allow_foreign_owner";
    t->wait_timeout = "shmkv_compute_options.wait_timeout";
    t->lease_timeout = "shmkv_compute_options.lease_timeout";
    t->repair = "shmkv_check(store, 1, ...)";
    t->destroy = "shmkv_destroy_key (or shmkv_destroy_path)";
    t->near_options = "shmkv_near_options";
    t->fill_ttl = "shmkv_near_options_set_fill_ttl";
    t->heartbeat_timeout = "shmkv_near_options_set_heartbeat_timeout";
    t->redis_timeout = "shmkv_near_options_set_redis_timeout";
    t->sync_check_interval = "shmkv_near_options_set_sync_check_interval";
    return t;
  }();
  return util::InBindingTerms(message, *terms);
}

}  // namespace

shmkv_status Report(const absl::Status& status, shmkv_error* err) {
  const shmkv_status code = CodeOf(status);
  if (err != nullptr) {
    err->code = code;
    CopyText(InCTerms(status.message()), err->message);
  }
  return code;
}

shmkv_status Fail(shmkv_status code, absl::string_view message, shmkv_error* err) {
  if (err != nullptr) {
    err->code = code;
    CopyText(message, err->message);
  }
  return code;
}

shmkv_status InvalidArgument(absl::string_view message, shmkv_error* err) {
  return Fail(SHMKV_INVALID_ARGUMENT, message, err);
}

bool EnterStore(shmkv_store* store, shmkv_error* err) {
  if (store == nullptr) {
    InvalidArgument("the store handle is NULL (never opened, or closed)", err);
    return false;
  }
  if ((store->state.fetch_add(2, std::memory_order_acq_rel) & 1) != 0) {
    LeaveStore(store);
    InvalidArgument("the store handle was closed (shmkv_close): open the store again", err);
    return false;
  }
  return true;
}

void LeaveStore(shmkv_store* store) {
  // 3: this was the last call in flight, and the handle is closed.
  if (store->state.fetch_sub(2, std::memory_order_acq_rel) == 3 &&
      !store->detached.exchange(true, std::memory_order_acq_rel)) {
    store->store.reset();
  }
}

bool Bytes(const void* data, size_t size, const char* what, absl::string_view* out,
           shmkv_error* err) {
  if (data == nullptr && size != 0) {
    InvalidArgument(absl::StrCat(what, " is NULL but its size is ", size), err);
    return false;
  }
  if (size > static_cast<size_t>(PTRDIFF_MAX)) {
    InvalidArgument(absl::StrCat(what, " size ", size,
                                 " is larger than any object can be: pass the length in bytes"),
                    err);
    return false;
  }
  *out = size == 0 ? absl::string_view() : absl::string_view(static_cast<const char*>(data), size);
  return true;
}

bool PositiveTtl(double seconds, absl::Duration* out) {
  if (std::isnan(seconds) || seconds <= 0) return false;
  *out = TtlFromSeconds(seconds);
  return true;
}

bool Ttl(double seconds, absl::Duration* out, shmkv_error* err) {
  if (seconds == SHMKV_TTL_NEVER) {
    *out = absl::InfiniteDuration();
    return true;
  }
  if (seconds == 0) {
    *out = absl::ZeroDuration();
    return true;
  }
  if (!PositiveTtl(seconds, out)) {
    InvalidArgument(absl::StrCat("TTL ", seconds,
                                 " s is not valid: give seconds > 0, 0 for the store's default, or "
                                 "SHMKV_TTL_NEVER"),
                    err);
    return false;
  }
  return true;
}

// A timeout in seconds: > 0, or 0 for `fallback`.
bool Timeout(double seconds, absl::Duration fallback, const char* what, absl::Duration* out,
             shmkv_error* err) {
  if (std::isnan(seconds) || seconds < 0) {
    InvalidArgument(absl::StrCat(what, " ", seconds, " s is not valid: give seconds >= 0"), err);
    return false;
  }
  *out = seconds == 0 ? fallback : absl::Seconds(seconds);
  return true;
}

double Seconds(absl::Duration d) {
  return d == absl::InfiniteDuration() ? SHMKV_TTL_NEVER : absl::ToDoubleSeconds(d);
}

void FillMeta(const shmkv::EntryMeta& in, shmkv_meta* out) {
  if (out == nullptr) return;
  out->version = in.version;
  out->flags = in.flags;
  out->expires_at_ms = in.expires_at_ms;
  out->value_size = in.value_size;
  out->ttl_remaining = Seconds(in.ttl_remaining);
}

bool CheckStore(const shmkv_store* store, shmkv_error* err) {
  if (store != nullptr && (store->state.load(std::memory_order_acquire) & 1) == 0 &&
      store->store != nullptr) {
    return true;
  }
  InvalidArgument("the store handle is NULL (never opened, or closed)", err);
  return false;
}

// Copies `value` to the caller's buffer, or reports the size it needs.
shmkv_status CopyOut(absl::string_view value, void* buf, size_t buf_size, size_t* value_size,
                     shmkv_error* err) {
  *value_size = value.size();
  if (value.size() > buf_size) {
    return Fail(SHMKV_BUFFER_TOO_SMALL,
                absl::StrCat("the value has ", value.size(), " bytes; the buffer holds ", buf_size,
                             ": call again with a buffer of *value_size bytes"),
                err);
  }
  if (!value.empty()) std::memcpy(buf, value.data(), value.size());
  return SHMKV_OK;
}

bool CheckOutBuffer(void* buf, size_t buf_size, size_t* value_size, shmkv_error* err) {
  if (value_size == nullptr) {
    InvalidArgument("value_size is NULL: it receives the value's length", err);
    return false;
  }
  if (buf == nullptr && buf_size != 0) {
    InvalidArgument(absl::StrCat("buf is NULL but buf_size is ", buf_size), err);
    return false;
  }
  return true;
}

}  // namespace shmkv::c_api
