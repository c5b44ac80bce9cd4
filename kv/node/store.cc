// Store: opening, closing and the calls on one entry.
#include "shmkv/store.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/node/arguments.h"
#include "kv/node/attachment.h"
#include "kv/node/errors.h"
#include "kv/node/node_store.h"
#include "shmkv/options.h"

namespace shmkv::node {
namespace {

Options OpenOptions(const Napi::Object& o) {
  Options options;
  if (!Field(o, "capacity").IsUndefined()) {
    options.capacity_bytes = Size(Field(o, "capacity"), "capacity");
  }
  if (!Field(o, "maxValue").IsUndefined()) {
    options.max_value_size = Size(Field(o, "maxValue"), "maxValue");
  }
  if (!Field(o, "items").IsUndefined()) options.expected_items = Size(Field(o, "items"), "items");
  options.evict = Flag(Field(o, "evict"), "evict", true);
  const absl::Duration ttl = Ttl(Field(o, "defaultTtl"), "defaultTtl");
  options.default_ttl = ttl == absl::InfiniteDuration() ? absl::ZeroDuration() : ttl;
  options.mode = static_cast<int>(Int(Field(o, "mode"), "mode", 0, 07777, 0600));
  options.lock_timeout = Timeout(Field(o, "lockTimeout"), "lockTimeout", absl::Seconds(5));
  options.allow_foreign_owner = Flag(Field(o, "allowForeignOwner"), "allowForeignOwner", false);
  return options;
}

// The value as a Buffer (a copy), or undefined.
Napi::Value BufferOrUndefined(const Napi::Env& env, const absl::Status& s,
                              const std::string& value) {
  if (absl::IsNotFound(s)) return env.Undefined();
  if (!s.ok()) Throw(env, s);
  return Napi::Buffer<char>::Copy(env, value.data(), value.size());
}

}  // namespace

WriteOptions WriteOptionsOf(const Napi::Env& env, const Napi::Value& arg) {
  const Napi::Object o = OptionsObject(env, arg, "options");
  WriteOptions options;
  options.ttl = Ttl(Field(o, "ttl"), "ttl");
  const Napi::Value flags = Field(o, "flags");
  if (!flags.IsEmpty() && !flags.IsUndefined()) {
    options.flags = static_cast<uint32_t>(Unsigned(flags, "flags", UINT32_MAX));
  }
  return options;
}

NodeStore::NodeStore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NodeStore>(info) {
  const Napi::Env env = info.Env();
  const Napi::Object o = OptionsObject(env, info[0], "Store.open's options");
  if (o.IsEmpty()) ThrowType(env, "Store.open needs options: { key } or { path, proj }");
  const StoreName name = NameOf(env, o);
  const Options options = OpenOptions(o);
  const OpenMode mode =
      Flag(Field(o, "create"), "create", false) ? OpenMode::kOpenOrCreate : OpenMode::kAttach;
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(name, options, mode);
  if (!opened.ok()) Throw(env, opened.status(), Context::kOpen);
  store_ = *std::move(opened);
  info.This().As<Napi::Object>().TypeTag(&kStoreObjectTag);
}

std::shared_ptr<Store> NodeStore::Shared(const Napi::Env& env) const {
  if (store_ == nullptr) {
    throw Napi::Error(env, ErrorValue(env, "ERR_SHMKV_CLOSED",
                                      "this store is closed: open it again with Store.open"));
  }
  return store_;
}

std::string ValueTooLarge(const char* what, size_t size, uint64_t max_value) {
  return absl::StrCat(what, " of ", size, " bytes is over this store's maxValue of ", max_value,
                      " bytes: store smaller values or create the store with a larger maxValue");
}

uint64_t NodeStore::MaxValue(Store& store) {
  if (max_value_ == 0) {
    absl::StatusOr<StoreInfo> info = store.Info();
    if (info.ok()) max_value_ = info->max_value_size;
  }
  return max_value_;
}

void NodeStore::CheckValueSize(const Napi::Env& env, Store& store, size_t size, const char* what) {
  const uint64_t max_value = MaxValue(store);
  if (max_value == 0 || size <= max_value) return;  // the caller throws its own error
  ThrowRange(env, ValueTooLarge(what, size, max_value));
}

Napi::Value NodeStore::Get(const Napi::CallbackInfo& info) {
  std::shared_ptr<Store> store = Shared(info.Env());
  Bytes key(info[0], "key");
  thread_local std::string value;
  return BufferOrUndefined(info.Env(), store->Get(key.view(), &value), value);
}

// getInto(key, scratch): copies the value into `scratch` (index.js's own
// Buffer) and returns its length, so that index.js can return it in a
// Buffer from Node's pool: a Buffer made here has a backing store of its
// own (a malloc, and work for the garbage collector), which costs about as
// much as the store's read. A value larger than `scratch` comes back as a
// Buffer; an absent one as undefined.
Napi::Value NodeStore::GetInto(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  Bytes key(info[0], "key");
  if (!info[1].IsTypedArray()) ThrowType(env, "getInto needs a Buffer to copy into");
  Napi::Uint8Array scratch = info[1].As<Napi::Uint8Array>();
  char* const out = reinterpret_cast<char*>(scratch.Data());
  const size_t capacity = scratch.ByteLength();
  thread_local std::string large;
  size_t size = 0;
  const absl::Status s = store->View(key.view(), [&](absl::string_view value, const EntryMeta&) {
    size = value.size();
    if (size <= capacity) {
      std::memcpy(out, value.data(), size);
    } else {
      large.assign(value.data(), size);
    }
  });
  if (absl::IsNotFound(s)) return env.Undefined();
  if (!s.ok()) Throw(env, s);
  if (size <= capacity) return Napi::Number::New(env, static_cast<double>(size));
  return Napi::Buffer<char>::Copy(env, large.data(), large.size());
}

Napi::Value NodeStore::GetString(const Napi::CallbackInfo& info) {
  std::shared_ptr<Store> store = Shared(info.Env());
  Bytes key(info[0], "key");
  thread_local std::string value;
  const absl::Status s = store->Get(key.view(), &value);
  if (absl::IsNotFound(s)) return info.Env().Undefined();
  if (!s.ok()) Throw(info.Env(), s);
  return Napi::String::New(info.Env(), value.data(), value.size());
}

Napi::Value NodeStore::GetMeta(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  Bytes key(info[0], "key");
  thread_local std::string value;
  EntryMeta meta;
  const absl::Status s = store->Get(key.view(), &value, &meta);
  if (absl::IsNotFound(s)) return env.Undefined();
  if (!s.ok()) Throw(env, s);
  Napi::Object result = Napi::Object::New(env);
  result.Set("value", Napi::Buffer<char>::Copy(env, value.data(), value.size()));
  result.Set("version", Napi::BigInt::New(env, meta.version));
  result.Set("flags", Napi::Number::New(env, meta.flags));
  result.Set("ttlRemaining", Seconds(env, meta.ttl_remaining));
  return result;
}

Napi::Value NodeStore::Has(const Napi::CallbackInfo& info) {
  std::shared_ptr<Store> store = Shared(info.Env());
  Bytes key(info[0], "key");
  absl::StatusOr<bool> r = store->Contains(key.view());
  if (!r.ok()) Throw(info.Env(), r.status());
  return Napi::Boolean::New(info.Env(), *r);
}

Napi::Value NodeStore::Put(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  Bytes key(info[0], "key"), value(info[1], "value");
  const WriteOptions options = WriteOptionsOf(env, info[2]);
  uint64_t version = 0;
  const absl::Status s = store->Put(key.view(), value.view(), options, &version);
  if (absl::IsResourceExhausted(s)) CheckValueSize(env, *store, value.view().size(), "value");
  if (!s.ok()) Throw(env, s);
  return Napi::BigInt::New(env, version);
}

Napi::Value NodeStore::Conditional(const Napi::CallbackInfo& info, WriteCondition condition) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  const bool cas = condition == WriteCondition::kIfVersion;
  Bytes key(info[0], "key"), value(info[cas ? 2 : 1], "value");
  WriteOptions options = WriteOptionsOf(env, info[cas ? 3 : 2]);
  options.condition = condition;
  if (cas) options.expected_version = Unsigned(info[1], "version", UINT64_MAX);
  const absl::Status s = store->Put(key.view(), value.view(), options);
  if (s.ok()) return Napi::Boolean::New(env, true);
  const bool unmet = absl::IsAlreadyExists(s) || absl::IsNotFound(s) ||
                     (cas && absl::IsFailedPrecondition(s) && !IsStoreDestroyed(s));
  if (unmet) return Napi::Boolean::New(env, false);
  if (absl::IsResourceExhausted(s)) CheckValueSize(env, *store, value.view().size(), "value");
  Throw(env, s);
}

