// The Store class of the Node module: one process's (or worker thread's)
// attachment, wrapping shmkv::Store. Methods are split by concern:
// store.cc (open, close, one entry), store_batch.cc (many entries, walks),
// store_admin.cc (stats, info, check, flush), offload.cc (what may wait:
// getOrCompute and the async forms, on threads of their own).
#ifndef SHMKV_KV_NODE_NODE_STORE_H_
#define SHMKV_KV_NODE_NODE_STORE_H_

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "shmkv/store.h"

namespace shmkv::node {

class NodeStore : public Napi::ObjectWrap<NodeStore> {
 public:
  // Defines the class on `exports` (as exports.NativeStore).
  static void Define(Napi::Env env, Napi::Object exports);
  // new NativeStore(options): opens the store (index.js's Store.open).
  explicit NodeStore(const Napi::CallbackInfo& info);

  // The attachment, held for the length of a call; throws
  // ERR_SHMKV_CLOSED once close() was called.
  std::shared_ptr<Store> Shared(const Napi::Env& env) const;
  // The attachment itself, empty once closed (for the near-cache addon,
  // attachment.h): valid while this object lives.
  const std::shared_ptr<Store>* slot() const { return &store_; }

 private:
  // store.cc
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value GetInto(const Napi::CallbackInfo& info);
  Napi::Value GetString(const Napi::CallbackInfo& info);
  Napi::Value GetMeta(const Napi::CallbackInfo& info);
  Napi::Value Has(const Napi::CallbackInfo& info);
  Napi::Value Put(const Napi::CallbackInfo& info);
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Replace(const Napi::CallbackInfo& info);
  Napi::Value Cas(const Napi::CallbackInfo& info);
  Napi::Value Incr(const Napi::CallbackInfo& info);
  Napi::Value Touch(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  // store_batch.cc
  Napi::Value GetMany(const Napi::CallbackInfo& info);
  Napi::Value PutMany(const Napi::CallbackInfo& info);
  Napi::Value ScanPage(const Napi::CallbackInfo& info);
  Napi::Value DeleteMatching(const Napi::CallbackInfo& info);
  // store_admin.cc
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Check(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value FlushExpired(const Napi::CallbackInfo& info);
  // offload.cc
  Napi::Value GetOrCompute(const Napi::CallbackInfo& info);
  Napi::Value GetAsync(const Napi::CallbackInfo& info);
  Napi::Value PutAsync(const Napi::CallbackInfo& info);
  Napi::Value CheckAsync(const Napi::CallbackInfo& info);
  Napi::Value FlushAsync(const Napi::CallbackInfo& info);

  // A write with a condition (add, replace, cas): false when it does not hold.
  Napi::Value Conditional(const Napi::CallbackInfo& info, WriteCondition condition);
  // Turns a ResourceExhausted of a value over max_value into a RangeError.
  void CheckValueSize(const Napi::Env& env, Store& store, size_t size, const char* what);
  // The store's max_value_size (asked once); 0 when it cannot be read.
  uint64_t MaxValue(Store& store);

  std::shared_ptr<Store> store_;
  uint64_t max_value_ = 0;  // the store's max_value_size, once asked
};

// put's options { ttl, flags } (store.cc).
WriteOptions WriteOptionsOf(const Napi::Env& env, const Napi::Value& arg);

// The RangeError's message for `what` of `size` bytes over `max_value`.
std::string ValueTooLarge(const char* what, size_t size, uint64_t max_value);

// A CheckReport as { ok, problems, repairs, entriesChecked, entriesDropped }
// (store_admin.cc; also what checkAsync resolves to).
Napi::Value ReportValue(const Napi::Env& env, const CheckReport& report);

}  // namespace shmkv::node

#endif  // SHMKV_KV_NODE_NODE_STORE_H_
