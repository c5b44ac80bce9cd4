// The near cache's C API (near.h) over NearCache, with the conversions and
// argument checks the store's C API uses (kv/c/c_api.h).
#include "shmkv/near.h"

#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/c/c_api.h"
#include "kv/util/escape.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"

// Seconds as the caller set them; shmkv_near_open checks and converts them.
struct shmkv_near_options {
  double fill_ttl, heartbeat_timeout, redis_timeout, fill_wait_timeout, fill_lease_timeout,
      sync_check_interval;
};

struct shmkv_near {
  std::unique_ptr<shmkv::near::NearCache> cache;
};

using namespace shmkv::c_api;  // NOLINT: this file implements the C API over them

namespace {

using shmkv::near::NearCache;
using shmkv::near::NearCacheOptions;

shmkv_near_options DefaultOptions() {
  const NearCacheOptions d;
  return {
      absl::ToDoubleSeconds(d.fill_ttl),           absl::ToDoubleSeconds(d.heartbeat_timeout),
      absl::ToDoubleSeconds(d.redis_timeout),      absl::ToDoubleSeconds(d.fill_wait_timeout),
      absl::ToDoubleSeconds(d.fill_lease_timeout), absl::ToDoubleSeconds(d.sync_check_interval)};
}

// A duration option: finite, and > 0 (>= 0 when zero_ok).
bool DurationOption(double seconds, bool zero_ok, const char* what, absl::Duration* out,
                    shmkv_error* err) {
  if (!std::isfinite(seconds) || seconds < 0 || (seconds == 0 && !zero_ok)) {
    InvalidArgument(absl::StrCat("near cache option ", what, " = ", seconds, " s is not valid: ",
                                 zero_ok ? "give seconds >= 0" : "give seconds > 0"),
                    err);
    return false;
  }
  *out = absl::Seconds(seconds);
  return true;
}

// The C enums are the C++ ones' values.
static_assert(SHMKV_NEAR_HIT == static_cast<int>(shmkv::near::ReadPath::kHit) &&
              SHMKV_NEAR_FILLED == static_cast<int>(shmkv::near::ReadPath::kFilled) &&
              SHMKV_NEAR_SHARED == static_cast<int>(shmkv::near::ReadPath::kShared) &&
              SHMKV_NEAR_DIRECT == static_cast<int>(shmkv::near::ReadPath::kDirect));
static_assert(SHMKV_NEAR_CONNECTING == static_cast<int>(shmkv::near::SyncPhase::kConnecting) &&
              SHMKV_NEAR_SYNCED == static_cast<int>(shmkv::near::SyncPhase::kSynced) &&
              SHMKV_NEAR_STOPPED == static_cast<int>(shmkv::near::SyncPhase::kStopped));

bool CheckNear(const shmkv_near* near, shmkv_error* err) {
  if (near != nullptr && near->cache != nullptr) return true;
  InvalidArgument("the near cache handle is NULL (never opened, or closed)", err);
  return false;
}

}  // namespace

extern "C" {

shmkv_near_options* shmkv_near_options_create(void) {
  shmkv_near_options* options = new (std::nothrow) shmkv_near_options();
  if (options != nullptr) *options = DefaultOptions();
  return options;
}
void shmkv_near_options_destroy(shmkv_near_options* options) { delete options; }

#define SHMKV_NEAR_OPTION_SETTER(name)                                        \
  void shmkv_near_options_set_##name(shmkv_near_options* options, double v) { \
    if (options != nullptr) options->name = v;                                \
  }
SHMKV_NEAR_OPTION_SETTER(fill_ttl)
SHMKV_NEAR_OPTION_SETTER(heartbeat_timeout)
SHMKV_NEAR_OPTION_SETTER(redis_timeout)
SHMKV_NEAR_OPTION_SETTER(fill_wait_timeout)
SHMKV_NEAR_OPTION_SETTER(fill_lease_timeout)
SHMKV_NEAR_OPTION_SETTER(sync_check_interval)
#undef SHMKV_NEAR_OPTION_SETTER