Napi::Value NodeStore::Add(const Napi::CallbackInfo& info) {
  return Conditional(info, WriteCondition::kIfAbsent);
}

Napi::Value NodeStore::Replace(const Napi::CallbackInfo& info) {
  return Conditional(info, WriteCondition::kIfPresent);
}

Napi::Value NodeStore::Cas(const Napi::CallbackInfo& info) {
  return Conditional(info, WriteCondition::kIfVersion);
}

Napi::Value NodeStore::Incr(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  Bytes key(info[0], "key");
  const int64_t by = Int(info[1], "by", INT64_MIN, INT64_MAX, 1);
  const Napi::Object o = OptionsObject(env, info[2], "options");
  IncrementOptions options;
  options.initial = Int(Field(o, "init"), "init", INT64_MIN, INT64_MAX, 0);
  options.ttl = Ttl(Field(o, "ttl"), "ttl");
  absl::StatusOr<int64_t> r = store->Increment(key.view(), by, options);
  if (!r.ok()) Throw(env, r.status(), Context::kIncrement);
  return Integer(env, *r);
}

Napi::Value NodeStore::Touch(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  Bytes key(info[0], "key");
  if (info[1].IsUndefined()) ThrowType(env, "touch needs a ttl: seconds > 0, or Infinity");
  const absl::Duration ttl = Ttl(info[1], "ttl");
  const absl::Status s = store->Touch(key.view(), ttl);
  if (absl::IsNotFound(s)) return Napi::Boolean::New(env, false);
  if (!s.ok()) Throw(env, s);
  return Napi::Boolean::New(env, true);
}

