// The C API (shmkv.h) over the C++ Store API: argument checks, conversions
// between C and absl types, and a try/catch on every entry point so that no
// exception crosses into C.
#include "shmkv/shmkv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

struct shmkv_options {
  shmkv::Options options;
};

struct shmkv_store {
  std::unique_ptr<shmkv::Store> store;
};

struct shmkv_value_sink {
  std::string value;
};

namespace {

using shmkv::Store;

// Copies `text` into a fixed char array, cut to fit, NUL-terminated.
template <size_t N>
void CopyText(absl::string_view text, char (&out)[N]) {
  const size_t n = std::min(text.size(), N - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

shmkv_status Report(const absl::Status& status, shmkv_error* err) {
  const shmkv_status code = static_cast<shmkv_status>(static_cast<int>(status.code()));
  if (err != nullptr) {
    err->code = code;
    CopyText(status.message(), err->message);
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

// Runs `body` (returning shmkv_status) and turns an escaping exception into
// a status: C callers cannot catch C++ exceptions.
template <typename Body>
shmkv_status Guarded(shmkv_error* err, Body body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(SHMKV_RESOURCE_EXHAUSTED, "out of memory in this process", err);
  } catch (const std::exception& e) {
    return Fail(SHMKV_INTERNAL, absl::StrCat("unexpected exception: ", e.what()), err);
  } catch (...) {
    return Fail(SHMKV_INTERNAL, "unexpected exception", err);
  }
}

// A byte string from a pointer and a length; false (with the error reported)
// for a NULL pointer with a nonzero length.
bool Bytes(const void* data, size_t size, const char* what, absl::string_view* out,
           shmkv_error* err) {
  if (data == nullptr && size != 0) {
    InvalidArgument(absl::StrCat(what, " is NULL but its size is ", size), err);
    return false;
  }
  *out = size == 0 ? absl::string_view() : absl::string_view(static_cast<const char*>(data), size);
  return true;
}

// A TTL in seconds: 0 = the store's default, SHMKV_TTL_NEVER = never.
bool Ttl(double seconds, absl::Duration* out, shmkv_error* err) {
  if (seconds == SHMKV_TTL_NEVER) {
    *out = absl::InfiniteDuration();
    return true;
  }
  if (std::isnan(seconds) || seconds < 0) {
    InvalidArgument(absl::StrCat("TTL ", seconds,
                                 " s is not valid: give seconds > 0, 0 for the store's default, or "
                                 "SHMKV_TTL_NEVER"),
                    err);
    return false;
  }
  *out = absl::Seconds(seconds);  // saturates to infinite for huge values
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
  if (store != nullptr && store->store != nullptr) return true;
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

shmkv_status Open(absl::StatusOr<shmkv::StoreName> name, const shmkv_options* options,
                  shmkv_open_mode mode, shmkv_store** store, shmkv_error* err) {
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

// Writes with a condition; shared by put, add, replace and cas.
shmkv_status Write(shmkv_store* store, const void* key, size_t key_size, const void* value,
                   size_t value_size, double ttl, uint32_t flags, shmkv::WriteCondition condition,
                   uint64_t expected_version, uint64_t* version, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k, v;
    shmkv::WriteOptions options;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err) ||
        !Bytes(value, value_size, "value", &v, err) || !Ttl(ttl, &options.ttl, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    options.flags = flags;
    options.condition = condition;
    options.expected_version = expected_version;
    return Report(store->store->Put(k, v, options, version), err);
  });
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

const char* shmkv_version(void) { return "0.1.0"; }

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

shmkv_status shmkv_open_key(key_t key, const shmkv_options* options, shmkv_open_mode mode,
                            shmkv_store** store, shmkv_error* err) {
  return Guarded(err,
                 [&] { return Open(shmkv::StoreName::FromKey(key), options, mode, store, err); });
}

shmkv_status shmkv_open_path(const char* path, int proj_id, const shmkv_options* options,
                             shmkv_open_mode mode, shmkv_store** store, shmkv_error* err) {
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

shmkv_status shmkv_get(shmkv_store* store, const void* key, size_t key_size, void* buf,
                       size_t buf_size, size_t* value_size, shmkv_meta* meta, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err) ||
        !CheckOutBuffer(buf, buf_size, value_size, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    shmkv_status copied = SHMKV_OK;
    absl::Status s =
        store->store->View(k, [&](absl::string_view value, const shmkv::EntryMeta& entry) {
          copied = CopyOut(value, buf, buf_size, value_size, err);
          FillMeta(entry, meta);
        });
    if (!s.ok()) return Report(s, err);
    return copied;
  });
}

shmkv_status shmkv_contains(shmkv_store* store, const void* key, size_t key_size, int* found,
                            shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (found == nullptr) return InvalidArgument("found is NULL: it receives the answer", err);
    absl::StatusOr<bool> r = store->store->Contains(k);
    if (!r.ok()) return Report(r.status(), err);
    *found = *r ? 1 : 0;
    return SHMKV_OK;
  });
}

shmkv_status shmkv_put(shmkv_store* store, const void* key, size_t key_size, const void* value,
                       size_t value_size, double ttl, uint32_t flags, uint64_t* version,
                       shmkv_error* err) {
  return Write(store, key, key_size, value, value_size, ttl, flags, shmkv::WriteCondition::kAlways,
               0, version, err);
}

shmkv_status shmkv_add(shmkv_store* store, const void* key, size_t key_size, const void* value,
                       size_t value_size, double ttl, uint32_t flags, uint64_t* version,
                       shmkv_error* err) {
  return Write(store, key, key_size, value, value_size, ttl, flags,
               shmkv::WriteCondition::kIfAbsent, 0, version, err);
}

shmkv_status shmkv_replace(shmkv_store* store, const void* key, size_t key_size, const void* value,
                           size_t value_size, double ttl, uint32_t flags, uint64_t* version,
                           shmkv_error* err) {
  return Write(store, key, key_size, value, value_size, ttl, flags,
               shmkv::WriteCondition::kIfPresent, 0, version, err);
}

shmkv_status shmkv_cas(shmkv_store* store, const void* key, size_t key_size,
                       uint64_t expected_version, const void* value, size_t value_size, double ttl,
                       uint32_t flags, uint64_t* version, shmkv_error* err) {
  return Write(store, key, key_size, value, value_size, ttl, flags,
               shmkv::WriteCondition::kIfVersion, expected_version, version, err);
}

shmkv_status shmkv_incr(shmkv_store* store, const void* key, size_t key_size, int64_t delta,
                        int64_t initial, int create_if_missing, double ttl, int64_t* result,
                        shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    shmkv::IncrementOptions options;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err) ||
        !Ttl(ttl, &options.ttl, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    options.create_if_missing = create_if_missing != 0;
    options.initial = initial;
    absl::StatusOr<int64_t> r = store->store->Increment(k, delta, options);
    if (!r.ok()) return Report(r.status(), err);
    if (result != nullptr) *result = *r;
    return SHMKV_OK;
  });
}

