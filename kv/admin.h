// Administration of the shmkv stores on a host, for tools such as kvcli:
// which System V shared-memory segments exist and which of them are shmkv
// stores, the facts about the segment at one key, and destroying a store
// with an explicit choice about stores that other users own; and, for
// kvcli's load and dump --salvage, what a store would take and what can
// still be read of a damaged one. The statistics of one store are
// Store::Stats, Store::StatsByStripe and shmkv/store_stats.h.
//
// Inspecting a segment has no effect on it: the segment is attached
// read-only, only its magic number and layout version are read, and no lock
// is taken and no semaphore set is created, so probing another program's
// segment is harmless. To read a store's contents, counters or full header,
// open it with Store::Open (OpenMode::kAttach; Options::allow_foreign_owner
// for other users' stores), which validates the whole header first.
//
// Every call that asks the kernel returns an absl::Status (or StatusOr) with
// the codes of kv/store.h and a message that says what to do.
#ifndef SHMKV_KV_ADMIN_H_
#define SHMKV_KV_ADMIN_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {

enum class SegmentKind {
  kStore,       // starts with the shmkv magic number (of any layout version)
  kNotStore,    // readable, but holds no shmkv header: another program's
  kUnreadable,  // its mode denies this user read access, so nobody here can tell
  kPrivate,     // key 0 (IPC_PRIVATE): private, or another program's removed segment
  kError,       // could not be inspected; SegmentInfo::detail says why
};

// One segment as the kernel and its first page describe it.
struct SegmentInfo {
  key_t key = 0;
  int shm_id = -1;
  uint64_t segment_bytes = 0;
  uid_t owner_uid = 0;
  uid_t creator_uid = 0;  // the owner may be changed later; the creator may not
  int mode = 0;           // permission bits, e.g. 0600
  // Attachments when the kernel was asked (not counting the probe's own,
  // which ends before the call returns).
  uint64_t attached_processes = 0;
  // IPC_RMID done (kvcli destroy, ipcrm -m): the kernel has set the key to 0
  // (IPC_PRIVATE), so no open can find it, and keeps it only until the last
  // attached process detaches. Such a segment is still classified (a store
  // removed from under its users is kStore with removed set).
  bool removed = false;
  SegmentKind kind = SegmentKind::kError;
  // kStore only: the header's layout version. A store of another version than
  // SupportedLayoutVersion() needs the shmkv build that made it.
  uint32_t layout_version = 0;
  // kStore only: no semaphore set at its key (removed, e.g. with ipcrm -s).
  // Nobody can use the store until its creator uid opens it, which recreates
  // the set with the segment's owner and mode.
  bool semaphore_missing = false;
  // For the other kinds, one line saying why the segment is not a store
  // (or could not be inspected); empty for kStore.
  std::string detail;
};

// The layout version this build creates and opens.
uint32_t SupportedLayoutVersion();

// What Store::Open would build from `options` for a new store, without
// building it. A small capacity lowers the largest value (a stripe holds at
// least four of its largest entries) and the number of lock stripes.
struct StorePlan {
  uint64_t segment_bytes = 0;
  uint64_t capacity = 0;  // arena bytes, as StoreInfo::capacity
  uint32_t lock_stripes = 0;
  uint64_t index_slots = 0;
  uint64_t max_key_size = 0, max_value_size = 0;
};

// InvalidArgument or ResourceExhausted naming the option to change when no
// store can be built from `options`.
absl::StatusOr<StorePlan> PlanStore(const Options& options);

// The arena bytes each lock stripe of the store `info` describes keeps free
// beside its live entries once the largest entry it has held takes
// `largest_entry_bytes` (EntryBytes), the store's own rule
// (doc/cache_semantics.md): twice the largest entry, so that compaction can
// move a live entry, at most 1/16 of a stripe's share of the capacity in a
// store that evicts; three times it in one that does not (the third for an
// overwrite, written while the entry it replaces is still live). Entries
// can take at most capacity less lock_stripes times this.
uint64_t StripeReserveBytes(const StoreInfo& info, uint64_t largest_entry_bytes);

// Whether `store` would take a set of writes (keys[i] with a value of
// value_sizes[i] bytes) as it is now, with no write refused and nothing
// evicted: for kvcli load, which loads all of a snapshot or nothing. Each
// key goes to the lock stripe the store itself places it in (its hash with
// the store's seed), and is looked up there: a key the store holds replaces
// its entry. Each stripe's sum is held against that stripe's rule:
//   no eviction: its live entries, plus the writes' bytes beyond what they
//     replace, plus StripeReserveBytes of its largest entry, within the
//     stripe's share of the capacity; its index entries plus the new keys
//     within its index limit (the same test each write makes);
//   eviction: the same bytes, plus twice the largest write (for the pad
//     where its log wraps), within 15/16 of the stripe's share (past which
//     it evicts); the index as above.
// A store filled by others meanwhile may still refuse or evict.
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
// ---- Reading a damaged store.
// What SalvageEntries read and what it skipped.
struct SalvageReport {
  uint64_t entries = 0;            // passed to fn
  uint64_t damaged = 0;            // records (and unusable stripe locks) skipped
  std::vector<std::string> notes;  // one line for each skipped
};
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
absl::StatusOr<SalvageReport> SalvageEntries(
    Store& store, absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view key, absl::string_view value, const EntryMeta& meta)>
        fn);

// InvalidArgument if the spans differ in length or a key or value size is
// out of the store's range; the store's errors (destroyed, lock timeout);
// Unimplemented for a Store not opened with Store::Open.
absl::StatusOr<FitReport> CheckFit(Store& store, absl::Span<const absl::string_view> keys,
                                   absl::Span<const uint64_t> value_sizes);

// Every System V shared-memory segment on the host, classified, sorted by key
// (as an unsigned number) and then shm id. Segments removed while the list
// is made are left out. Needs Linux's /proc/sysvipc/shm (Unavailable
// without it), which lists every segment whatever its mode.
absl::StatusOr<std::vector<SegmentInfo>> ListSegments();

// The segment at `name`'s key, classified. NotFound when there is none.
absl::StatusOr<SegmentInfo> ProbeSegment(const StoreName& name);

struct DestroyOptions {
  // Destroy a store that this user (effective uid) neither owns nor
  // created. Off by default, as for Store::Open: a store at a shared key may
  // be another user's data.
  bool allow_foreign_owner = false;
};

struct DestroyResult {
  // Processes attached when the store was removed: every call they make
  // fails with FailedPrecondition ("store was destroyed") until they open the
  // name again; new opens find no store.
  uint64_t attached_processes = 0;
};

// Store::Destroy, once the owner is checked. Errors:
//   NotFound            nothing to destroy at the key
//   PermissionDenied    another user's store without allow_foreign_owner,
//                       or this user may not remove it (not its owner,
//                       creator or root): then nothing was changed
//   FailedPrecondition  the segment at the key is not a shmkv store (it is
//                       left alone)
absl::StatusOr<DestroyResult> DestroyStore(const StoreName& name,
                                           const DestroyOptions& options = {});

}  // namespace shmkv

#endif  // SHMKV_KV_ADMIN_H_
