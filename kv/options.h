// Options for opening a shmkv store and for individual writes.
#ifndef SHMKV_KV_OPTIONS_H_
#define SHMKV_KV_OPTIONS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace shmkv {

class Clock;

// Arena bytes one entry takes: its 28-byte header, key and value, rounded up
// to 8. StoreStats::bytes_used and capacity count in these.
inline constexpr uint64_t EntryBytes(uint64_t key_size, uint64_t value_size) {
  return (28 + key_size + value_size + 7) / 8 * 8;
}

// Hard limits of the segment layout (version 3).
inline constexpr size_t kMaxKeySizeLimit = 4096;
inline constexpr size_t kMaxSegmentBytes =
    size_t{32} << 30;  // index slots hold 32-bit offsets in 8-byte units

enum class OpenMode {
  kCreate,        // fail with AlreadyExists if a store exists at the name
  kAttach,        // fail with NotFound if no store exists at the name
  kOpenOrCreate,  // attach, or create if absent (racing openers: exactly one creates)
};

// Fixed when the store is created (recorded in its header); ignored on attach
// except for the fields marked "per process".
struct Options {
  // Bytes available for entries (keys, values and their 28-byte headers).
  size_t capacity_bytes = size_t{64} << 20;
  // Entries the hash index is sized for (at most 0.7 of its slots); 0 picks
  // capacity_bytes / 64. The index holds up to 1.25x this many entries: past
  // that, a new key evicts (or, without eviction, is refused) even if the
  // arena has room, so set it for stores of many small entries.
  size_t expected_items = 0;
  // Permission bits of the segment and semaphore set.
  int mode = 0600;
  size_t max_key_size = kMaxKeySizeLimit;
  // The largest value a put takes. A store whose capacity is under 4 records
  // of this size (with a key of max_key_size and a 28-byte header) gets one
  // lock stripe and takes values only up to a quarter of its capacity;
  // Store::Info() reports the size in effect.
  size_t max_value_size = size_t{1} << 20;
  // Lock stripes (rounded down to a power of two). Each stripe owns an equal
  // slice of the capacity, so fewer are used when the slices would be smaller
  // than 4 maximal entries; Store::Info() reports the number in effect.
  uint32_t lock_stripes = 64;
  // When false, a full store refuses writes with ResourceExhausted instead
  // of evicting the least recently used entries.
  bool evict = true;
  // TTL for writes that do not give one; zero means entries never expire.
  absl::Duration default_ttl = absl::ZeroDuration();
  // Back the segment with huge pages the administrator reserved
  // (vm.nr_hugepages; SHM_HUGETLB): fewer TLB misses on a large store, and
  // the memory is never swapped. Creation fails with ResourceExhausted (or
  // PermissionDenied, outside vm.hugetlb_shm_group) saying how many pages are
  // free and needed; nothing is left behind.
  bool huge_pages = false;
  // Seed of the key hash. 0 (the default) draws a random one at creation,
  // so nobody can craft keys that pile into one stripe. A fixed seed is for
  // reproducible tests and benchmarks only: whoever knows it can craft them.
  uint64_t hash_seed = 0;

  // --- per process ---
  // Map in every page of the segment when opening (MADV_POPULATE_WRITE), so
  // this process's first touch of each page costs no page fault (tens of
  // microseconds each in a VM). Costs one pass over the segment at open and
  // allocates all of its memory if it was not yet. Best effort.
  bool populate = false;
  // How long one holder may keep a lock this call waits for before the call
  // fails with Unavailable naming the holder's pid. A lock that keeps changing
  // hands is busy, not stuck: the wait for it starts over at each change.
  absl::Duration lock_timeout = absl::Seconds(5);
  // Attach to a store created by another uid (refused by default: a segment
  // squatted at the key by someone else is not trusted).
  bool allow_foreign_owner = false;
  // kOpenOrCreate that finds an existing store created with other settings
  // (capacity, max value size, evict, default TTL, lock stripes): when true,
  // Open fails with FailedPrecondition naming each difference; when false, it
  // attaches and StoreInfo::warnings names them.
  bool require_same_settings = false;
  // Fail Open with FailedPrecondition when the host would remove the store
  // behind its users' backs (kernel.shm_rmid_forced=1, systemd RemoveIPC);
  // otherwise such hazards only appear in StoreInfo::warnings.
  bool require_persistence = false;
  // Time source for TTLs; nullptr uses the system's real-time clock. Must
  // outlive the Store.
  const Clock* clock = nullptr;
};

// How a write behaves when the key exists or not.
enum class WriteCondition {
  kAlways,     // insert or overwrite
  kIfAbsent,   // Add: fails with AlreadyExists if the key is live
  kIfPresent,  // Replace: fails with NotFound if the key is absent
  kIfVersion,  // CompareAndSwap: fails with FailedPrecondition unless the
               // live entry's version equals expected_version
};

// The shortest TTL a store keeps: it counts expiry in whole milliseconds.
inline constexpr absl::Duration kTtlResolution = absl::Milliseconds(1);
// A positive TTL given in seconds (as the C API and the Python module take
// it), never below kTtlResolution, so that a positive TTL never means "no
// TTL"; +inf or a value too large for a Duration never expires. `seconds`
// must be > 0 (not NaN): callers refuse other values first.
inline absl::Duration TtlFromSeconds(double seconds) {
  return std::max(absl::Seconds(seconds), kTtlResolution);
}

struct WriteOptions {
  WriteCondition condition = WriteCondition::kAlways;
  uint64_t expected_version = 0;
  // Zero uses the store's default TTL; absl::InfiniteDuration() never expires,
  // and so does a TTL too long for the expiry time (Unix ms) to fit in int64.
  absl::Duration ttl = absl::ZeroDuration();
  uint32_t flags = 0;  // opaque to shmkv, returned in EntryMeta::flags
};

struct IncrementOptions {
  // When the key is missing it is created holding initial + delta, unless
  // create_if_missing is false (then NotFound).
  bool create_if_missing = true;
  int64_t initial = 0;
  absl::Duration ttl = absl::ZeroDuration();  // applies only on creation
};

struct GetOrComputeOptions {
  // Longest time waiters wait for another process's computation.
  absl::Duration wait_timeout = absl::Seconds(10);
  // A computing process that has not finished by then is presumed dead and
  // another process takes over. One that died is taken over at once (a pid
  // reused by a later process does not count: doc/cache_semantics.md), except
  // from another PID namespace than its own, which only this timeout ends.
  absl::Duration lease_timeout = absl::Seconds(5);
  WriteOptions write;  // how the computed value is stored (condition ignored)
};

}  // namespace shmkv

#endif  // SHMKV_KV_OPTIONS_H_
