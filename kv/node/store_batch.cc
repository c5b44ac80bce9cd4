// Store: the calls on many entries (getMany, putMany) and the walks
// (a page of keys, deleteMatching).
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/node/arguments.h"
#include "kv/node/errors.h"
#include "kv/node/node_store.h"
#include "shmkv/store.h"

namespace shmkv::node {
namespace {

Napi::Array ArrayArg(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) {
    ThrowType(value.Env(), absl::StrCat(what, " must be an array"));
  }
  return value.As<Napi::Array>();
}

// Prefix and glob of a walk: { prefix, match } (strings or Buffers).
ScanOptions Selection(const Napi::Env& env, const Napi::Object& o) {
  ScanOptions options;
  const Napi::Value prefix = Field(o, "prefix");
  if (!prefix.IsEmpty() && !prefix.IsUndefined()) {
    options.prefix = std::string(Bytes(prefix, "prefix").view());
  }
  const Napi::Value match = Field(o, "match");
  if (!match.IsEmpty() && !match.IsUndefined()) {
    options.match = std::string(Bytes(match, "match").view());
  }
  (void)env;
  return options;
}

}  // namespace

// getManyInto(keys, sizes, target, offset): every value found, back to
// back, copied into target at offset when they fit in the rest of it
// (returns their total length), else into a Buffer made here (returned);
// sizes[i] is keys[i]'s value's length, -1 when absent (sizes: a
// Float64Array at least as long as keys). index.js's getMany cuts the bytes
// into the values. Each key is read once either way.
Napi::Value NodeStore::GetManyInto(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  const Napi::Array list = ArrayArg(info[0], "keys");
  const uint32_t count = list.Length();
  // The keys' bytes: no allocation per key for keys that fit a string's
  // inline buffer (a Bytes per key, with its 256-byte buffer, would take one).
  std::vector<std::string> held(count);
  for (uint32_t i = 0; i < count; ++i) {
    const Napi::Value key = list.Get(i);
    if (!IsBytes(key)) {
      const std::string what = absl::StrCat("keys[", i, "]");
      const Bytes wrong(key, what.c_str());  // throws a TypeError naming keys[i]
    }
    const Bytes bytes(key, "key");
    held[i].assign(bytes.view().data(), bytes.view().size());
  }
  const std::vector<absl::string_view> keys(held.begin(), held.end());
  thread_local std::vector<GetResult> results;
  const absl::Status s = store->GetMany(keys, &results);
  if (!s.ok()) Throw(env, s);
  size_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const absl::Status& r = results[i].status;
    if (!r.ok() && !absl::IsNotFound(r)) {
      Throw(env, absl::Status(r.code(), absl::StrCat("keys[", i, "]: ", r.message())));
    }
    if (r.ok()) total += results[i].value.size();
  }
  // Checked after the keys: reading them may have run JavaScript (getters).
  if (!info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < count) {
    ThrowType(env, "getManyInto's sizes must be a Float64Array as long as keys");
  }
  double* const sizes = info[1].As<Napi::Float64Array>().Data();
  const Target target = TargetOf(env, info[2], info[3], "getManyInto's target");
  Napi::Value returned;
  char* out = target.data;
  if (total <= target.room) {
    returned = Napi::Number::New(env, static_cast<double>(total));
  } else {
    Napi::Buffer<char> own = Napi::Buffer<char>::New(env, total);
    out = own.Data();
    returned = own;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const GetResult& r = results[i];
    sizes[i] = r.status.ok() ? static_cast<double>(r.value.size()) : -1;
    if (!r.status.ok() || r.value.empty()) continue;
    std::memcpy(out, r.value.data(), r.value.size());
    out += r.value.size();
  }
  return returned;
}

Napi::Value NodeStore::PutMany(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  const Napi::Array list = ArrayArg(info[0], "items");
  const Napi::Object o = OptionsObject(env, info[1], "options");
  WriteOptions options;
  options.ttl = Ttl(Field(o, "ttl"), "ttl");
  std::deque<Bytes> held;
  std::vector<PutItem> items;
  items.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const Napi::Value pair = list.Get(i);
    const std::string what = absl::StrCat("items[", i, "]");
    if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) {
      ThrowType(env, absl::StrCat(what, " must be a [key, value] pair"));
    }
    held.emplace_back(pair.As<Napi::Array>().Get(0u), (what + "[0] (a key)").c_str());
    const absl::string_view key = held.back().view();
    held.emplace_back(pair.As<Napi::Array>().Get(1u), (what + "[1] (a value)").c_str());
    items.push_back(PutItem{key, held.back().view(), nullptr});
  }
  std::vector<PutResult> results;
  const absl::Status s = store->PutMany(items, options, &results);
  for (size_t i = 0; i < items.size(); ++i) {
    const absl::Status& r = results[i].status;
    if (r.ok()) continue;
    if (absl::IsResourceExhausted(r)) {
      CheckValueSize(env, *store, items[i].value.size(),
                     absl::StrCat("items[", i, "]'s value").c_str());
    }
    Throw(env, absl::Status(r.code(), absl::StrCat("items[", i, "]: ", r.message())));
  }
  if (!s.ok()) Throw(env, s);
  return env.Undefined();
}

// scanPage(cursor, count, { prefix, match, asBuffer }) -> [nextCursor, keys]
Napi::Value NodeStore::ScanPage(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  const uint64_t cursor = Unsigned(info[0], "cursor", UINT64_MAX);
  const int64_t count = Int(info[1], "count", 1, 1 << 20, 100);
  const Napi::Object o = OptionsObject(env, info[2], "options");
  const ScanOptions options = Selection(env, o);
  const bool as_buffer = Flag(Field(o, "asBuffer"), "asBuffer", false);
  std::vector<std::string> keys;
  absl::StatusOr<uint64_t> next = store->Scan(
      cursor, static_cast<size_t>(count), options,
      [&](absl::string_view key, absl::string_view, const EntryMeta&) { keys.emplace_back(key); });
  if (!next.ok()) Throw(env, next.status());
  Napi::Array list = Napi::Array::New(env, keys.size());
  for (uint32_t i = 0; i < keys.size(); ++i) {
    if (as_buffer) {
      list.Set(i, Napi::Buffer<char>::Copy(env, keys[i].data(), keys[i].size()));
    } else {
      list.Set(i, Napi::String::New(env, keys[i].data(), keys[i].size()));
    }
  }
  Napi::Array page = Napi::Array::New(env, 2);
  page.Set(0u, Napi::BigInt::New(env, *next));
  page.Set(1u, list);
  return page;
}

Napi::Value NodeStore::DeleteMatching(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  std::shared_ptr<Store> store = Shared(env);
  const ScanOptions options = Selection(env, OptionsObject(env, info[0], "options"));
  if (options.prefix.empty() && options.match.empty()) {
    Throw(env, absl::InvalidArgumentError(
                   "deleteMatching selects nothing: give { prefix } or { match } (flush() "
                   "empties the whole store)"));
  }
  absl::StatusOr<uint64_t> removed = store->DeleteMatching(options);
  if (!removed.ok()) Throw(env, removed.status());
  return Napi::Number::New(env, static_cast<double>(*removed));
}

}  // namespace shmkv::node
