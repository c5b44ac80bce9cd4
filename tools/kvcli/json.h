// kvcli writes its one-line JSON objects with util::JsonObject (kv/util/json.h).
#ifndef SHMKV_TOOLS_KVCLI_JSON_H_
#define SHMKV_TOOLS_KVCLI_JSON_H_

#include "kv/util/json.h"

namespace shmkv {
namespace kvcli {

using util::JsonObject;

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_JSON_H_
