#include "kv/node/near_cache.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "kv/node/arguments.h"
#include "kv/node/errors.h"
#include "shmkv/near/sync_state.h"

namespace shmkv::node {
namespace {

using near::NearCacheOptions;

// Seconds >= 0 (finite) as a Duration; `fallback` when undefined.
absl::Duration Interval(const Napi::Value& value, const char* what, absl::Duration fallback) {
  if (value.IsEmpty() || value.IsUndefined()) return fallback;
  if (!value.IsNumber()) ThrowType(value.Env(), absl::StrCat(what, " must be a number of seconds"));
  const double seconds = value.As<Napi::Number>().DoubleValue();
  if (!(seconds >= 0) || std::isinf(seconds)) {
    ThrowRange(value.Env(), absl::StrCat(what, "=", seconds, " is not valid: give seconds >= 0"));
  }
  return absl::Seconds(seconds);
}

NearCacheOptions OptionsOf(const Napi::Env& env, const Napi::Value& arg) {
  const Napi::Object o = OptionsObject(env, arg, "NearCache's options");
  const Napi::Value redis = Field(o, "redis");
  if (redis.IsEmpty() || !redis.IsString()) {
    ThrowType(env,
              "NearCache needs { redis: 'unix:/path/redis.sock' } (or 'host:port', or "
              "'cluster:HOST:PORT[,...]'): the Redis kvsync follows");
  }
  NearCacheOptions options;
  options.redis = Text(redis, "redis", "");
  options.fill_ttl = Timeout(Field(o, "fillTtl"), "fillTtl", options.fill_ttl);
  options.heartbeat_timeout =
      Timeout(Field(o, "heartbeatTimeout"), "heartbeatTimeout", options.heartbeat_timeout);
  options.redis_timeout = Timeout(Field(o, "redisTimeout"), "redisTimeout", options.redis_timeout);
  options.sync_check_interval =
      Interval(Field(o, "syncCheckInterval"), "syncCheckInterval", options.sync_check_interval);
  return options;
}

[[noreturn]] void ThrowRedis(const Napi::Env& env, const absl::Status& s) {
  Throw(env, s, Context::kRedis);
}

Napi::Value TextOrUndefined(const Napi::Env& env, const std::string& text) {
  return text.empty() ? env.Undefined() : Napi::String::New(env, text);
}

Napi::Value BufferOf(const Napi::Env& env, const std::string& bytes) {
  return Napi::Buffer<char>::Copy(env, bytes.data(), bytes.size());
}

}  // namespace

NodeNearCache::NodeNearCache(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NodeNearCache>(info) {
  const Napi::Env env = info.Env();
  if (!info[1].IsExternal() ||
      !info[1].As<Napi::External<AttachmentSlot>>().CheckTypeTag(&kAttachmentTag)) {
    ThrowType(env, "a NearCache needs a Store opened by Store.open");
  }
  store_object_ = Napi::Persistent(info[0].As<Napi::Object>());
  slot_ = info[1].As<Napi::External<AttachmentSlot>>().Data();
  const NearCacheOptions options = OptionsOf(env, info[2]);
  const std::shared_ptr<Store> store = *slot_;
  if (store == nullptr) ThrowType(env, "a NearCache needs an open Store: this one is closed");
  absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
      near::NearCache::Create(store.get(), options);
  if (!cache.ok()) ThrowRedis(env, cache.status());
  cache_ = *std::move(cache);
}

NodeNearCache::Held NodeNearCache::Hold(const Napi::Env& env) const {
  Held held{*slot_, cache_};
  if (held.cache == nullptr) {
    throw Napi::Error(
        env, ErrorValue(env, "ERR_SHMKV_CLOSED", "this NearCache is closed: make a new one"));
  }
  if (held.store == nullptr) {
    throw Napi::Error(env, ErrorValue(env, "ERR_SHMKV_CLOSED",
                                      "the NearCache's store is closed: open it again with "
                                      "Store.open and make a new NearCache"));
  }
  return held;
}

Napi::Value NodeNearCache::Get(const Napi::CallbackInfo& info) {
  const Held held = Hold(info.Env());
  const Bytes key(info[0], "key");
  absl::StatusOr<std::string> value = held.cache->Get(key.view());
  if (absl::IsNotFound(value.status())) return info.Env().Undefined();
  if (!value.ok()) ThrowRedis(info.Env(), value.status());
  return BufferOf(info.Env(), *value);
}

Napi::Value NodeNearCache::GetInfo(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Held held = Hold(env);
  const Bytes key(info[0], "key");
  near::ReadInfo read;
  absl::StatusOr<std::string> value = held.cache->Get(key.view(), &read);
  if (!value.ok() && !absl::IsNotFound(value.status())) ThrowRedis(env, value.status());
  Napi::Object result = Napi::Object::New(env);
  result.Set("value", value.ok() ? BufferOf(env, *value) : env.Undefined());
  result.Set("path", near::ReadPathName(read.path));
  result.Set("reason", TextOrUndefined(env, read.bypass_reason));
  return result;
}

Napi::Value NodeNearCache::Set(const Napi::CallbackInfo& info) {
  const Held held = Hold(info.Env());
  const Bytes key(info[0], "key"), value(info[1], "value");
  const absl::Status s = held.cache->Set(key.view(), value.view());
  if (!s.ok()) ThrowRedis(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value NodeNearCache::Delete(const Napi::CallbackInfo& info) {
  const Held held = Hold(info.Env());
  const Bytes key(info[0], "key");
  const absl::Status s = held.cache->Delete(key.view());
  if (absl::IsNotFound(s)) return Napi::Boolean::New(info.Env(), false);
  if (!s.ok()) ThrowRedis(info.Env(), s);
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value NodeNearCache::SyncState(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Held held = Hold(env);
  absl::StatusOr<near::SyncState> state = held.cache->SyncStatus();
  if (absl::IsNotFound(state.status())) return env.Undefined();
  if (!state.ok()) Throw(env, state.status());
  const near::SyncHealth health =
      near::EvaluateSync(*state, held.cache->options().heartbeat_timeout);
  Napi::Object o = Napi::Object::New(env);
  o.Set("phase", near::SyncPhaseName(state->phase));
  o.Set("serving", health.serving);
  o.Set("reason", TextOrUndefined(env, health.reason));
  o.Set("pid", state->pid);
  o.Set("epoch", state->epoch);
  o.Set("heartbeatAge",
        Seconds(env, absl::Milliseconds(near::MonotonicNowMs() - state->heartbeat_ms)));
  o.Set("heartbeatInterval", Seconds(env, absl::Milliseconds(state->heartbeat_interval_ms)));
  o.Set("invalidations", static_cast<double>(state->invalidations));
  o.Set("invalidationsSkipped", static_cast<double>(state->invalidations_skipped));
  o.Set("flushes", static_cast<double>(state->flushes));
  o.Set("resyncs", static_cast<double>(state->resyncs));
  o.Set("keysCleared", static_cast<double>(state->keys_cleared));
  o.Set("foreignMessages", static_cast<double>(state->foreign_messages));
  o.Set("redis", state->redis);
  o.Set("redisRunId", TextOrUndefined(env, state->redis_run_id));
  Napi::Array prefixes = Napi::Array::New(env, state->prefixes.size());
  for (uint32_t i = 0; i < state->prefixes.size(); ++i) {
    prefixes.Set(i, BufferOf(env, state->prefixes[i]));
  }
  o.Set("prefixes", prefixes);
  o.Set("lastError", TextOrUndefined(env, state->last_error));
  return o;
}

Napi::Value NodeNearCache::Health(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Held held = Hold(env);
  const Bytes key(info[0], "key");
  const near::SyncHealth health = held.cache->Health(key.view());
  const bool recorded = held.cache->SyncStatus().ok();
  Napi::Object o = Napi::Object::New(env);
  o.Set("serving", health.serving);
  o.Set("reason", TextOrUndefined(env, health.reason));
  o.Set("heartbeatAge", recorded ? Seconds(env, health.heartbeat_age) : env.Undefined());
  return o;
}

Napi::Value NodeNearCache::Stats(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const near::NearCacheStats s = Hold(env).cache->Stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("hits", static_cast<double>(s.hits));
  o.Set("fills", static_cast<double>(s.fills));
  o.Set("shared", static_cast<double>(s.shared));
  o.Set("direct", static_cast<double>(s.direct));
  o.Set("redisReads", static_cast<double>(s.redis_reads));
  o.Set("redisErrors", static_cast<double>(s.redis_errors));
  o.Set("wrongServer", static_cast<double>(s.wrong_server));
  o.Set("redirects", static_cast<double>(s.redirects));
  return o;
}

Napi::Value NodeNearCache::Close(const Napi::CallbackInfo& info) {
  cache_.reset();  // closes the Redis connection
  return info.Env().Undefined();
}

Napi::Value NodeNearCache::Closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), cache_ == nullptr);
}

void NodeNearCache::Define(Napi::Env env, Napi::Object exports) {
  Napi::Function c = DefineClass(env, "NativeNearCache",
                                 {
                                     InstanceMethod<&NodeNearCache::Get>("get"),
                                     InstanceMethod<&NodeNearCache::GetInfo>("getInfo"),
                                     InstanceMethod<&NodeNearCache::Set>("set"),
                                     InstanceMethod<&NodeNearCache::Delete>("delete"),
                                     InstanceMethod<&NodeNearCache::SyncState>("syncState"),
                                     InstanceMethod<&NodeNearCache::Health>("health"),
                                     InstanceMethod<&NodeNearCache::Stats>("stats"),
                                     InstanceMethod<&NodeNearCache::Close>("close"),
                                     InstanceAccessor<&NodeNearCache::Closed>("closed"),
                                 });
  exports.Set("NativeNearCache", c);
}

}  // namespace shmkv::node
