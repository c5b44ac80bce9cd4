// Statistics of one open store beyond Store::Stats and Store::StatsByStripe
// (doc/metrics.md): the sizes of its keys and values, and its largest
// entries. Each is one Store::Walk without values (no value is copied), so
// it works on any Store and holds each stripe's lock only a short chunk at
// a time; entries written during the walk may or may not be counted. The
// errors are Walk's (the store destroyed, a lock wait timed out).
#ifndef SHMKV_KV_STORE_STATS_H_
#define SHMKV_KV_STORE_STATS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/store.h"

namespace shmkv {

// Power-of-two size classes: bucket 0 holds size 0, bucket i >= 1 holds
// sizes 2^(i-1) .. 2^i - 1 (1, 2-3, 4-7, 8-15, ...).
struct SizeBucket {
  uint64_t min_size = 0, max_size = 0;  // inclusive
  uint64_t count = 0;                   // entries of a size in the class
  uint64_t bytes = 0;                   // the sum of their sizes
};
struct SizeHistogram {
  // Buckets 0 up to the largest size's, empty ones included; none when no
  // entry was seen.
  std::vector<SizeBucket> buckets;
  uint64_t count = 0, bytes = 0, largest = 0;
};
// The bucket of `size`: 0 for 0, else the number of bits `size` needs.
size_t SizeBucketOf(uint64_t size);

struct EntrySizes {
  SizeHistogram keys, values;
};
// The sizes of the live entries' keys and values (those whose key starts
// with `prefix`).
absl::StatusOr<EntrySizes> MeasureEntrySizes(Store& store, absl::string_view prefix = "");

struct LargeEntry {
  std::string key;
  uint64_t key_size = 0, value_size = 0;
  // Time left before expiry; absl::InfiniteDuration() when it never expires.
  absl::Duration ttl_remaining = absl::InfiniteDuration();
};
// The `n` live entries with the largest values, largest first (ties: the
// longer key, then the key in byte order), among those whose key starts
// with `prefix`. InvalidArgument when n is 0.
absl::StatusOr<std::vector<LargeEntry>> LargestEntries(Store& store, size_t n,
                                                       absl::string_view prefix = "");

}  // namespace shmkv

#endif  // SHMKV_KV_STORE_STATS_H_
