// The sync state of a near cache: what kvsync (tools/kvsync) records in the
// store it keeps in step with Redis, and what readers (NearCache, kvcli)
// read to decide whether the cache may be trusted.
//
// kvsync writes one record, with ordinary Puts, under a reserved key that
// starts with a NUL byte (kSyncStateKey), so no layout change was needed and
// no application key collides with it. Its format is text lines
// "name=value" (FormatSyncState; doc/near_cache.md lists the fields). This
// header is the read side; the record is kvsync's to write.
#ifndef SHMKV_KV_NEAR_SYNC_STATE_H_
#define SHMKV_KV_NEAR_SYNC_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/store.h"

namespace shmkv::near {

// Every key shmkv itself reserves in a store starts with this (a NUL byte,
// then "shmkv."). Applications must not write such keys.
inline constexpr absl::string_view kReservedKeyPrefix("\0shmkv.", 7);
// The sync record: "\0shmkv.near.sync".
inline constexpr absl::string_view kSyncStateKey("\0shmkv.near.sync", 16);

enum class SyncPhase {
  kConnecting,  // (re)connecting to Redis: invalidations may be lost; not synced
  kSynced,      // subscribed and tracking: the cache follows Redis
  kStopped,     // kvsync exited cleanly (SIGTERM/SIGINT); not synced
};
const char* SyncPhaseName(SyncPhase phase);  // "connecting", "synced", "stopped"

struct SyncState {
  pid_t pid = 0;  // kvsync's pid, in its own PID namespace
  // With `pid`, who kvsync is across PID namespaces (platform
  // ProcessIdentity): its start time (clock ticks after boot) and the inode
  // of its PID namespace; 0 when unknown (a record of an earlier build).
  uint64_t pid_start_time = 0;
  uint64_t pid_namespace = 0;
  SyncPhase phase = SyncPhase::kConnecting;
  // Changes (by one) every time the phase changes. NearCache tags each value
  // it fills with the epoch it saw before reading Redis (in
  // EntryMeta::flags) and treats a value with another epoch as absent, so a
  // fill that raced a disconnect, a resync or a FLUSHALL is never served.
  uint32_t epoch = 0;
  // The boot of the host kvsync ran in (HostBootId()). A record of another
  // boot or host (restored from a dump, forged) is never trusted: its
  // heartbeat is of another clock.
  std::string boot_id;
  // MonotonicNowMs() (CLOCK_BOOTTIME) of kvsync's last heartbeat: while
  // synced, the last instant as of which kvsync had applied every
  // invalidation (not when it last wrote the record); and the interval it
  // beats at.
  int64_t heartbeat_ms = 0;
  int64_t heartbeat_interval_ms = 0;
  uint64_t invalidations = 0;  // keys invalidated by Redis and deleted here
  // Invalidated keys the store cannot hold (longer than its max key size):
  // never cached, so there was nothing to delete.
  uint64_t invalidations_skipped = 0;
  uint64_t flushes = 0;       // FLUSHALL/FLUSHDB messages applied
  uint64_t resyncs = 0;       // times sync was re-established after a loss
  uint64_t keys_cleared = 0;  // keys deleted by clearing the prefixes
  std::string redis;          // the address kvsync follows
  // The run_id (INFO server) of the Redis server both of kvsync's
  // connections reached; "" while not synced. A NearCache serves and fills
  // only over a connection to this same server.
  std::string redis_run_id;
  // Messages on the invalidation channel that Redis's tracking does not
  // send (a client's PUBLISH of a single string): each is applied as the
  // invalidation of the key it names, nothing more.
  uint64_t foreign_messages = 0;
  std::vector<std::string> prefixes;  // the key prefixes it tracks (BCAST)
  std::string last_error;             // why sync was last lost ("" if never)

  bool synced() const { return phase == SyncPhase::kSynced; }
  // Whether `key` starts with one of the tracked prefixes.
  bool Tracks(absl::string_view key) const;
};

// Milliseconds and nanoseconds of the heartbeat's clock: CLOCK_BOOTTIME,
// host-wide, which no wall-clock step moves and which, unlike
// CLOCK_MONOTONIC, goes on counting while the host is suspended, so a
// heartbeat from before a suspend is as old as it really is.
int64_t MonotonicNowMs();
int64_t MonotonicNowNs();

// This host's boot id (/proc/sys/kernel/random/boot_id), "" if unreadable.
const std::string& HostBootId();

// Whether readers may serve from and fill the cache now: kvsync synced in
// this boot of this host (boot_id), its heartbeat not in the future and no
// older than `heartbeat_timeout`, and (once the heartbeat is more than three
// intervals old) its process still running (not a zombie, not a later
// process with its pid; of another PID namespace, only the heartbeat
// timeout applies). `reason` says
// why not.
struct SyncHealth {
  bool serving = false;
  std::string reason;
  absl::Duration heartbeat_age;
};
SyncHealth EvaluateSync(const SyncState& state, absl::Duration heartbeat_timeout);
// The same at `now_ms` (MonotonicNowMs()), for a caller that read the clock.
SyncHealth EvaluateSync(const SyncState& state, absl::Duration heartbeat_timeout, int64_t now_ms);

// Whether the kvsync that wrote `state` may still be running: it did not
// record that it stopped, it ran in this boot of this host, its process
// runs (its pid with the same start time; one of another PID namespace
// cannot be checked, and counts as running), and its heartbeat is at most
// `stale_after` old (and not ahead). A second kvsync for the store refuses
// to start then.
bool KvsyncMayBeRunning(const SyncState& state, absl::Duration stale_after);
// Whether `state` was written by this very process (pid, start time and
// PID namespace all equal), and sets those three fields to this process's.
bool WrittenByThisProcess(const SyncState& state);
void SetThisProcess(SyncState* state);

// Reads and parses the record. NotFound (saying to start kvsync) when no
// kvsync has ever run on this store; DataLoss when the record is malformed.
absl::StatusOr<SyncState> ReadSyncState(Store& store);

// The record's text, and back (for kvsync and tests).
std::string FormatSyncState(const SyncState& state);
absl::StatusOr<SyncState> ParseSyncState(absl::string_view record);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_SYNC_STATE_H_
