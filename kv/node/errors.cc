#include "kv/node/errors.h"

#include "absl/strings/str_replace.h"
#include "shmkv/store.h"

namespace shmkv::node {
namespace {

// One per Node environment (the main thread and each worker thread).
struct Instance {
  Napi::FunctionReference factory;
};

}  // namespace

const char* ErrorCode(const absl::Status& status, Context context) {
  if (IsStoreDestroyed(status)) return "ERR_SHMKV_DESTROYED";
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return "ERR_SHMKV_NOT_FOUND";
    case absl::StatusCode::kAlreadyExists:
      return "ERR_SHMKV_ALREADY_EXISTS";
    case absl::StatusCode::kPermissionDenied:
      return "ERR_SHMKV_PERMISSION_DENIED";
    case absl::StatusCode::kFailedPrecondition:
      if (context == Context::kOpen) return "ERR_SHMKV_NOT_A_STORE";
      if (context == Context::kIncrement) return "ERR_SHMKV_NOT_A_NUMBER";
      return "ERR_SHMKV_FAILED_PRECONDITION";
    case absl::StatusCode::kResourceExhausted:
      return "ERR_SHMKV_STORE_FULL";
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return context == Context::kRedis ? "ERR_SHMKV_UNAVAILABLE" : "ERR_SHMKV_LOCK_TIMEOUT";
    case absl::StatusCode::kDataLoss:
      return "ERR_SHMKV_CORRUPT";
    case absl::StatusCode::kInvalidArgument:
      return "ERR_SHMKV_INVALID_ARGUMENT";
    default:
      return "ERR_SHMKV_INTERNAL";
  }
}

void SetErrorFactory(const Napi::Env& env, const Napi::Function& factory) {
  Instance* instance = env.GetInstanceData<Instance>();
  if (instance == nullptr) {
    instance = new Instance;
    env.SetInstanceData(instance);  // deleted with the environment
  }
  instance->factory = Napi::Persistent(factory);
}

Napi::Value SetErrorFactoryJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowType(info.Env(), "setErrorFactory needs a function");
  SetErrorFactory(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value ErrorValue(const Napi::Env& env, const char* code, const std::string& message) {
  Instance* instance = env.GetInstanceData<Instance>();
  if (instance == nullptr || instance->factory.IsEmpty()) {
    return Napi::Error::New(env, message).Value();
  }
  return instance->factory.Call({Napi::String::New(env, code), Napi::String::New(env, message)});
}

// The library's advice names C++ Options fields and calls; say them in this
// module's terms (Store.open's options, the Store's methods).
std::string InNodeTerms(absl::string_view message) {
  // At each position the longest matching term wins, so a whole phrase is
  // replaced before the terms inside it.
  return absl::StrReplaceAll(
      message, {{"OpenMode::kCreate and Options::capacity_bytes, e.g. 64 MiB "
                 "(or open with kOpenOrCreate)",
                 "Store.open({ ..., create: true, capacity: '64MiB' })"},
                {"open it again (kOpenOrCreate or kAttach)", "open it again with Store.open"},
                {"open with kCreate or kOpenOrCreate", "open with create: true"},
                {"Options::", ""},
                {"capacity_bytes", "capacity"},
                {"max_value_size", "maxValue"},
                {"max_key_size", "the maximal key size"},
                {"expected_items", "items"},
                {"lock_timeout", "lockTimeout"},
                {"wait_timeout", "waitTimeout"},
                {"lease_timeout", "leaseTimeout"},
                {"allow_foreign_owner", "allowForeignOwner"},
                {"Store::Check(true)", "check({ repair: true })"},
                {"Check(true)", "check({ repair: true })"},
                {"Store::Destroy", "Store.destroy"},
                {"DestroyStore", "Store.destroy"},
                {"NearCacheOptions", "NearCache's options"},
                {"fill_ttl", "fillTtl"},
                {"heartbeat_timeout", "heartbeatTimeout"},
                {"redis_timeout", "redisTimeout"},
                {"sync_check_interval", "syncCheckInterval"}});
}

Napi::Value ErrorValue(const Napi::Env& env, const absl::Status& status, Context context) {
  return ErrorValue(env, ErrorCode(status, context), InNodeTerms(status.message()));
}

void Throw(const Napi::Env& env, const absl::Status& status, Context context) {
  throw Napi::Error(env, ErrorValue(env, status, context));
}

void ThrowType(const Napi::Env& env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

void ThrowRange(const Napi::Env& env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

}  // namespace shmkv::node
