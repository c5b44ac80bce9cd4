// NearCache for Node (the near-cache addon, shmkv_near.node): the C++
// NearCache (kv/near) over a Store opened by the store addon, reached
// through its attachment slot (attachment.h). near.js is its public face.
#ifndef SHMKV_KV_NODE_NEAR_CACHE_H_
#define SHMKV_KV_NODE_NEAR_CACHE_H_

#include <napi.h>

#include <memory>

#include "kv/node/attachment.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/store.h"

namespace shmkv::node {

class NodeNearCache : public Napi::ObjectWrap<NodeNearCache> {
 public:
  // Defines the class on `exports` (as exports.NativeNearCache).
  static void Define(Napi::Env env, Napi::Object exports);
  // new NativeNearCache(store, slot, options): store is the Store object
  // (kept alive by this one), slot its attachmentOf(store).
  explicit NodeNearCache(const Napi::CallbackInfo& info);

 private:
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value GetInfo(const Napi::CallbackInfo& info);
  Napi::Value Set(const Napi::CallbackInfo& info);
  Napi::Value Delete(const Napi::CallbackInfo& info);
  Napi::Value SyncState(const Napi::CallbackInfo& info);
  Napi::Value Health(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);

  // The cache, with its store held for the length of a call; throws
  // ERR_SHMKV_CLOSED when either was closed.
  struct Held {
    std::shared_ptr<Store> store;
    std::shared_ptr<near::NearCache> cache;
  };
  Held Hold(const Napi::Env& env) const;

  Napi::ObjectReference store_object_;  // keeps slot_ valid
  const AttachmentSlot* slot_ = nullptr;
  std::shared_ptr<near::NearCache> cache_;
};

}  // namespace shmkv::node

#endif  // SHMKV_KV_NODE_NEAR_CACHE_H_
