#include "shmkv/near/near_cache.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kv/near/redis_client.h"
#include "kv/near/redis_router.h"
#include "kv/near/sentinel.h"
#include "kv/platform/process.h"
#include "kv/util/escape.h"

namespace shmkv::near {
namespace {

absl::Status CheckKey(absl::string_view key) {
  if (absl::StartsWith(key, kReservedKeyPrefix)) {
    return absl::InvalidArgumentError(
        "keys starting with \\x00shmkv. are reserved for shmkv's own records; use another key");
  }
  return absl::OkStatus();
}

}  // namespace

const char* ReadPathName(ReadPath path) {
  switch (path) {
    case ReadPath::kHit:
      return "hit";
    case ReadPath::kFilled:
      return "filled";
    case ReadPath::kShared:
      return "shared";
    case ReadPath::kDirect:
      return "direct";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<NearCache>> NearCache::Create(Store* store,
                                                             NearCacheOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("NearCache needs a store");
  absl::StatusOr<std::unique_ptr<RedisRouter>> router =
      RedisRouter::Create(options.redis, options.redis_timeout);
  if (!router.ok()) return router.status();
  options.redis = (*router)->target();
  if (options.fill_ttl <= absl::ZeroDuration() ||
      options.heartbeat_timeout <= absl::ZeroDuration() ||
      options.redis_timeout <= absl::ZeroDuration() ||
      options.fill_wait_timeout < absl::ZeroDuration() ||
      options.sync_check_interval < absl::ZeroDuration() ||
      options.fill_lease_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "NearCacheOptions: fill_ttl, heartbeat_timeout, redis_timeout and fill_lease_timeout "
        "must be positive, fill_wait_timeout and sync_check_interval not negative");
  }
  return std::unique_ptr<NearCache>(new NearCache(store, std::move(options), *std::move(router)));
}

NearCache::NearCache(Store* store, NearCacheOptions options, std::unique_ptr<RedisRouter> router)
    : store_(store),
      options_(std::move(options)),
      router_(std::move(router)),
      router_counts_(router_.get()),
      state_(absl::NotFoundError("not read yet")) {}

NearCache::~NearCache() = default;

absl::Status NearCache::ReadStateLocked() {
  uint64_t version = 0;
  bool changed = false;
  std::string record;
  const uint64_t known_version = state_version_;
  absl::Status viewed =
      store_->View(kSyncStateKey, [&](absl::string_view value, const EntryMeta& meta) {
        version = meta.version;
        if (version != known_version) {
          record.assign(value.data(), value.size());
          changed = true;
        }
      });
  if (absl::IsNotFound(viewed)) {
    state_version_ = 0;
    state_ = absl::NotFoundError(
        "no kvsync has run on this store: start kvsync --redis=ADDR --prefix=P for it");
  } else if (!viewed.ok()) {
    return viewed;
  } else if (changed) {
    state_version_ = version;
    absl::StatusOr<SyncState> parsed = ParseSyncState(record);
    if (parsed.ok()) {
      state_ = std::make_shared<const SyncState>(*std::move(parsed));
    } else {
      state_ = parsed.status();
    }
  }
  return absl::OkStatus();
}

NearCache::Trust NearCache::Evaluate(absl::string_view key, bool reread) {
  Trust trust;
  int64_t now_ns = MonotonicNowNs();
  MutexLock lock(&state_mu_);
  if (reread || !state_read_ns_.has_value() ||
      absl::Nanoseconds(now_ns - *state_read_ns_) >= options_.sync_check_interval) {
    state_read_ns_.reset();
    if (absl::Status s = ReadStateLocked(); !s.ok()) {
      trust.reason = absl::StrCat("reading kvsync's record failed: ", s.message());
      return trust;
    }
    state_read_ns_ = now_ns;
    // The heartbeat may have been written after now_ns: age it against a
    // clock read after the record, so that it is never ahead of it.
    now_ns = MonotonicNowNs();
  }
  if (!state_.ok()) {
    trust.reason = std::string(state_.status().message());
    return trust;
  }
  const SyncState& state = **state_;
  SyncHealth health = EvaluateSync(state, options_.heartbeat_timeout, now_ns / 1000000);
  if (!health.serving) {
    trust.reason = std::move(health.reason);
    return trust;
  }
  if (!state.Tracks(key)) {
    std::vector<std::string> escaped;
    for (const std::string& p : state.prefixes) escaped.push_back(util::EscapeKey(p));
    trust.reason = absl::StrCat("the key is outside the prefixes kvsync tracks (",
                                absl::StrJoin(escaped, ", "), ")");
    return trust;
  }
  trust.record = *state_;
  return trust;
}

absl::StatusOr<std::string> NearCache::ServerMismatch(const Trust& trust, absl::string_view key) {
  const SyncState& record = *trust.record;
  MutexLock lock(&redis_mu_);
  absl::StatusOr<absl::string_view> run_id = router_->ServerOf(key);
  if (run_id.ok() && router_->routed() && !RunIdTracked(record.redis_run_id, *run_id)) {
    // kvsync follows other primaries than this reader's slot map or
    // sentinels named (a failover or a migration since it asked): ask again.
    router_->ForgetRoutes();
    run_id = router_->ServerOf(key);
  }
  if (!run_id.ok()) return run_id.status();
  if (record.redis_run_id.empty()) {
    return "kvsync's record does not say which Redis server it follows (a kvsync of an earlier "
           "version?); restart kvsync";
  }
  if (RunIdTracked(record.redis_run_id, *run_id)) return "";
  if (router_->sentinel()) {
    return absl::StrCat("the primary the sentinels name (run_id ", *run_id,
                        ") is not the one kvsync follows (", record.redis, ", run_id ",
                        record.redis_run_id,
                        "): a failover kvsync has not resynced to yet, or other sentinels; give "
                        "it kvsync's Redis address");
  }
  if (router_->cluster()) {
    return absl::StrCat("the primary of the key's slot (run_id ", *run_id,
                        ") is not one kvsync tracks (", record.redis, ", run_ids ",
                        record.redis_run_id,
                        "): a failover or a node kvsync has not resynced to yet, or another "
                        "cluster; give it kvsync's Redis address");
  }
  return absl::StrCat(options_.redis, " is another Redis server (run_id ", *run_id,
                      ") than the one kvsync follows (", record.redis, ", run_id ",
                      record.redis_run_id,
                      "): nothing would invalidate what this reader fills; give it kvsync's "
                      "Redis address");
}

namespace {

// A router's answer checked against `server` (the run_ids the cache was
// checked against, when not null) and moved to *reply.
absl::Status Answered(absl::StatusOr<RedisRouter::Answer> answer, absl::string_view redis,
                      RedisReply* reply, const std::string* server) {
  if (!answer.ok()) return answer.status();
  if (server != nullptr && !RunIdTracked(*server, answer->run_id)) {
    // Reconnected (after an I/O error), or redirected, to another server
    // than those the cache was checked against: its reply must not be
    // filled (Fill reads the key directly instead).
    return absl::AbortedError(
        absl::StrCat(redis,
                     " answered from a Redis server kvsync does not track (a failover or a "
                     "reconnect since the check)"));
  }
  *reply = std::move(answer->reply);
  return absl::OkStatus();
}

}  // namespace

absl::Status NearCache::Run(const std::vector<std::string>& argv, absl::string_view key,
                            bool idempotent, RedisReply* reply, const std::string* server) {
  MutexLock lock(&redis_mu_);
  return Answered(router_->Command(argv, key, idempotent), options_.redis, reply, server);
}

absl::Status NearCache::RunTogether(absl::Span<const std::vector<std::string>> commands,
                                    RedisReply* reply, const std::string* server) {
  MutexLock lock(&redis_mu_);
  return Answered(router_->Commands(commands, /*idempotent=*/true), options_.redis, reply, server);
}

namespace {

// GET and, in the same atomic step, PTTL (Redis runs a script alone): nil
// when the key is absent, else [value, remaining ms or -1 for none].
constexpr char kGetWithTtl[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v then return {v, redis.call('PTTL', KEYS[1])} end "
    "return false";

}  // namespace

absl::Status NearCache::FillRead(absl::string_view key, RedisReply* reply,
                                 const std::string* server) {
  if (router_counts_->routed()) {
    // Through the router: GET and PTTL in one script, one command (redirects
    // and a demoted primary answer it as a whole); under Sentinel, only from
    // a server that is a primary now.
    return Run(
        {"EVAL", absl::StrCat(router_counts_->sentinel() ? kPrimaryOnlyScript : "", kGetWithTtl),
         "1", std::string(key)},
        key, /*idempotent=*/true, reply, server);
  }
  // From the one server: GET and PTTL sent together (one round trip,
  // cheaper for Redis than a script). A write between them is one kvsync
  // invalidates, as a write just after the GET would be.
  const std::vector<std::string> both[] = {{"GET", std::string(key)}, {"PTTL", std::string(key)}};
  if (absl::Status s = RunTogether(both, reply, server); !s.ok()) return s;
  // Answered as the script answers: [value, ms] for a value; else the GET's
  // own answer (nil, an error); nil for a key deleted between the two.
  if (reply->elements.size() == 2 && reply->elements[0].type != RedisReply::Type::kString) {
    RedisReply get = std::move(reply->elements[0]);
    *reply = std::move(get);
  } else if (reply->elements.size() == 2 && reply->elements[1].type == RedisReply::Type::kInteger &&
             reply->elements[1].integer == -2) {
    *reply = RedisReply();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NearCache::RedisGet(absl::string_view key,
                                                std::optional<absl::Duration>* ttl,
                                                const std::string* server) {
  redis_reads_.fetch_add(1, std::memory_order_relaxed);
  RedisReply reply;
  absl::Status read =
      ttl != nullptr ? FillRead(key, &reply, server)
                     : Run({"GET", std::string(key)}, key, /*idempotent=*/true, &reply, server);
  if (!read.ok()) return read;
  if (ttl != nullptr && reply.type == RedisReply::Type::kArray && reply.elements.size() == 2 &&
      reply.elements[0].type == RedisReply::Type::kString &&
      reply.elements[1].type == RedisReply::Type::kInteger) {
    const long long ms = reply.elements[1].integer;
    *ttl = ms >= 0 ? std::optional<absl::Duration>(absl::Milliseconds(ms)) : std::nullopt;
    return std::move(reply.elements[0].str);
  }
  switch (reply.type) {
    case RedisReply::Type::kString:
      if (ttl == nullptr) return std::move(reply.str);
      break;
    case RedisReply::Type::kNil:
      return absl::NotFoundError("no such key in Redis");
    case RedisReply::Type::kError:
      if (absl::StartsWith(reply.str, "READONLY")) {
        return absl::UnavailableError(absl::StrCat(
            options_.redis, ": ", reply.str, "; and no sentinel named a primary yet: try again"));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("Redis refused GET: ", reply.str,
                       "; near-cached keys must hold strings (SET), not other types"));
    default:
      break;
  }
  return absl::InternalError(absl::StrCat("Redis answered GET with ", reply.Describe()));
}

absl::StatusOr<std::string> NearCache::Direct(absl::string_view key, std::string reason,
                                              ReadInfo* info) {
  info->path = ReadPath::kDirect;
  info->bypass_reason = std::move(reason);
  direct_.fetch_add(1, std::memory_order_relaxed);
  return RedisGet(key);
}

absl::StatusOr<std::string> NearCache::Get(absl::string_view key, ReadInfo* info) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  ReadInfo local;
  if (info == nullptr) info = &local;
  info->bypass_reason.clear();
  Trust trust = Evaluate(key, /*reread=*/false);
  if (!trust.serving()) return Direct(key, std::move(trust.reason), info);
  absl::StatusOr<std::string> mismatch = ServerMismatch(trust, key);
  if (!mismatch.ok()) {
    // Redis cannot be reached: a direct read would fail the same way.
    info->path = ReadPath::kDirect;
    info->bypass_reason = "cannot tell whether this Redis is the server kvsync follows";
    direct_.fetch_add(1, std::memory_order_relaxed);
    return mismatch.status();
  }
  if (!mismatch->empty()) {
    wrong_server_.fetch_add(1, std::memory_order_relaxed);
    return Direct(key, *std::move(mismatch), info);
  }

  std::string value;
  EntryMeta meta;
  absl::Status got = store_->Get(key, &value, &meta);
  if (got.ok()) {
    // A fill of this epoch that lives no longer than fill_ttl: a plain
    // write (Put, Increment: other flags) or Touch (a longer TTL, or none)
    // made it something else, which is dropped and read again.
    if (meta.flags == trust.record->epoch && meta.ttl_remaining <= options_.fill_ttl) {
      info->path = ReadPath::kHit;
      hits_.fetch_add(1, std::memory_order_relaxed);
      return value;
    }
    // Or filled under an earlier epoch (before a disconnect, resync or
    // flush): it may be stale.
    (void)store_->Delete(key);
  } else if (!absl::IsNotFound(got)) {
    return Direct(key, absl::StrCat("the store failed: ", got.message()), info);
  }
  return Fill(key, trust.record->epoch, trust.record->redis_run_id, info);
}

absl::StatusOr<std::string> NearCache::Fill(absl::string_view key, uint32_t epoch,
                                            const std::string& run_id, ReadInfo* info) {
  bool computed = false;
  absl::Status compute_status;
  std::string computed_value;
  GetOrComputeOptions fill;
  fill.wait_timeout = options_.fill_wait_timeout;
  fill.lease_timeout = options_.fill_lease_timeout;
  fill.write.ttl = options_.fill_ttl;
  fill.write.flags = epoch;
  absl::StatusOr<std::string> filled = store_->GetOrCompute(
      key,
      [&](absl::Duration* ttl) -> absl::StatusOr<std::string> {
        computed = true;
        std::optional<absl::Duration> redis_ttl;
        absl::StatusOr<std::string> v = RedisGet(key, &redis_ttl, &run_id);
        if (!v.ok()) {
          compute_status = v.status();
          return v.status();
        }
        // The fill lives no longer than the key in Redis.
        if (redis_ttl.has_value()) {
          *ttl = std::max(absl::Milliseconds(1), std::min(*redis_ttl, options_.fill_ttl));
        }
        computed_value = *v;
        return v;
      },
      fill);
  if (filled.ok() && !computed) return Shared(key, epoch, info);
  if (filled.ok()) {
    info->path = ReadPath::kFilled;
    fills_.fetch_add(1, std::memory_order_relaxed);
    return filled;
  }
  if (!computed)
    return Direct(key, absl::StrCat("the store failed: ", filled.status().message()), info);
  if (absl::IsAborted(compute_status)) {
    return Direct(key, std::string(compute_status.message()), info);
  }
  if (absl::IsNotFound(compute_status)) {
    info->path = ReadPath::kDirect;
    info->bypass_reason = "absent in Redis (absence is not cached)";
  }
  if (!compute_status.ok()) return compute_status;  // from Redis: NotFound, Unavailable
  // Redis answered but the store did not keep the value (too large, a full
  // store that may not evict, a lock timeout): serve it uncached.
  info->path = ReadPath::kDirect;
  info->bypass_reason =
      absl::StrCat("the store did not keep the value: ", filled.status().message());
  direct_.fetch_add(1, std::memory_order_relaxed);
  return computed_value;
}

absl::StatusOr<std::string> NearCache::Shared(absl::string_view key, uint32_t epoch,
                                              ReadInfo* info) {
  // Another process's fill (or a value that landed meanwhile) is served
  // only if it was filled under this read's epoch: a fill that began
  // before a loss or a flush may have outlived kvsync's clear.
  std::string shared;
  EntryMeta meta;
  absl::Status again = store_->Get(key, &shared, &meta);
  if (!again.ok()) {
    return Direct(key, absl::StrCat("another process's concurrent fill is gone: ", again.message()),
                  info);
  }
  if (meta.flags != epoch) {
    return Direct(key,
                  "another process's concurrent fill began before kvsync's last loss or flush "
                  "(an earlier epoch)",
                  info);
  }
  info->path = ReadPath::kShared;
  shared_.fetch_add(1, std::memory_order_relaxed);
  return shared;
}

absl::Status NearCache::Set(absl::string_view key, absl::string_view value) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  RedisReply reply;
  if (absl::Status s = Run({"SET", std::string(key), std::string(value)}, key, false, &reply);
      !s.ok()) {
    return s;
  }
  if (!reply.IsString("OK")) {
    return absl::FailedPreconditionError(
        absl::StrCat("Redis refused SET: ", reply.Describe(), "; check the server's log"));
  }
  // kvsync deletes it too when the invalidation arrives; this makes this
  // process's next read see the write at once.
  (void)store_->Delete(key);
  return absl::OkStatus();
}

absl::Status NearCache::Delete(absl::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  RedisReply reply;
  if (absl::Status s = Run({"DEL", std::string(key)}, key, false, &reply); !s.ok()) return s;
  if (reply.type != RedisReply::Type::kInteger) {
    return absl::FailedPreconditionError(
        absl::StrCat("Redis refused DEL: ", reply.Describe(), "; check the server's log"));
  }
  (void)store_->Delete(key);
  if (reply.integer == 0) return absl::NotFoundError("no such key in Redis");
  return absl::OkStatus();
}

absl::StatusOr<SyncState> NearCache::SyncStatus() { return ReadSyncState(*store_); }

SyncHealth NearCache::Health(absl::string_view key) {
  Trust trust = Evaluate(key, /*reread=*/true);
  SyncHealth health;
  health.serving = trust.serving();
  health.reason = std::move(trust.reason);
  MutexLock lock(&state_mu_);
  if (state_.ok())
    health.heartbeat_age = absl::Milliseconds(MonotonicNowMs() - (*state_)->heartbeat_ms);
  return health;
}

NearCacheStats NearCache::Stats() const {
  NearCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.fills = fills_.load(std::memory_order_relaxed);
  s.shared = shared_.load(std::memory_order_relaxed);
  s.direct = direct_.load(std::memory_order_relaxed);
  s.redis_reads = redis_reads_.load(std::memory_order_relaxed);
  // The router's own counts (atomic): read, never copied.
  s.redis_errors = router_counts_->errors();
  s.wrong_server = wrong_server_.load(std::memory_order_relaxed);
  s.redirects = router_counts_->redirects();
  return s;
}

}  // namespace shmkv::near
