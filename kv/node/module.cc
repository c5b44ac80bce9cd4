// The shmkv Node.js addon: NativeStore and the hook by which index.js gives
// it the ShmkvError classes. index.js is the module's public face.
#include <napi.h>

#include "absl/status/status.h"
#include "kv/node/arguments.h"
#include "kv/node/attachment.h"
#include "kv/node/errors.h"
#include "kv/node/node_store.h"
#include "shmkv/store.h"

namespace shmkv::node {
namespace {

// destroy({ key } or { path, proj }): removes the store.
Napi::Value DestroyJs(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const Napi::Object o = OptionsObject(env, info[0], "Store.destroy's options");
  if (o.IsEmpty()) ThrowType(env, "Store.destroy needs options: { key } or { path, proj }");
  const absl::Status s = Store::Destroy(NameOf(env, o));
  if (!s.ok()) Throw(env, s, Context::kOpen);
  return env.Undefined();
}

// attachmentOf(store): the Store's attachment slot for the near-cache addon
// (attachment.h).
Napi::Value AttachmentOfJs(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[0].As<Napi::Object>().CheckTypeTag(&kStoreObjectTag)) {
    ThrowType(env, "a NearCache needs a Store opened by Store.open");
  }
  const NodeStore* store = NodeStore::Unwrap(info[0].As<Napi::Object>());
  Napi::External<AttachmentSlot> slot =
      Napi::External<AttachmentSlot>::New(env, const_cast<AttachmentSlot*>(store->slot()));
  slot.TypeTag(&kAttachmentTag);
  return slot;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  NodeStore::Define(env, exports);
  exports.Set("attachmentOf", Napi::Function::New(env, AttachmentOfJs, "attachmentOf"));
  exports.Set("destroy", Napi::Function::New(env, DestroyJs, "destroy"));
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactoryJs, "setErrorFactory"));
  return exports;
}

}  // namespace
}  // namespace shmkv::node

static Napi::Object InitShmkv(Napi::Env env, Napi::Object exports) {
  return shmkv::node::Init(env, exports);
}

NODE_API_MODULE(shmkv, InitShmkv)
