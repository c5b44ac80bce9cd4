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

// The slab of index.js (one per JavaScript environment: the main thread
// and each worker thread load the module anew), which get and getMeta copy
// values into: held by a strong reference, so that its bytes stay valid
// whatever JavaScript does, and known here, so that a read into it asks V8
// nothing about the Buffer (asking was about a tenth of a get's time).
// Beside it, index.js's `io`, a Float64Array of 5 the slab readers take
// their offset from and give their results back in (the offset into the
// slab in io[0]'s first 4 bytes, a uint32; the value's length or -1 in
// io[1]; getMeta's metadata in io[2..4]), so that a read converts no
// argument and makes no value. The slab readers are keyed by two Symbols
// the module exports to index.js alone, not by names: a store's own
// getIntoSlab called by mistake would overwrite the bytes of values get
// returned.
struct Slab {
  napi_ref ref = nullptr, io_ref = nullptr;
  char* data = nullptr;
  size_t size = 0;
  double unset_io[5] = {};  // io until setSlab is called: offset 0, in a slab of 0 bytes
  double* io = unset_io;
  napi_ref get_key = nullptr, get_meta_key = nullptr;  // the Symbols
};

// A strong reference to `value`, replacing `*ref`'s.
void Hold(const Napi::Env& env, const Napi::Value& value, napi_ref* ref) {
  napi_ref held = nullptr;
  if (napi_create_reference(env, value, 1, &held) != napi_ok) throw Napi::Error::New(env);
  if (*ref != nullptr) napi_delete_reference(env, *ref);
  *ref = held;
}

// setSlab(buffer, io): the Buffer getIntoSlab and getMetaIntoSlab copy
// into, and the Float64Array of 5 they exchange offset and results through.
Napi::Value SetSlab(const Napi::CallbackInfo& info) {
  Slab& slab = *static_cast<Slab*>(info.Data());
  const Napi::Env env = info.Env();
  const Target whole = TargetOf(env, info[0], Napi::Value(), "setSlab's slab");
  const Napi::Value io = info[1];
  if (!io.IsTypedArray() || io.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      io.As<Napi::TypedArray>().ElementLength() < 5) {
    ThrowType(env, "setSlab's io must be a Float64Array of 5");
  }
  Hold(env, info[0], &slab.ref);
  Hold(env, io, &slab.io_ref);
  slab.data = whole.data;
  slab.size = whole.room;
  slab.io = io.As<Napi::Float64Array>().Data();  // off V8's heap once asked for: it stays put
  return env.Undefined();
}

// Copies key's value into `target` when it fits; returns the value's
// length either way (larger than target.room: nothing was copied), or -1
// when it is absent; with `meta_out`, also the entry's metadata there
// (flags, ttlRemaining, and the version's 64 bits, which index.js reads
// through a BigUint64Array). The read is Store::Get's (usually no lock:
// doc/locking.md, "Optimistic reads") into `scratch`, then copied: View
// would hold the stripe's lock, whose line every reader of the stripe writes.
double ReadInto(const Napi::Env& env, Store& store, absl::string_view key, Target target,
                double* meta_out, std::string& scratch) {
  EntryMeta meta;
  const absl::Status s = store.Get(key, &scratch, meta_out != nullptr ? &meta : nullptr);
  const size_t size = scratch.size();
  if (s.ok() && size != 0 && size <= target.room) std::memcpy(target.data, scratch.data(), size);
  if (scratch.capacity() > kScratchKept) std::string().swap(scratch);  // a large value's
  if (!s.ok()) {  // absl's code() is a call into its library: only on this path
    if (absl::IsNotFound(s)) return -1;
    Throw(env, s);
  }
  if (meta_out != nullptr) {
    meta_out[0] = meta.flags;
    meta_out[1] = absl::ToDoubleSeconds(meta.ttl_remaining);  // inf when it never expires
    std::memcpy(&meta_out[2], &meta.version, sizeof(meta.version));
  }
  return static_cast<double>(size);
}

// getMetaInto's meta argument: a Float64Array of at least 3.
double* MetaOut(const Napi::Env& env, const Napi::Value& meta) {
  if (!meta.IsTypedArray() || meta.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      meta.As<Napi::TypedArray>().ElementLength() < 3) {
    ThrowType(env, "getMetaInto's meta must be a Float64Array of 3");
  }
  return meta.As<Napi::Float64Array>().Data();
}

using Cell = std::shared_ptr<Store>;

