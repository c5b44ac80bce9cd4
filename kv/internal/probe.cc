#include "kv/internal/probe.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "kv/internal/layout.h"

namespace shmkv::internal {

HeaderProbe ProbeHeader(const void* base, uint64_t segment_bytes) {
  HeaderProbe probe;
  if (segment_bytes < kHeaderRegionBytes) return probe;
  const Header* h = static_cast<const Header*>(base);
  if (LoadOnce(&h->magic) != kMagic) return probe;
  probe.has_magic = true;
  probe.layout_version = LoadOnce(&h->layout_version);
  probe.ready = LoadOnce(&h->init_state) == kReady;
  probe.destroyed = probe.layout_version == kLayoutVersion && LoadOnce(&h->destroyed) == kDestroyed;
  return probe;
}

std::string DescribeSegment(const StoreName& name, int shm_id, const platform::SegmentStat& st) {
  return absl::StrCat("the segment at ", name.ToString(), " (shm id ", shm_id, ", ", st.size,
                      " bytes, owner uid ", st.owner_uid, ")");
}

absl::Status CheckOwner(const StoreName& name, int shm_id, const platform::SegmentStat& st,
                        bool allow_foreign_owner, absl::string_view remedy) {
  // Only the creator uid is trusted: the creator may IPC_SET the owner uid
  // to anyone, so an owner uid equal to ours proves nothing.
  const uid_t me = geteuid();
  if (allow_foreign_owner || st.creator_uid == me) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(DescribeSegment(name, shm_id, st), " was created by uid ", st.creator_uid,
                   " (owner uid ", st.owner_uid, "), not by this user (uid ", me, "); ", remedy));
}

absl::Status CheckSemaphoreOwner(const StoreName& name, int sem_id, const platform::SemStat& st,
                                 bool allow_foreign_owner, absl::string_view remedy) {
  const uid_t me = geteuid();
  if (allow_foreign_owner || st.creator_uid == me) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("the semaphore set at ", name.ToString(),
                                                  " (sem id ", sem_id, ") was created by uid ",
                                                  st.creator_uid, " (owner uid ", st.owner_uid,
                                                  "), not by this user (uid ", me, "); ", remedy));
}

}  // namespace shmkv::internal
