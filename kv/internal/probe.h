// What shmkv may conclude about a System V segment before it trusts the
// segment's contents: whether the segment carries a shmkv header (and which
// layout version), and whether the user running this process owns it.
// Store::Open, Store::Destroy and the admin API (kv/admin.h) all decide with
// these, so they agree on what a store is and whose it is.
#ifndef SHMKV_KV_INTERNAL_PROBE_H_
#define SHMKV_KV_INTERNAL_PROBE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kv/platform/ipc.h"
#include "shmkv/store_name.h"

namespace shmkv::internal {

struct HeaderProbe {
  bool has_magic = false;       // starts with kMagic: a shmkv segment of some layout version
  uint32_t layout_version = 0;  // the header's, when has_magic
  bool ready = false;           // has_magic and its creator finished building it (kReady)
  bool destroyed = false;       // this layout version, marked by Destroy (kDestroyed)
};

// Reads the magic number, layout version and init state of the segment
// mapped at `base` (of `segment_bytes` bytes), each with one load: those
// fields sit at the same place in every layout version. The destroyed mark
// is read only in an image of this build's layout version.
HeaderProbe ProbeHeader(const void* base, uint64_t segment_bytes);

// "the segment at key 0x5f3e0001 (shm id 5, 4096 bytes, owner uid 1000)",
// the subject of messages about a segment.
std::string DescribeSegment(const StoreName& name, int shm_id, const platform::SegmentStat& st);

// OK when this process's effective uid created the segment (shm_perm.cuid,
// which nobody can change; the owner uid can be set to anyone by the
// creator, so it proves nothing), or when allow_foreign_owner: anyone who may
// create segments can squat a key, so a segment someone else made is not
// trusted by default. Otherwise PermissionDenied naming the uids, followed by
// `remedy` (what to set to proceed anyway).
absl::Status CheckOwner(const StoreName& name, int shm_id, const platform::SegmentStat& st,
                        bool allow_foreign_owner, absl::string_view remedy);
// The same rule for the store's semaphore set (sem_perm.cuid): whoever
// created the set controls the store-wide lock.
absl::Status CheckSemaphoreOwner(const StoreName& name, int sem_id, const platform::SemStat& st,
                                 bool allow_foreign_owner, absl::string_view remedy);

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_PROBE_H_