Napi::Value NodeStore::Delete(const Napi::CallbackInfo& info) {
  std::shared_ptr<Store> store = Shared(info.Env());
  Bytes key(info[0], "key");
  const absl::Status s = store->Delete(key.view());
  if (absl::IsNotFound(s)) return Napi::Boolean::New(info.Env(), false);
  if (!s.ok()) Throw(info.Env(), s);
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value NodeStore::Close(const Napi::CallbackInfo& info) {
  store_.reset();  // detaches unless an async call still holds the attachment
  return info.Env().Undefined();
}

Napi::Value NodeStore::Closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), store_ == nullptr);
}

void NodeStore::Define(Napi::Env env, Napi::Object exports) {
  Napi::Function c = DefineClass(env, "NativeStore",
                                 {
                                     InstanceMethod<&NodeStore::Get>("get"),
                                     InstanceMethod<&NodeStore::GetInto>("getInto"),
                                     InstanceMethod<&NodeStore::GetString>("getString"),
                                     InstanceMethod<&NodeStore::GetMeta>("getMeta"),
                                     InstanceMethod<&NodeStore::Has>("has"),
                                     InstanceMethod<&NodeStore::Put>("put"),
                                     InstanceMethod<&NodeStore::Add>("add"),
                                     InstanceMethod<&NodeStore::Replace>("replace"),
                                     InstanceMethod<&NodeStore::Cas>("cas"),
                                     InstanceMethod<&NodeStore::Incr>("incr"),
                                     InstanceMethod<&NodeStore::Touch>("touch"),
                                     InstanceMethod<&NodeStore::Delete>("delete"),
                                     InstanceMethod<&NodeStore::Close>("close"),
                                     InstanceAccessor<&NodeStore::Closed>("closed"),
                                     InstanceMethod<&NodeStore::GetMany>("getMany"),
                                     InstanceMethod<&NodeStore::PutMany>("putMany"),
                                     InstanceMethod<&NodeStore::ScanPage>("scanPage"),
                                     InstanceMethod<&NodeStore::DeleteMatching>("deleteMatching"),
                                     InstanceMethod<&NodeStore::Stats>("stats"),
                                     InstanceMethod<&NodeStore::Info>("info"),
                                     InstanceMethod<&NodeStore::Check>("check"),
                                     InstanceMethod<&NodeStore::Flush>("flush"),
                                     InstanceMethod<&NodeStore::FlushExpired>("flushExpired"),
                                     InstanceMethod<&NodeStore::GetOrCompute>("getOrCompute"),
                                     InstanceMethod<&NodeStore::GetAsync>("getAsync"),
                                     InstanceMethod<&NodeStore::PutAsync>("putAsync"),
                                     InstanceMethod<&NodeStore::CheckAsync>("checkAsync"),
                                     InstanceMethod<&NodeStore::FlushAsync>("flushAsync"),
                                 });
  exports.Set("NativeStore", c);
}

}  // namespace shmkv::node
