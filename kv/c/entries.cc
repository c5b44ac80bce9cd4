// The C API: reading and writing entries, get-or-compute, iteration.
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

// Writes with a condition; shared by put, add, replace and cas.
shmkv_status Write(shmkv_store* store, const void* key, size_t key_size, const void* value,
                   size_t value_size, double ttl, uint32_t flags, shmkv::WriteCondition condition,
                   uint64_t expected_version, uint64_t* version, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k, v;
    shmkv::WriteOptions options;
    if (!Bytes(key, key_size, "key", &k, err) || !Bytes(value, value_size, "value", &v, err) ||
        !Ttl(ttl, &options.ttl, err)) {
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

shmkv_status shmkv_get(shmkv_store* store, const void* key, size_t key_size, void* buf,
                       size_t buf_size, size_t* value_size, shmkv_meta* meta, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!Bytes(key, key_size, "key", &k, err) || !CheckOutBuffer(buf, buf_size, value_size, err)) {
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
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!Bytes(key, key_size, "key", &k, err)) {
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
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k;
    shmkv::IncrementOptions options;
    if (!Bytes(key, key_size, "key", &k, err) || !Ttl(ttl, &options.ttl, err)) {
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
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k;
    absl::Duration d;
    if (!Bytes(key, key_size, "key", &k, err) || !Ttl(ttl, &d, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (d == absl::ZeroDuration()) {
      return InvalidArgument("touch needs a TTL: seconds > 0, or SHMKV_TTL_NEVER", err);
    }
    return Report(store->store->Touch(k, d), err);
  });
}

shmkv_status shmkv_delete(shmkv_store* store, const void* key, size_t key_size, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!Bytes(key, key_size, "key", &k, err)) {
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
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!Bytes(key, key_size, "key", &k, err) || !CheckOutBuffer(buf, buf_size, value_size, err)) {
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
          const int s = compute(context, &sink);
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
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::string_view p;
    if (!Bytes(prefix, prefix_size, "prefix", &p, err)) {
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
}  // extern "C"
