// The segment image's header: writing a new, empty store into fresh memory,
// validating an existing one before anyone uses it, and marking it
// destroyed. The Store over an image is segment_store.h.
#ifndef SHMKV_KV_INTERNAL_SEGMENT_IMAGE_H_
#define SHMKV_KV_INTERNAL_SEGMENT_IMAGE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"

namespace shmkv::internal {

// Facts about the creator recorded in a new header.
struct CreatorRecord {
  key_t key = 0;
  std::string path;
  int proj_id = 0;
  int mode = 0600;
  int sem_id = -1;
  int64_t created_at_ms = 0;
  bool huge_pages = false;
};

// Writes a complete, empty store into `base` (segment_bytes of zeroed
// memory); the header's init_state becomes kReady last.
absl::Status InitializeImage(char* base, const Geometry& geometry, const CreatorRecord& creator);

// Marks the image destroyed (Header::destroyed): every later operation of
// every process attached to it fails with FailedPrecondition. Store::Destroy
// does this before IPC_RMID.
void MarkImageDestroyed(char* base);

// Checks an existing image's header (magic, version, ABI, checksum,
// geometry) against the `real_size` bytes actually mapped.
absl::StatusOr<Geometry> ValidateImage(const char* base, uint64_t real_size,
                                       const std::string& describe_segment);

// Hash64 of the header's bytes before header_checksum.
uint64_t HeaderChecksum(const Header& h);

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_SEGMENT_IMAGE_H_
