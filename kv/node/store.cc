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

[[noreturn]] void ThrowClosed(const Napi::Env& env) {
  throw Napi::Error(env, ErrorValue(env, "ERR_SHMKV_CLOSED",
                                    "this store is closed: open it again with Store.open"));
}

// The most a reader's string keeps between reads (larger values are read
// into a string of their own, freed after the copy).
constexpr size_t kScratchKept = 64 * 1024;

// getInto(key, target, offset = 0): copies the value into target at offset
// when it fits in the rest of target; returns the value's length either way
// (larger than the room left: nothing was copied), or undefined when absent.
// index.js's get and getMeta read through it into Buffers of JavaScript's
// own, which cost far less than one made here. With `with_meta`, it is
// getMetaInto(key, target, offset, meta): also the entry's metadata into
// `meta` (a Float64Array of 3: flags, ttlRemaining, and the version's 64
// bits, which index.js reads through a BigUint64Array).
// The read is Store::Get's (usually no lock: doc/locking.md, "Optimistic
// reads") into `scratch`, then copied: View would hold the stripe's lock,
// whose line every reader of the stripe writes.
Napi::Value ReadInto(const Napi::CallbackInfo& info, Store& store, std::string& scratch,
                     bool with_meta) {
  const Napi::Env env = info.Env();
  Bytes key(info[0], "key");
  const Target target = TargetOf(env, info[1], info[2], "getInto's target");
  double* meta_out = nullptr;
  if (with_meta) {
    if (!info[3].IsTypedArray() ||
        info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[3].As<Napi::TypedArray>().ElementLength() < 3) {
      ThrowType(env, "getMetaInto's meta must be a Float64Array of 3");
    }
    meta_out = info[3].As<Napi::Float64Array>().Data();
  }
  EntryMeta meta;
  const absl::Status s = store.Get(key.view(), &scratch, meta_out != nullptr ? &meta : nullptr);
  const size_t size = scratch.size();
  if (s.ok() && size != 0 && size <= target.room) std::memcpy(target.data, scratch.data(), size);
  if (scratch.capacity() > kScratchKept) std::string().swap(scratch);  // a large value's
  if (absl::IsNotFound(s)) return env.Undefined();
  if (!s.ok()) Throw(env, s);
  if (meta_out != nullptr) {
    meta_out[0] = meta.flags;
    meta_out[1] = absl::ToDoubleSeconds(meta.ttl_remaining);  // inf when it never expires
    std::memcpy(&meta_out[2], &meta.version, sizeof(meta.version));
  }
  return Napi::Number::New(env, static_cast<double>(size));
}

using Cell = std::shared_ptr<Store>;

// What getInto and getMetaInto, functions of one store's own, hold: its
// cell, and the string their reads go through (a Store object is used by
// one thread, its own).
struct ReaderData {
  std::shared_ptr<Cell> cell;
  std::string scratch;
};

template <bool kWithMeta>
Napi::Value Reader(const Napi::CallbackInfo& info) {
  ReaderData& data = *static_cast<ReaderData*>(info.Data());
  const Cell& cell = *data.cell;
  if (cell == nullptr) ThrowClosed(info.Env());
  return ReadInto(info, *cell, data.scratch, kWithMeta);
}

template <bool kWithMeta>
void DefineReader(const Napi::Env& env, Napi::Object self, const char* name,
                  const std::shared_ptr<Cell>& cell) {
  auto* data = new ReaderData{cell, {}};
  Napi::Function reader = Napi::Function::New<Reader<kWithMeta>>(env, name, data);
  reader.AddFinalizer([](Napi::Env, ReaderData* d) { delete d; }, data);
  self.DefineProperty(Napi::PropertyDescriptor::Value(name, reader, napi_default));
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
  Napi::Object self = info.This().As<Napi::Object>();
  self.TypeTag(&kStoreObjectTag);
  DefineReader<false>(env, self, "getInto", cell_);
  DefineReader<true>(env, self, "getMetaInto", cell_);
}

std::shared_ptr<Store> NodeStore::Shared(const Napi::Env& env) const {
  if (store_ == nullptr) ThrowClosed(env);
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

Napi::Value NodeStore::GetString(const Napi::CallbackInfo& info) {
  std::shared_ptr<Store> store = Shared(info.Env());
  Bytes key(info[0], "key");
  thread_local std::string value;
  const absl::Status s = store->Get(key.view(), &value);
  if (absl::IsNotFound(s)) return info.Env().Undefined();
  if (!s.ok()) Throw(info.Env(), s);
  return Napi::String::New(info.Env(), value.data(), value.size());
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
                                     InstanceMethod<&NodeStore::GetString>("getString"),
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
                                     InstanceMethod<&NodeStore::GetManyInto>("getManyInto"),
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
