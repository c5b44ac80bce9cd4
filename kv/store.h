// shmkv: a key-value cache in one System V shared-memory segment, shared by
// every process on the host that opens it.
//
// A Store object is one process's attachment. It is thread-safe. Contents
// outlive every process until Store::Destroy (or kvcli destroy) removes the
// segment. No call throws; every failure is an absl::Status:
//   NotFound            no such store / no such key
//   AlreadyExists       store exists (OpenMode::kCreate) / key exists (Add)
//   PermissionDenied    the segment's mode or owner refuses this process
//   FailedPrecondition  not a shmkv store, other layout version or ABI,
//                       CompareAndSwap version mismatch, value not a number,
//                       or the store was destroyed (IsStoreDestroyed tells)
//   ResourceExhausted   a kernel limit (named, with its value), a value over
//                       the store's maximum, or a full store that may not evict
//   InvalidArgument     empty or oversized key, bad option
//   Unavailable         a lock wait timed out (names the holder's pid), or the
//                       segment's semaphore set was removed
//   DataLoss            the segment's contents are corrupt (run Check(true))
// A message says what to do in this API's terms: an Options field (e.g.
// Options::allow_foreign_owner) or a call (Store::Check, DestroyStore), never
// a kvcli flag; kvcli reports the same advice with its own flags.
#ifndef SHMKV_KV_STORE_H_
#define SHMKV_KV_STORE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "shmkv/options.h"
#include "shmkv/store_name.h"