shmkv_status shmkv_near_open(shmkv_store* store, const char* redis,
                             const shmkv_near_options* options, shmkv_near** near,
                             shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (near == nullptr) return InvalidArgument("near is NULL: it receives the new handle", err);
    *near = nullptr;
    if (!CheckStore(store, err)) return SHMKV_INVALID_ARGUMENT;
    if (redis == nullptr) {
      return InvalidArgument(
          "the Redis address is NULL: give \"unix:/path/to/redis.sock\" or \"host:port\"", err);
    }
    const shmkv_near_options given = options != nullptr ? *options : DefaultOptions();
    NearCacheOptions o;
    o.redis = redis;
    if (!DurationOption(given.fill_ttl, false, "fill_ttl", &o.fill_ttl, err) ||
        !DurationOption(given.heartbeat_timeout, false, "heartbeat_timeout", &o.heartbeat_timeout,
                        err) ||
        !DurationOption(given.redis_timeout, false, "redis_timeout", &o.redis_timeout, err) ||
        !DurationOption(given.fill_wait_timeout, true, "fill_wait_timeout", &o.fill_wait_timeout,
                        err) ||
        !DurationOption(given.fill_lease_timeout, false, "fill_lease_timeout",
                        &o.fill_lease_timeout, err) ||
        !DurationOption(given.sync_check_interval, true, "sync_check_interval",
                        &o.sync_check_interval, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    absl::StatusOr<std::unique_ptr<NearCache>> cache =
        NearCache::Create(store->store.get(), std::move(o));
    if (!cache.ok()) return Report(cache.status(), err);
    *near = new shmkv_near{*std::move(cache)};
    return SHMKV_OK;
  });
}

void shmkv_near_close(shmkv_near** near) {
  if (near == nullptr) return;
  delete *near;
  *near = nullptr;
}

const char* shmkv_near_path_name(int path) {
  if (path < SHMKV_NEAR_HIT || path > SHMKV_NEAR_DIRECT) return "unknown";
  return shmkv::near::ReadPathName(static_cast<shmkv::near::ReadPath>(path));
}

shmkv_status shmkv_near_get(shmkv_near* near, const void* key, size_t key_size, void* buf,
                            size_t buf_size, size_t* value_size, shmkv_near_read* read,
                            shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckNear(near, err) || !Bytes(key, key_size, "key", &k, err) ||
        !CheckOutBuffer(buf, buf_size, value_size, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    shmkv::near::ReadInfo info;
    absl::StatusOr<std::string> value = near->cache->Get(k, &info);
    if (read != nullptr) {
      read->path = static_cast<int>(info.path);
      CopyText(info.bypass_reason, read->bypass_reason);
    }
    if (!value.ok()) return Report(value.status(), err);
    return CopyOut(*value, buf, buf_size, value_size, err);
  });
}

shmkv_status shmkv_near_set(shmkv_near* near, const void* key, size_t key_size, const void* value,
                            size_t value_size, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k, v;
    if (!CheckNear(near, err) || !Bytes(key, key_size, "key", &k, err) ||
        !Bytes(value, value_size, "value", &v, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    return Report(near->cache->Set(k, v), err);
  });
}

shmkv_status shmkv_near_delete(shmkv_near* near, const void* key, size_t key_size,
                               shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckNear(near, err) || !Bytes(key, key_size, "key", &k, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    return Report(near->cache->Delete(k), err);
  });
}

