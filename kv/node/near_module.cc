// The near-cache addon (shmkv_near.node): NativeNearCache and the hook by
// which near.js gives it the ShmkvError classes. Separate from shmkv.node so
// that the plain module does not link hiredis.
#include <napi.h>

#include "kv/node/errors.h"
#include "kv/node/near_cache.h"

namespace shmkv::node {
namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  NodeNearCache::Define(env, exports);
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactoryJs, "setErrorFactory"));
  return exports;
}

}  // namespace
}  // namespace shmkv::node

static Napi::Object InitShmkvNear(Napi::Env env, Napi::Object exports) {
  return shmkv::node::Init(env, exports);
}

NODE_API_MODULE(shmkv_near, InitShmkvNear)
