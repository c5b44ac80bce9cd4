#include "kv/internal/segment_image.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/platform/process.h"
#include "kv/platform/robust_mutex.h"

namespace shmkv::internal {

uint64_t HeaderChecksum(const Header& h) { return Hash64(&h, offsetof(Header, header_checksum)); }

namespace {

Header* HeaderOf(char* base) { return reinterpret_cast<Header*>(base); }

}  // namespace

absl::Status InitializeImage(char* base, const Geometry& geometry, const CreatorRecord& creator) {
  Header* h = HeaderOf(base);
  std::memset(h, 0, sizeof(Header));
  // The magic first: a segment without it was abandoned before its creator
  // wrote anything, so its header page is all zero (how Open tells it from a
  // foreign segment). The fence keeps later stores from moving before it.
  Publish(&h->magic, kMagic);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  h->layout_version = kLayoutVersion;
  h->byte_order_mark = kByteOrderMark;
  h->abi = CurrentAbi();
  WriteGeometry(geometry, h);
  h->mode = static_cast<uint32_t>(creator.mode);
  h->created_at_ms = creator.created_at_ms;
  h->creator_uid = geteuid();
  h->creator_pid = platform::CurrentPid();
  h->name_key = creator.key;
  h->name_proj = creator.proj_id;
  std::strncpy(h->name_path, creator.path.c_str(), kNamePathBytes - 1);
  h->sem_id = creator.sem_id;
  h->segment_flags = creator.huge_pages ? kHugePages : 0;
  h->header_checksum = HeaderChecksum(*h);
  Stripe* stripes = reinterpret_cast<Stripe*>(base + geometry.stripe_table_offset);
  for (uint32_t i = 0; i < geometry.stripe_count; ++i) {
    Stripe* s = &stripes[i];
    std::memset(static_cast<void*>(s), 0, sizeof(Stripe));
    if (!platform::InitRobustMutex(&s->mutex)) {
      return absl::InternalError("pthread refused to create a process-shared robust mutex");
    }
    s->next_version = 1;
  }
  Publish(&h->init_state, kReady);
  return absl::OkStatus();
}

void MarkImageDestroyed(char* base) { Publish(&HeaderOf(base)->destroyed, kDestroyed); }

absl::StatusOr<Geometry> ValidateImage(const char* base, uint64_t real_size,
                                       const std::string& describe) {
  if (real_size < kHeaderRegionBytes) {
    return absl::FailedPreconditionError(absl::StrCat(describe, " is not a shmkv store (only ",
                                                      real_size,
                                                      " bytes); pick another key or remove it"));
  }
  Header h;
  std::memcpy(&h, base, sizeof(h));
  if (h.magic != kMagic) {
    return absl::FailedPreconditionError(absl::StrCat(
        describe, " is not a shmkv store (no shmkv magic number); pick another key or remove it"));
  }
  if (h.layout_version != kLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        describe, " has layout version ", h.layout_version, " but this build reads version ",
        kLayoutVersion, "; use a matching shmkv build, or dump it with that build and re-create"));
  }
  AbiFingerprint abi = CurrentAbi();
  if (h.byte_order_mark != kByteOrderMark || std::memcmp(&h.abi, &abi, sizeof(abi)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        describe, " was made by a build with another ABI (pointer ", h.abi.pointer_size,
        " bytes, pthread_mutex_t ", h.abi.mutex_size, " bytes, header ", h.abi.header_size,
        ", stripe ", h.abi.stripe_size, "; this build: ", abi.pointer_size, ", ", abi.mutex_size,
        ", ", abi.header_size, ", ", abi.stripe_size, "); open it with a matching build"));
  }
  if (LoadOnce(&h.destroyed) == kDestroyed) {
    return absl::FailedPreconditionError(absl::StrCat(
        describe, " was destroyed (it is being removed); open the name again in a moment"));
  }
  if (LoadOnce(&h.init_state) != kReady) {
    return absl::FailedPreconditionError(absl::StrCat(
        describe,
        " was never fully initialised (its creator died while building it); destroy it "
        "(kvcli destroy) and create it again"));
  }
  if (h.header_checksum != HeaderChecksum(h)) {
    return absl::DataLossError(absl::StrCat(
        describe,
        " has a corrupt header (checksum mismatch); destroy and re-create it, or restore "
        "it from a kvcli dump"));
  }
  return GeometryFromHeader(h, real_size);
}

}  // namespace shmkv::internal