shmkv_status shmkv_touch(shmkv_store* store, const void* key, size_t key_size, double ttl,
                         shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    absl::Duration d;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err) || !Ttl(ttl, &d, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (d == absl::ZeroDuration()) {
      return InvalidArgument("touch needs a TTL: seconds > 0, or SHMKV_TTL_NEVER", err);
    }
    return Report(store->store->Touch(k, d), err);
  });
}

shmkv_status shmkv_delete(shmkv_store* store, const void* key, size_t key_size, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    return Report(store->store->Delete(k), err);
  });
}

shmkv_status shmkv_value_sink_set(shmkv_value_sink* sink, const void* value, size_t value_size) {
  absl::string_view v;
  if (sink == nullptr || !Bytes(value, value_size, "value", &v, nullptr)) {
    return SHMKV_INVALID_ARGUMENT;
  }
  try {
    sink->value.assign(v.data(), v.size());
  } catch (...) {
    return SHMKV_RESOURCE_EXHAUSTED;
  }
  return SHMKV_OK;
}

shmkv_status shmkv_get_or_compute(shmkv_store* store, const void* key, size_t key_size,
                                  shmkv_compute_fn compute, void* context,
                                  const shmkv_compute_options* options, void* buf, size_t buf_size,
                                  size_t* value_size, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckStore(store, err) || !Bytes(key, key_size, "key", &k, err) ||
        !CheckOutBuffer(buf, buf_size, value_size, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (compute == nullptr) return InvalidArgument("compute is NULL", err);
    shmkv::GetOrComputeOptions o;
    if (options != nullptr) {
      if (!Timeout(options->wait_timeout, o.wait_timeout, "wait_timeout", &o.wait_timeout, err) ||
          !Timeout(options->lease_timeout, o.lease_timeout, "lease_timeout", &o.lease_timeout,
                   err) ||
          !Ttl(options->ttl, &o.write.ttl, err)) {
        return SHMKV_INVALID_ARGUMENT;
      }
      o.write.flags = options->flags;
    }
    absl::StatusOr<std::string> value = store->store->GetOrCompute(
        k,
        [&]() -> absl::StatusOr<std::string> {
          shmkv_value_sink sink;
          const shmkv_status s = compute(context, &sink);
          if (s == SHMKV_OK) return std::move(sink.value);
          const absl::StatusCode code = s == SHMKV_BUFFER_TOO_SMALL || s < 0 || s > 15
                                            ? absl::StatusCode::kUnknown
                                            : static_cast<absl::StatusCode>(s);
          return absl::Status(code, absl::StrCat("the compute callback returned ",
                                                 shmkv_status_name(s), "; nothing was stored"));
        },
        o);
    if (!value.ok()) return Report(value.status(), err);
    return CopyOut(*value, buf, buf_size, value_size, err);
  });
}

