// How the near-cache addon (shmkv_near.node) reaches a Store opened by the
// store addon (shmkv.node): the store addon's attachmentOf(store) returns an
// External pointing at the Store object's attachment slot (empty once the
// Store is closed), tagged so that the other addon can check it is one.
// Both addons come from one build and are installed side by side.
#ifndef SHMKV_KV_NODE_ATTACHMENT_H_
#define SHMKV_KV_NODE_ATTACHMENT_H_

#include <napi.h>

#include <memory>

#include "shmkv/store.h"

namespace shmkv::node {

// The slot: valid while the Store's JavaScript object lives. The near-cache
// addon only reads it.
using AttachmentSlot = std::shared_ptr<Store>;

// Tags a Store object (on open) and the Externals attachmentOf returns.
inline constexpr napi_type_tag kStoreObjectTag = {0x73686d6b762d6e6fULL, 0x64652d73746f7265ULL};
inline constexpr napi_type_tag kAttachmentTag = {0x73686d6b762d6e6fULL, 0x64652d736c6f7401ULL};

}  // namespace shmkv::node

#endif  // SHMKV_KV_NODE_ATTACHMENT_H_
