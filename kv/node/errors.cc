#include "kv/node/errors.h"

#include "kv/util/advice_terms.h"
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

// The library's advice (open modes, Options fields, Store calls) in this
// module's terms: Store.open's options and the Store's methods.
std::string InNodeTerms(absl::string_view message) {
  static const util::BindingTerms* const terms = [] {
    auto* t = new util::BindingTerms;
    t->create_store = "Store.open({ ..., create: true, capacity: '64MiB' })";
    t->capacity_example = "capacity: '64MiB'";
    t->open_again = "open it again with Store.open";
    t->open_to_replace = "open with create: true";
    t->capacity = "capacity";
    t->max_value = "maxValue";
    t->max_key = "the maximal key size";
    t->items = "items";
    t->lock_timeout = "lockTimeout";
    t->allow_foreign_owner = "allowForeignOwner";
    t->wait_timeout = "waitTimeout";
    t->lease_timeout = "leaseTimeout";
    t->repair = "check({ repair: true })";
    t->destroy = "Store.destroy";
    t->near_options = "NearCache's options";
    t->fill_ttl = "fillTtl";
    t->heartbeat_timeout = "heartbeatTimeout";
    t->redis_timeout = "redisTimeout";
    t->sync_check_interval = "syncCheckInterval";
    return t;
  }();
  return util::InBindingTerms(message, *terms);
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
