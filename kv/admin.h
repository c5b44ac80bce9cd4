// Administration of the shmkv stores on a host, for tools such as kvcli:
// which System V shared-memory segments exist and which of them are shmkv
// stores, the facts about the segment at one key, and destroying a store
// with an explicit choice about stores that other users own. What one store
// would take and what can still be read of a damaged one are
// Store::CheckFit and Store::SalvageEntries; its statistics are
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