shmkv_status shmkv_foreach(shmkv_store* store, const void* prefix, size_t prefix_size,
                           shmkv_visit_fn visit, void* context, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view p;
    if (!CheckStore(store, err) || !Bytes(prefix, prefix_size, "prefix", &p, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (visit == nullptr) return InvalidArgument("visit is NULL", err);
    return Report(
        store->store->ForEach(
            p,
            [&](absl::string_view key, absl::string_view value, const shmkv::EntryMeta& meta) {
              shmkv_meta m;
              FillMeta(meta, &m);
              return visit(context, key.data(), key.size(), value.data(), value.size(), &m) == 0;
            }),
        err);
  });
}

shmkv_status shmkv_flush(shmkv_store* store, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    return Report(store->store->Clear(), err);
  });
}

shmkv_status shmkv_flush_expired(shmkv_store* store, uint64_t* removed, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    absl::StatusOr<uint64_t> n = store->store->FlushExpired();
    if (!n.ok()) return Report(n.status(), err);
    if (removed != nullptr) *removed = *n;
    return SHMKV_OK;
  });
}

shmkv_status shmkv_size(shmkv_store* store, uint64_t* items, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    if (items == nullptr) return InvalidArgument("items is NULL: it receives the count", err);
    absl::StatusOr<uint64_t> n = store->store->Size();
    if (!n.ok()) return Report(n.status(), err);
    *items = *n;
    return SHMKV_OK;
  });
}

}  // extern "C"

namespace {

// Fills a caller's struct of `size` bytes from a complete one: a caller
// compiled against an older, shorter struct gets the fields it knows.
template <typename T>
shmkv_status CopyStruct(const T& full, void* out, size_t size, shmkv_error* err) {
  if (out == nullptr) return InvalidArgument("the output struct is NULL", err);
  if (size == 0) return InvalidArgument("the output struct's size is 0: pass sizeof", err);
  std::memset(out, 0, size);
  std::memcpy(out, &full, std::min(size, sizeof(T)));
  return SHMKV_OK;
}

}  // namespace

extern "C" {

shmkv_status shmkv_get_stats(shmkv_store* store, shmkv_stats* stats, size_t stats_size,
                             shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    absl::StatusOr<shmkv::StoreStats> s = store->store->Stats();
    if (!s.ok()) return Report(s.status(), err);
    shmkv_stats c = {};
    c.hits = s->hits;
    c.misses = s->misses;
    c.puts = s->puts;
    c.deletes = s->deletes;
    c.evictions = s->evictions;
    c.expirations = s->expirations;
    c.items = s->items;
    c.key_bytes = s->key_bytes;
    c.value_bytes = s->value_bytes;
    c.bytes_used = s->bytes_used;
    c.log_bytes = s->log_bytes;
    c.capacity = s->capacity;
    c.index_entries = s->index_entries;
    c.index_limit = s->index_limit;
    c.lock_waits = s->lock_waits;
    c.owner_deaths_recovered = s->owner_deaths_recovered;
    return CopyStruct(c, stats, stats_size, err);
  });
}

shmkv_status shmkv_get_info(shmkv_store* store, shmkv_info* info, size_t info_size,
                            shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    absl::StatusOr<shmkv::StoreInfo> s = store->store->Info();
    if (!s.ok()) return Report(s.status(), err);
    shmkv_info c = {};
    CopyText(s->name, c.name);
    c.key = s->key;
    c.shm_id = s->shm_id;
    c.sem_id = s->sem_id;
    c.layout_version = s->layout_version;
    c.segment_bytes = s->segment_bytes;
    c.capacity = s->capacity;
    c.lock_stripes = s->lock_stripes;
    c.index_slots = s->buckets;
    c.max_key_size = s->max_key_size;
    c.max_value_size = s->max_value_size;
    c.evict = s->evict;
    c.huge_pages = s->huge_pages;
    c.default_ttl = absl::ToDoubleSeconds(s->default_ttl);
    c.created_at_ms = s->created_at_ms;
    c.creator_uid = s->creator_uid;
    c.owner_uid = s->owner_uid;
    c.creator_pid = s->creator_pid;
    c.mode = s->mode;
    c.attached_processes = s->attached_processes;
    c.removed = s->removed;
    c.warnings = static_cast<uint32_t>(s->warnings.size());
    if (!s->warnings.empty()) CopyText(s->warnings[0], c.warning);
    return CopyStruct(c, info, info_size, err);
  });
}

shmkv_status shmkv_check(shmkv_store* store, int repair, shmkv_check_report* report,
                         size_t report_size, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    absl::StatusOr<shmkv::CheckReport> r = store->store->Check(repair != 0);
    if (!r.ok()) return Report(r.status(), err);
    shmkv_check_report c = {};
    c.ok = r->ok;
    c.entries_checked = r->entries_checked;
    c.entries_dropped = r->entries_dropped;
    c.problems = static_cast<uint32_t>(r->problems.size());
    c.repairs = static_cast<uint32_t>(r->repairs.size());
    if (!r->problems.empty()) CopyText(r->problems[0], c.first_problem);
    return CopyStruct(c, report, report_size, err);
  });
}

}  // extern "C"