namespace shmkv {

struct EntryMeta {
  uint64_t version = 0;       // bumped by every write; the CompareAndSwap token
  uint32_t flags = 0;         // WriteOptions::flags of the last write
  int64_t expires_at_ms = 0;  // Unix ms, 0 = never
  size_t value_size = 0;
  // Time left before expiry; absl::InfiniteDuration() when it never expires.
  absl::Duration ttl_remaining = absl::InfiniteDuration();
};

// Counters summed over the lock stripes (each stripe counts its writes under
// its own lock) and, for hits and misses, over per-CPU slots (a read writes
// no line that readers on other CPUs write). Exact once the operations have
// returned, whatever process made them and whether it still runs
// (doc/metrics.md).
struct StoreStats {
  uint64_t hits = 0, misses = 0, puts = 0, deletes = 0;
  uint64_t evictions = 0, expirations = 0;
  uint64_t items = 0;
  uint64_t key_bytes = 0, value_bytes = 0;  // of live entries
  uint64_t bytes_used = 0;  // arena bytes held by live entries (28-byte headers included)
  uint64_t log_bytes = 0;   // arena bytes between the logs' tails and heads: live
                            // entries plus dead ones not yet reclaimed
  uint64_t capacity = 0;    // arena bytes
  // Entries in the hash index (items plus GetOrCompute leases) and how many
  // it can hold. A new key evicts (or, without eviction, is refused) when
  // its stripe's share of index_limit is used up, even if the arena has room:
  // create the store with a larger expected_items then.
  uint64_t index_entries = 0, index_limit = 0;
  uint64_t lock_waits = 0;  // acquisitions that found the lock held
  uint64_t owner_deaths_recovered = 0;
};

// One lock stripe's share of StoreStats: its counters, entries and bytes;
// capacity and index_limit are the stripe's arena bytes and index entries.
// hits and misses are 0: reads are counted per CPU, not per stripe (only
// Store::Stats has them). Counters are read without the stripe's lock, like
// Store::Stats.
struct StripeStats {
  uint32_t stripe = 0;
  StoreStats stats;
};

struct StoreInfo {
  std::string name;  // StoreName::ToString() of the creator's name
  key_t key = 0;     // the key this process opened it at
  int shm_id = -1, sem_id = -1;
  uint32_t layout_version = 0;
  uint64_t segment_bytes = 0, capacity = 0;
  uint32_t lock_stripes = 0;
  // Hash index slots, all stripes (as StorePlan::index_slots, and
  // index_slots in the C and Python APIs).
  uint64_t index_slots = 0;
  uint64_t max_key_size = 0, max_value_size = 0;
  bool evict = true;
  bool huge_pages = false;  // created with Options::huge_pages
  absl::Duration default_ttl;
  int64_t created_at_ms = 0;
  uid_t creator_uid = 0, owner_uid = 0;
  pid_t creator_pid = 0;
  int mode = 0;
  uint64_t attached_processes = 0;
  bool removed = false;               // IPC_RMID done; the segment lives until the last detach
  std::vector<std::string> warnings;  // host settings that break persistence
};

// One key's answer from GetMany: what Get would have returned for it.
struct GetResult {
  // OK; NotFound (with an empty message, so a miss allocates nothing);
  // InvalidArgument for an empty or oversized key; DataLoss for a corrupt
  // stripe; or, for keys a failed call did not reach, the call's error.
  absl::Status status;
  std::string value;  // the value when status is OK, else empty; keeps its capacity
  EntryMeta meta;     // when status is OK
};

// One write of PutMany.
struct PutItem {
  absl::string_view key;
  absl::string_view value;
  const WriteOptions* options = nullptr;  // this item's options; nullptr: PutMany's
};

// One item's answer from PutMany: what Put would have returned for it.
struct PutResult {
  absl::Status status;
  uint64_t version = 0;  // the new entry's version when status is OK
};

struct CheckReport {
  bool ok = true;                     // no problem found (before repair)
  std::vector<std::string> problems;  // what was wrong, one line each
  std::vector<std::string> repairs;   // what repair did, including each dropped entry
  uint64_t entries_checked = 0;
  uint64_t entries_dropped = 0;
};

// What Store::CheckFit found: whether a set of planned writes fits.
struct FitReport {
  bool fits = true;
  // When it does not fit: one sentence naming the first stripe that would
  // overflow, what it would need and what it has.
  std::string why;
  uint32_t stripes_over = 0;  // stripes that would overflow
  uint64_t new_entries = 0;   // keys the store does not hold now
  // The most bytes one stripe would need for what it holds, the writes and
  // its reserve (or 16/15 of that in a store that evicts): a store whose
  // every stripe has this much holds them all.
  uint64_t largest_stripe_need = 0;
};

// What Store::SalvageEntries read and what it skipped.
struct SalvageReport {
  uint64_t entries = 0;            // passed to fn
  uint64_t damaged = 0;            // records (and unusable stripe locks) skipped
  std::vector<std::string> notes;  // one line for each skipped
};

// Which entries Scan, Walk and DeleteMatching select: keys
// starting with `prefix` and, if `match` is not empty, matching the glob
// `match` byte by byte, whatever the locale: * any bytes (crossing '/'), ?
// one byte, [a-z] [!a-z] [[:digit:]] one byte of a set (ranges by byte
// value), \\ escapes (kv/util/glob.h has the full syntax). Both apply when
// both are given. A glob over 1024 bytes, holding a NUL byte or not
// well-formed (an unterminated [, a trailing lone \\, a reversed range) is
// InvalidArgument. A key holding a NUL byte never matches a glob. The glob
// is matched on copies with no lock held; only the prefix test runs under
// a stripe's lock.
struct ScanOptions {
  std::string prefix;
  std::string match;
  // Scan and Walk pass values to their callback only when true; otherwise
  // the value is empty (EntryMeta::value_size still tells its size) and none
  // is copied.
  bool with_values = false;
};

// Whether `status` is the error of a call on a store destroyed (Store::Destroy,
// kvcli destroy) after this process opened it, or whose segment was removed
// from under it otherwise (ipcrm). Its code is FailedPrecondition,
// like a CompareAndSwap mismatch or a value that is not a number; this tells
// it apart. Every later call of that Store fails the same way: open the name
// again to use the store now there.
bool IsStoreDestroyed(const absl::Status& status);

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreName& name, const Options& options,
                                                     OpenMode mode);
  // Removes the segment and its semaphore set; the name is free for a new
  // store. Every later call of a process still attached fails with
  // FailedPrecondition ("store was destroyed"); a call that was already past
  // its lock may still succeed (doc/locking.md, Removal). PermissionDenied,
  // with nothing changed, when this user may not remove the segment or set
  // (only their owner, their creator or root may). A destroy that died
  // before removing the segment is finished by the next Open or Destroy.
  static absl::Status Destroy(const StoreName& name);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Copies the value into *value, reusing its capacity. NotFound if absent
  // (with an empty message, so that a miss allocates nothing). Usually takes
  // no lock (doc/locking.md, "Optimistic reads"); a read it had to discard
  // may have written *value, so its contents are unspecified unless OK.
  virtual absl::Status Get(absl::string_view key, std::string* value,
                           EntryMeta* meta = nullptr) = 0;
  // Zero-copy read: `fn` runs with the stripe lock held and must not call
  // back into this store; the view dies when it returns.
  virtual absl::Status View(
      absl::string_view key,
      absl::FunctionRef<void(absl::string_view value, const EntryMeta& meta)> fn) = 0;
  virtual absl::StatusOr<bool> Contains(absl::string_view key) = 0;

  // Batched reads. (*results)[i] is what Get(keys[i]) would have returned
  // (expiry, CLOCK reference bit, one hit or miss counted per key, duplicate
  // keys answered each time); a bad key fails alone. Faster than a loop of
  // Get: the keys' index slots and records are loaded in parallel, and each
  // stripe's lock is taken once for all its keys (one stripe at a time, in
  // ascending order, in chunks of at most 64 keys). Resizes *results to
  // keys.size() and reuses each element's string capacity, so a caller that
  // keeps *results allocates nothing in steady state. No atomicity across
  // keys: each is read as by its own Get. The keys must not point into
  // *results (its values are overwritten as the call goes).
  // The returned status is OK, or the error that stopped the call: the
  // store was destroyed (FailedPrecondition), a stripe's lock wait timed out
  // (Unavailable) or the lock is unusable (DataLoss). Then the keys served
  // before the failure keep their results, a bad key keeps its own error, and
  // every other key's status is the call's.
  virtual absl::Status GetMany(absl::Span<const absl::string_view> keys,
                               std::vector<GetResult>* results) = 0;

  // Writes; *version (if given) receives the new entry's version.
  virtual absl::Status Put(absl::string_view key, absl::string_view value,
                           const WriteOptions& options = {}, uint64_t* version = nullptr) = 0;
  // Batched writes: (*results)[i] is what Put(items[i].key, items[i].value,
  // *items[i].options or `options`) would have returned, conditions and
  // eviction included. Items are grouped by stripe like GetMany's keys; the
  // items of one key are applied in the order given. The returned status and
  // the results after a failure are as for GetMany. *results is resized to
  // items.size().
  virtual absl::Status PutMany(absl::Span<const PutItem> items, const WriteOptions& options,
                               std::vector<PutResult>* results) = 0;
  absl::Status Add(absl::string_view key, absl::string_view value, WriteOptions options = {});
  absl::Status Replace(absl::string_view key, absl::string_view value, WriteOptions options = {});
  absl::Status CompareAndSwap(absl::string_view key, uint64_t expected_version,
                              absl::string_view value, WriteOptions options = {},
                              uint64_t* version = nullptr);
  // Values are decimal text ("800"); the result wraps on int64 overflow and is
  // an error (FailedPrecondition) when the stored value is not a number. An
  // existing entry keeps its expiry; its flags become 0 (a write that gives
  // none), so a value tagged by its flags (a near-cache fill's epoch) is no
  // longer taken for that.
  virtual absl::StatusOr<int64_t> Increment(absl::string_view key, int64_t delta,
                                            const IncrementOptions& options = {}) = 0;
  // Sets a new TTL (absl::InfiniteDuration() removes it). NotFound if absent.
  // Value, flags and version stay.
  virtual absl::Status Touch(absl::string_view key, absl::Duration ttl) = 0;
  virtual absl::Status Delete(absl::string_view key) = 0;

  // Returns the cached value, or runs `compute` and stores its result. Across
  // processes, concurrent misses on one key run `compute` once: the others
  // wait (up to wait_timeout) and read its result. No lock is held while
  // `compute` runs. An error from `compute` is returned and nothing is stored.
  // `compute` may choose how long its value is kept: *ttl starts as
  // options.write.ttl, and the value is stored with the TTL *ttl holds when
  // `compute` returns (meaning as WriteOptions::ttl; a negative one is
  // InvalidArgument and nothing is stored). E.g. a value read from a source
  // that says when it expires is kept no longer than that.
  virtual absl::StatusOr<std::string> GetOrCompute(
      absl::string_view key,
      absl::FunctionRef<absl::StatusOr<std::string>(absl::Duration* ttl)> compute,
      const GetOrComputeOptions& options = {}) = 0;
  // The same with a `compute` that keeps options.write.ttl.
  absl::StatusOr<std::string> GetOrCompute(absl::string_view key,
                                           absl::FunctionRef<absl::StatusOr<std::string>()> compute,
                                           const GetOrComputeOptions& options = {});

  // Visits every live entry `options` selects (prefix and glob as for Scan),
  // the one walk over a selection: Scan's chunks and guarantees (each entry
  // present for the whole walk exactly once, any other at most once; locks
  // held one short chunk at a time, never for the whole walk), without a
  // cursor. `fn` runs with no lock held and returns false to stop (the walk
  // then returns OK). With options.with_values false (the default), `fn`
  // gets an empty value (EntryMeta::value_size still tells its size) and no
  // value is copied. A bad glob is InvalidArgument, before any entry.
  virtual absl::Status Walk(
      const ScanOptions& options,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view value, const EntryMeta& meta)>
          fn) = 0;
  // Walk with values over the entries whose key starts with `prefix`.
  absl::Status ForEach(
      absl::string_view prefix,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view value, const EntryMeta& meta)>
          fn);

  // Empties the store, one stripe's lock at a time (never the store-wide
  // lock that Open takes). Entries written meanwhile to a stripe it already
  // emptied stay. A lock failure stops it there and is returned.
  virtual absl::Status Clear() = 0;
  // Removes expired entries now (they are otherwise reclaimed lazily).
  virtual absl::StatusOr<uint64_t> FlushExpired() = 0;
  virtual absl::StatusOr<uint64_t> Size() = 0;
  virtual absl::StatusOr<StoreStats> Stats() = 0;
  // Stats() split by lock stripe, in stripe order (Stats() is their sum).
  virtual absl::StatusOr<std::vector<StripeStats>> StatsByStripe() = 0;
  // Zeroes the counters: hits, misses, puts, deletes, evictions,
  // expirations, lock waits and owner deaths recovered. Entries, bytes and
  // the index are not touched. Each stripe is reset under its own lock, so
  // concurrent writers lose no count taken after their stripe was reset.
  // Unavailable if a stripe's lock is held past Options::lock_timeout
  // (stripes before it are reset already; call it again).
  virtual absl::Status ResetCounters() = 0;
  virtual absl::StatusOr<StoreInfo> Info() = 0;
  // Verifies the whole segment, one stripe's lock at a time (never the
  // store-wide lock that Open takes): each stripe is seen as it stands at
  // one instant, writes to other stripes go on meanwhile. With repair, also
  // rebuilds each stripe's index from its log and drops what is corrupt.
  // A lock it cannot take stops it with that error, never as a problem of
  // the stripes it did not reach: Unavailable naming the holder's pid for a
  // lock another process holds past lock_timeout (no damage), the destroyed
  // error if the store was destroyed meanwhile, DataLoss for an unusable
  // lock.
  virtual absl::StatusOr<CheckReport> Check(bool repair) = 0;

  // Whether this store would take a set of writes (keys[i] with a value of
  // value_sizes[i] bytes) as it is now, with no write refused and nothing
  // evicted: for kvcli load, which loads all of a snapshot or nothing. Each
  // key goes to the lock stripe the store itself places it in (its hash with
  // the store's seed), and is looked up there: a key the store holds replaces
  // its entry. Each stripe's sum is held against that stripe's rule:
  //   no eviction: its live entries, plus the writes' bytes beyond what they
  //     replace, plus StripeReserveBytes (kv/admin.h) of its largest entry,
  //     within the stripe's share of the capacity; its index entries plus
  //     the new keys within its index limit (the same test each write makes);
  //   eviction: the same bytes, plus twice the largest write (for the pad
  //     where its log wraps), within 15/16 of the stripe's share (past which
  //     it evicts); the index as above.
  // A store filled by others meanwhile may still refuse or evict.
  // InvalidArgument if the spans differ in length or a key or value size is
  // out of the store's range; the store's errors (destroyed, lock timeout).
  virtual absl::StatusOr<FitReport> CheckFit(absl::Span<const absl::string_view> keys,
                                             absl::Span<const uint64_t> value_sizes) = 0;
  // Every live, unexpired entry whose key starts with `prefix` that can still
  // be read, for kvcli dump --salvage before kvcli check --repair: each index
  // slot is followed to its record, and a record that does not verify (its
  // header out of range, or its key not hashing to the slot) is skipped and
  // reported instead of failing the walk, as Scan and Walk do. The log's
  // head and tail are not used, so a damaged one costs nothing here. A stripe
  // whose lock is unusable is skipped whole (reported). Locks are held a
  // short chunk of slots at a time and `fn` runs with none held; entries
  // written meanwhile may be missed or passed twice. Unavailable when a lock
  // is held past the lock timeout.
  virtual absl::StatusOr<SalvageReport> SalvageEntries(
      absl::string_view prefix,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view value, const EntryMeta& meta)>
          fn) = 0;

  // Walks the store a page at a time, like Redis SCAN. Pass cursor 0 to
  // start, then the cursor the previous call returned; a returned 0 means
  // the walk is done. Each call passes at most `count` entries selected by
  // `options` to `fn`, with no lock held; it may read far through the store
  // to find them. The one exception: keys of one lock stripe whose 64-bit
  // hashes (seeded per store) share their top 32 bits come in one page, so a
  // page of count 1 holds two such keys when it reaches them (among 65,536
  // keys of one stripe, about even odds that one such pair exists; three
  // keys practically never). A page thus holds at most max(count, the
  // largest such group).
  // Guarantee: over a walk from 0 to 0, every entry present for the whole
  // walk is passed exactly once; an entry added, deleted or re-added during
  // the walk at most once; a value overwritten during the walk may be seen
  // old or new. This holds however the store changes between calls
  // (including eviction and Check(true)), because the cursor is a position
  // in the fixed order of the keys' hashes, which no write moves.
  // Locks are held one short chunk at a time (at most 64 index home slots, and
  // about 256 KiB of values with with_values), never for the whole call.
  // A cursor is opaque and belongs to this store: a cursor from another
  // store, or made up, is InvalidArgument. count 0 is InvalidArgument.
  virtual absl::StatusOr<uint64_t> Scan(
      uint64_t cursor, size_t count, const ScanOptions& options,
      absl::FunctionRef<void(absl::string_view key, absl::string_view value, const EntryMeta& meta)>
          fn) = 0;
  // Deletes every live entry selected by `options` (its with_values is
  // ignored) in the same short chunks as Scan, and returns how many it
  // deleted. Entries written meanwhile may or may not be deleted; one
  // present and selected for the whole call always is. A GetOrCompute
  // computing a selected key is cancelled as by Delete: its value is not
  // stored (not counted in the result). Empty options select every entry
  // (Clear() is faster for that).
  virtual absl::StatusOr<uint64_t> DeleteMatching(const ScanOptions& options) = 0;
  // DeleteMatching with only a prefix.
  absl::StatusOr<uint64_t> DeletePrefix(absl::string_view prefix);

 protected:
  Store() = default;
};

}  // namespace shmkv

#endif  // SHMKV_KV_STORE_H_