shmkv_status shmkv_near_get_health(shmkv_near* near, const void* key, size_t key_size,
                                   shmkv_near_health* health, size_t health_size,
                                   shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    absl::string_view k;
    if (!CheckNear(near, err) || !Bytes(key, key_size, "key", &k, err)) {
      return SHMKV_INVALID_ARGUMENT;
    }
    if (health == nullptr) return InvalidArgument("the output struct is NULL", err);
    const shmkv::near::SyncHealth h = near->cache->Health(k);
    shmkv_near_health full{};
    full.serving = h.serving ? 1 : 0;
    CopyText(h.reason, full.reason);
    full.heartbeat_age = absl::ToDoubleSeconds(h.heartbeat_age);
    return CopyStruct(full, health, health_size, err);
  });
}

const char* shmkv_near_phase_name(int phase) {
  if (phase < SHMKV_NEAR_CONNECTING || phase > SHMKV_NEAR_STOPPED) return "unknown";
  return shmkv::near::SyncPhaseName(static_cast<shmkv::near::SyncPhase>(phase));
}

shmkv_status shmkv_near_get_sync_state(shmkv_near* near, shmkv_near_sync_state* state,
                                       size_t state_size, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckNear(near, err)) return SHMKV_INVALID_ARGUMENT;
    if (state == nullptr) return InvalidArgument("the output struct is NULL", err);
    absl::StatusOr<shmkv::near::SyncState> s = near->cache->SyncStatus();
    if (!s.ok()) return Report(s.status(), err);
    shmkv_near_sync_state full{};
    full.pid = s->pid;
    full.phase = static_cast<int>(s->phase);
    full.epoch = s->epoch;
    full.heartbeat_age = (shmkv::near::MonotonicNowMs() - s->heartbeat_ms) / 1000.0;
    full.heartbeat_interval = s->heartbeat_interval_ms / 1000.0;
    full.invalidations = s->invalidations;
    full.invalidations_skipped = s->invalidations_skipped;
    full.flushes = s->flushes;
    full.resyncs = s->resyncs;
    full.keys_cleared = s->keys_cleared;
    CopyText(s->redis, full.redis);
    full.prefix_count = static_cast<uint32_t>(s->prefixes.size());
    std::vector<std::string> prefixes;
    for (const std::string& p : s->prefixes) prefixes.push_back(shmkv::util::EscapeKey(p));
    CopyText(absl::StrJoin(prefixes, " "), full.prefixes);
    CopyText(s->last_error, full.last_error);
    full.foreign_messages = s->foreign_messages;
    CopyText(s->redis_run_id, full.redis_run_id);
    return CopyStruct(full, state, state_size, err);
  });
}

shmkv_status shmkv_near_get_redis_run_ids(shmkv_near* near, char* buf, size_t buf_size,
                                          size_t* size, shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckNear(near, err)) return SHMKV_INVALID_ARGUMENT;
    if (size == nullptr) return InvalidArgument("size is NULL: it receives the list's length", err);
    if (buf == nullptr && buf_size != 0) {
      return InvalidArgument(absl::StrCat("buf is NULL but buf_size is ", buf_size), err);
    }
    absl::StatusOr<shmkv::near::SyncState> s = near->cache->SyncStatus();
    if (!s.ok()) return Report(s.status(), err);
    return CopyOut(s->redis_run_id, buf, buf_size, size, err);
  });
}

shmkv_status shmkv_near_get_stats(shmkv_near* near, shmkv_near_stats* stats, size_t stats_size,
                                  shmkv_error* err) {
  return Guarded(err, [&]() -> shmkv_status {
    if (!CheckNear(near, err)) return SHMKV_INVALID_ARGUMENT;
    const shmkv::near::NearCacheStats s = near->cache->Stats();
    shmkv_near_stats full{};
    full.hits = s.hits;
    full.fills = s.fills;
    full.shared = s.shared;
    full.direct = s.direct;
    full.redis_reads = s.redis_reads;
    full.redis_errors = s.redis_errors;
    full.wrong_server = s.wrong_server;
    full.redirects = s.redirects;
    return CopyStruct(full, stats, stats_size, err);
  });
}

}  // extern "C"
