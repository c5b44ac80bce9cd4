// Where each region of a store lives, as validated numbers in the process's
// own memory. Computed once at creation (from Options) or at attach (from the
// untrusted header, then checked); no later code re-reads these from the
// segment.
#ifndef SHMKV_KV_INTERNAL_GEOMETRY_H_
#define SHMKV_KV_INTERNAL_GEOMETRY_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "kv/internal/layout.h"
#include "shmkv/options.h"

namespace shmkv::internal {

// The public EntryBytes (kv/options.h) is this layout's record size.
static_assert(EntryBytes(1, 2) == RecordBytes(1, 2) &&
                  EntryBytes(100, 1000) == RecordBytes(100, 1000),
              "EntryBytes must match RecordBytes");

struct Geometry {
  uint64_t segment_bytes = 0;
  uint64_t stripe_table_offset = 0;
  uint64_t index_offset = 0;
  uint64_t arena_offset = 0;
  uint64_t stripe_arena_bytes = 0;
  uint32_t stripe_count = 0;
  uint32_t slots_per_stripe = 0;
  uint32_t max_key_size = 0;
  uint32_t max_value_size = 0;
  bool evict = true;
  int64_t default_ttl_ms = 0;
  // Seeds every key hash (Hash64(key, size, hash_seed)): chosen at random
  // when a store is created, so nobody can craft keys that pile into one
  // stripe and probe run. PlanGeometry leaves it 0; the creator draws it.
  uint64_t hash_seed = 0;

  uint64_t capacity() const { return stripe_arena_bytes * stripe_count; }
  uint64_t max_record_bytes() const { return RecordBytes(max_key_size, max_value_size); }
};

// The geometry a new store gets from `options`, or InvalidArgument /
// ResourceExhausted saying which option to change.
// The result passes GeometryFromHeader (the check every opener makes), so a
// store built from it is one that every other process accepts.
absl::StatusOr<Geometry> PlanGeometry(const Options& options);

// A random hash seed (getrandom; never fails, falls back to the clock and pid).
uint64_t RandomHashSeed();

// Checks that a geometry read from a header is self-consistent and fits in a
// segment of `real_size` bytes; FailedPrecondition/DataLoss otherwise.
absl::StatusOr<Geometry> GeometryFromHeader(const Header& header, uint64_t real_size);

void WriteGeometry(const Geometry& geometry, Header* header);

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_GEOMETRY_H_
