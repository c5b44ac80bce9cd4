// TEMPORARY forwarding header: UTF-8 well-formedness moved to kv/util/utf8.h
// (namespace shmkv::util). kvcli still includes this file; it goes when
// kvcli includes kv/util/utf8.h.
#ifndef SHMKV_KV_SNAPSHOT_UTF8_H_
#define SHMKV_KV_SNAPSHOT_UTF8_H_

#include "kv/util/utf8.h"

namespace shmkv {

using util::IsUtf8;
using util::Utf8SequenceLength;

}  // namespace shmkv

#endif  // SHMKV_KV_SNAPSHOT_UTF8_H_
