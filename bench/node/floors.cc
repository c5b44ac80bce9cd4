// The floors under a get from Node (floors.js): what any Node-API addon pays
// for a call with a string argument, for encoding that string, and for
// returning a new 100-byte Buffer; getInto's work done here with nothing
// else (readInto, argsOnly); and what the C++ API's own read of the same
// keys costs, timed in a loop inside the addon (no call from JS).
// Plain Node-API (C), the cheapest way into an addon.
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace {

// empty(key): nothing but the call.
napi_value Empty(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return nullptr;
}

// encode(key): the call and the key's UTF-8 into a stack buffer.
napi_value Encode(napi_env env, napi_callback_info info) {
  size_t argc = 1, written = 0;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char key[256];
  napi_get_value_string_utf8(env, argv[0], key, sizeof(key), &written);
  return nullptr;
}

// encode16(key): the call and the key's UTF-16 units into a stack buffer
// (a copy for a one-byte string), which an addon can encode to UTF-8 itself.
napi_value Encode16(napi_env env, napi_callback_info info) {
  size_t argc = 1, written = 0;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char16_t key[256];
  napi_get_value_string_utf16(env, argv[0], key, 256, &written);
  return nullptr;
}

// newBuffer(key): the call and a new Buffer holding a copy of 100 bytes.
napi_value NewBuffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  static const char value[100] = {};
  napi_create_buffer_copy(env, sizeof(value), value, nullptr, &result);
  return result;
}

// Attaches the store at the System V key `key` (a number); throws and
// returns null when it cannot.
std::unique_ptr<shmkv::Store> Attach(napi_env env, napi_value key) {
  uint32_t ipc_key = 0;
  napi_get_value_uint32(env, key, &ipc_key);
  auto name = shmkv::StoreName::FromKey(static_cast<key_t>(ipc_key));
  auto store = name.ok() ? shmkv::Store::Open(*name, {}, shmkv::OpenMode::kAttach)
                         : absl::StatusOr<std::unique_ptr<shmkv::Store>>(name.status());
  if (!store.ok()) {
    napi_throw_error(env, nullptr, store.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(store);
}

// The store readInto reads (open(ipcKey) sets it).
std::unique_ptr<shmkv::Store>& OpenStore() {
  static std::unique_ptr<shmkv::Store> store;
  return store;
}

// open(ipcKey): attaches the store that readInto reads.
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  OpenStore() = Attach(env, argv[0]);
  return nullptr;
}

// getInto's work in plain Node-API: the call with three arguments, the
// key's UTF-8, the target's typed-array info and the offset, then (with
// kRead) Store::Get into a string and its copy into the target, else a copy
// of 100 bytes of nothing; returns the size as a number.
template <bool kRead>
napi_value ReadInto(napi_env env, napi_callback_info info) {
  size_t argc = 3, written = 0, length = 0;
  napi_value argv[3], result = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char key[256];
  napi_get_value_string_utf8(env, argv[0], key, sizeof(key), &written);
  napi_typedarray_type type;
  void* data = nullptr;
  napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr);
  double at = 0;
  if (napi_get_value_double(env, argv[2], &at) != napi_ok) at = 0;
  static std::string value(100, 'v');
  if (kRead && !OpenStore()->Get(absl::string_view(key, written), &value).ok()) return nullptr;
  if (value.size() <= length) std::memcpy(data, value.data(), value.size());
  napi_create_uint32(env, static_cast<uint32_t>(value.size()), &result);
  return result;
}

// This thread's CPU time: on a busy machine, without the time other
// processes held the core.
double CpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// storeLoop(ipcKey, ops, keys): CPU ns per Store::Get, then per Store::View
// (copying the value out), of "bench:<i % keys>" in C++.
napi_value StoreLoop(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint32_t ops = 0, count = 0;
  napi_get_value_uint32(env, argv[1], &ops);
  napi_get_value_uint32(env, argv[2], &count);
  const std::unique_ptr<shmkv::Store> store = Attach(env, argv[0]);
  if (store == nullptr) return nullptr;
  std::vector<std::string> keys;
  for (uint32_t i = 0; i < count; ++i) keys.push_back(absl::StrCat("bench:", i));
  std::string value;
  uint64_t misses = 0;
  // Each call attaches anew: the first touch of each page of the segment
  // faults it into this mapping, which would land in whichever loop ran
  // first. One pass over the keys first.
  for (uint32_t i = 0; i < count; ++i) misses += !store->Get(keys[i], &value).ok();
  double start = CpuNs();
  for (uint32_t i = 0; i < ops; ++i) misses += !store->Get(keys[i % count], &value).ok();
  const double get_ns = (CpuNs() - start) / ops;
  char out[256];
  start = CpuNs();
  for (uint32_t i = 0; i < ops; ++i) {
    misses += !store
                   ->View(keys[i % count],
                          [&](absl::string_view v, const shmkv::EntryMeta&) {
                            if (v.size() <= sizeof(out)) std::memcpy(out, v.data(), v.size());
                          })
                   .ok();
  }
  const double view_ns = (CpuNs() - start) / ops;
  if (misses != 0) {
    napi_throw_error(env, nullptr, "storeLoop: a key was missing: fill the store first");
    return nullptr;
  }
  napi_value get, view;
  napi_create_object(env, &result);
  napi_create_double(env, get_ns, &get);
  napi_create_double(env, view_ns, &view);
  napi_set_named_property(env, result, "get", get);
  napi_set_named_property(env, result, "view", view);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor methods[] = {
      {"empty", nullptr, Empty, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"encode", nullptr, Encode, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"encode16", nullptr, Encode16, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"newBuffer", nullptr, NewBuffer, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"storeLoop", nullptr, StoreLoop, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"argsOnly", nullptr, ReadInto<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"readInto", nullptr, ReadInto<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}

}  // namespace

NAPI_MODULE(floors, Init)