// What the readers, functions of one store's own, hold: its cell, the
// string their reads go through (a Store object is used by one thread, its
// own), and the slab of the store's environment.
struct ReaderData {
  std::shared_ptr<Cell> cell;
  std::string scratch;
  const Slab* slab;
};

// The data of the reader `info` calls; throws when its store is closed.
ReaderData& OpenReader(const Napi::CallbackInfo& info) {
  ReaderData& data = *static_cast<ReaderData*>(info.Data());
  if (*data.cell == nullptr) ThrowClosed(info.Env());
  return data;
}

// getInto(key, target, offset = 0): key's value copied into target at
// offset (ReadInto), its length returned (undefined when absent).
// getMetaInto(key, target, offset, meta) also gives its metadata.
template <bool kWithMeta>
Napi::Value Reader(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  ReaderData& data = OpenReader(info);
  const Bytes key(info[0], "key");
  // An omitted offset is left empty: TargetOf then asks nothing of it.
  const Napi::Value offset = info.Length() > 2 ? info[2] : Napi::Value();
  const Target target = TargetOf(env, info[1], offset, "getInto's target");
  double* meta_out = kWithMeta ? MetaOut(env, info[3]) : nullptr;
  const double size = ReadInto(env, **data.cell, key.view(), target, meta_out, data.scratch);
  return size < 0 ? env.Undefined() : Napi::Number::New(env, size);
}

// getIntoSlab(key) and getMetaIntoSlab(key): get and getMeta's reads, into
// the slab at the offset io gives, the length (or -1) and the metadata
// back in io (Slab); they return nothing.
template <bool kWithMeta>
Napi::Value SlabReader(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  ReaderData& data = OpenReader(info);
  const Bytes key(info[0], "key");
  const Slab& slab = *data.slab;
  uint32_t at = 0;
  std::memcpy(&at, slab.io, sizeof(at));
  if (at > slab.size) {
    ThrowRange(env, absl::StrCat("the slab's offset ", at, " is past its ", slab.size, " bytes"));
  }
  const Target target{slab.data + at, slab.size - at};
  slab.io[1] = ReadInto(env, **data.cell, key.view(), target, kWithMeta ? &slab.io[2] : nullptr,
                        data.scratch);
  return Napi::Value();  // undefined
}

// Defines kReader on `self` under `name`, or under the Symbol `symbol`
// refers to when there is one; its data is a ReaderData of cell and slab.
template <Napi::Function::Callback kReader>
void DefineReader(const Napi::Env& env, Napi::Object self, const char* name, napi_ref symbol,
                  const std::shared_ptr<Cell>& cell, const Slab* slab) {
  auto* data = new ReaderData{cell, {}, slab};
  Napi::Function function = Napi::Function::New<kReader>(env, name, data);
  function.AddFinalizer([](Napi::Env, ReaderData* d) { delete d; }, data);
  napi_value key = Napi::String::New(env, name);
  if (symbol != nullptr && napi_get_reference_value(env, symbol, &key) != napi_ok) {
    throw Napi::Error::New(env);
  }
  self.DefineProperty(Napi::PropertyDescriptor::Value(key, function, napi_default));
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
  const auto* slab = static_cast<const Slab*>(info.Data());
  DefineReader<Reader<false>>(env, self, "getInto", nullptr, cell_, slab);
  DefineReader<Reader<true>>(env, self, "getMetaInto", nullptr, cell_, slab);
  DefineReader<SlabReader<false>>(env, self, "getIntoSlab", slab->get_key, cell_, slab);
  DefineReader<SlabReader<true>>(env, self, "getMetaIntoSlab", slab->get_meta_key, cell_, slab);
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
  auto* slab = new Slab;  // this environment's, deleted with it (Node frees its reference)
  napi_add_env_cleanup_hook(
      env, [](void* arg) { delete static_cast<Slab*>(arg); }, slab);
  exports.Set("setSlab", Napi::Function::New<SetSlab>(env, "setSlab", slab));
  for (auto [name, ref] : {std::pair{"getIntoSlab", &slab->get_key},
                           std::pair{"getMetaIntoSlab", &slab->get_meta_key}}) {
    const Napi::Symbol symbol = Napi::Symbol::New(env, name);
    if (napi_create_reference(env, symbol, 1, ref) != napi_ok) throw Napi::Error::New(env);
    exports.Set(name, symbol);
  }
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
                                 },
                                 slab);
  exports.Set("NativeStore", c);
}

}  // namespace shmkv::node
