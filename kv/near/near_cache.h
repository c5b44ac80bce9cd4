// NearCache: a shmkv store used as the host-wide near cache in front of
// Redis. One copy of a value per host, one Redis read per key per host
// however many processes miss it together, and kept fresh by Redis itself:
// kvsync (tools/kvsync), one per host and store, follows Redis's
// invalidation messages (CLIENT TRACKING, BCAST) and deletes what changed.
//
//   NearCacheOptions options;
//   options.redis = "unix:/run/redis/redis.sock";
//   absl::StatusOr<std::unique_ptr<NearCache>> cache = NearCache::Create(store.get(), options);
//   absl::StatusOr<std::string> v = (*cache)->Get("user:42");
//
// Reads: a value in the store is served from it. A miss reads Redis inside
// Store::GetOrCompute (so concurrent misses across processes make one Redis
// read) and fills the store with a TTL of at most fill_ttl, and at most the
// key's remaining TTL in Redis (read with the value, atomically). When kvsync is
// not running, not synced, or not tracking the key's prefix, nothing in the
// store can be trusted to be fresh: Get reads Redis directly and fills
// nothing. So it does when this object's connection reaches another Redis
// server than the one kvsync follows (each new connection asks INFO server
// for its run_id and compares it with kvsync's record): nothing would
// invalidate what it filled. Writes go to Redis and drop the local copy.
//
// Behind Redis Sentinel (options.redis =
// "sentinel:HOST:PORT[,...]/MASTERNAME", the same as kvsync's --redis), the
// reader asks the sentinels for the primary, uses a server only once it
// answers ROLE as a primary, and asks again after a connection error, a
// READONLY answer, or when the primary's run_id is not the one kvsync
// follows (a failover): it never fills from a replica.
//
// In front of a Redis Cluster (options.redis = "cluster:HOST:PORT[,...]",
// the same as kvsync's --redis), every read, fill and write goes to the
// primary that serves the key's slot (CRC16 with hash tags; the slot map is
// read from the cluster when first needed), follows MOVED (reading the map
// again) and ASK (ASKING, once), and counts them (NearCacheStats::redirects).
// A fill is stored only from a primary whose run_id is in kvsync's record:
// never from a replica, nor from a primary kvsync does not track yet (after
// a failover, until kvsync has resynced): such a read goes direct. A primary
// that cannot be reached makes the reader read the slot map again, and a
// read goes at once to the node that now serves the slot (a killed primary
// failed over to its replica).
//
// Correctness against a write that races a fill (the reader fetched the old
// value just before the write) rests on Store::GetOrCompute discarding a
// computation whose lease was deleted while it ran: kvsync's delete of the
// invalidated key cancels the fill. doc/near_cache.md has the protocol and
// exactly what is and is not guaranteed.
//
// fork(): a child may go on using a NearCache it inherited (gunicorn
// --preload, multiprocessing): its first Redis command drops the inherited
// connection without sending anything on it and opens its own, so parent
// and child never share a socket. As with any lock, fork only while no other
// thread of the parent is inside a call on it.
//
// Errors: Redis down or timing out is Unavailable (a miss or a bypassed read
// then fails: there is nothing trustworthy to serve); a key absent from Redis
// is NotFound; a store failure during a fill falls back to a direct read.
#ifndef SHMKV_KV_NEAR_NEAR_CACHE_H_
#define SHMKV_KV_NEAR_NEAR_CACHE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"

namespace shmkv::near {

class RedisRouter;
struct RedisReply;

struct NearCacheOptions {
  // "unix:/path/to/redis.sock", "host:port", for a Redis Cluster
  // "cluster:HOST:PORT[,HOST:PORT...]", or for a primary under Sentinel
  // "sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME": the Redis kvsync follows.
  std::string redis;
  // TTL of every filled value: the most staleness tolerated should every
  // other mechanism fail (a lost invalidation that no disconnect revealed).
  absl::Duration fill_ttl = absl::Minutes(5);
  // A kvsync heartbeat older than this means kvsync is gone: bypass.
  absl::Duration heartbeat_timeout = absl::Seconds(1);
  // How long a Get may go on trusting the sync record it read last before
  // reading it again. kvsync's mark "not synced" (or a new epoch) is seen by
  // a Get that starts this long after it was written; zero reads the record
  // on every Get. The heartbeat's age is checked on every Get regardless.
  // Reading the record is a second store lookup, on a key every process
  // reads: about a fifth of a hit's cost.
  absl::Duration sync_check_interval = absl::Milliseconds(1);
  // Bounds connecting to Redis and each command.
  absl::Duration redis_timeout = absl::Seconds(1);
  // How long a miss waits for another process's fill of the same key
  // (GetOrComputeOptions::wait_timeout), and when a filler is presumed dead
  // (lease_timeout).
  absl::Duration fill_wait_timeout = absl::Seconds(5);
  absl::Duration fill_lease_timeout = absl::Seconds(3);
};

// How one Get was served.
enum class ReadPath {
  kHit,     // from the store
  kFilled,  // this call read Redis and filled the store
  kShared,  // another process's concurrent fill (no Redis read here)
  kDirect,  // read Redis, nothing filled (bypass; see ReadInfo::bypass_reason)
};
const char* ReadPathName(ReadPath path);  // "hit", "filled", "shared", "direct"

struct ReadInfo {
  ReadPath path = ReadPath::kDirect;
  std::string bypass_reason;  // for kDirect: why the cache was not used
};

// This NearCache object's counters (per process, not host-wide).
struct NearCacheStats {
  uint64_t hits = 0, fills = 0, shared = 0, direct = 0;
  uint64_t redis_reads = 0, redis_errors = 0;
  // Reads that went direct because this NearCache's Redis connection
  // reached another server than the one kvsync follows (or could not tell).
  uint64_t wrong_server = 0;
  // Redis Cluster: MOVED and ASK answers followed (a slot served elsewhere).
  uint64_t redirects = 0;
};

class NearCache {
 public:
  // `store` must outlive the NearCache. Does not connect yet (Redis may be
  // down at start); InvalidArgument for a bad address or option.
  static absl::StatusOr<std::unique_ptr<NearCache>> Create(Store* store, NearCacheOptions options);
  ~NearCache();
  NearCache(const NearCache&) = delete;
  NearCache& operator=(const NearCache&) = delete;

  // The value of `key`: from the store when it can be trusted, else from
  // Redis (see above). NotFound ("no such key in Redis") when Redis has no
  // such key: absence is not cached, and `info` then says kDirect with the
  // bypass reason, or "absent in Redis (absence is not cached)" when the
  // cache was in use. Thread-safe; Redis commands from one NearCache share one
  // connection, so give each busy thread its own NearCache.
  absl::StatusOr<std::string> Get(absl::string_view key, ReadInfo* info = nullptr);

  // SET / DEL in Redis, then delete the local copy (kvsync would too, a
  // moment later). Delete is NotFound when Redis had no such key.
  absl::Status Set(absl::string_view key, absl::string_view value);
  absl::Status Delete(absl::string_view key);

  // kvsync's record in this store (ReadSyncState), and whether this
  // NearCache would use the cache for `key` now.
  absl::StatusOr<SyncState> SyncStatus();
  SyncHealth Health(absl::string_view key);

  NearCacheStats Stats() const;
  const NearCacheOptions& options() const { return options_; }

 private:
  // Whether the cache may be used: kvsync's record when it may (its epoch
  // and the server it follows; shared, not copied: a hit takes no
  // allocation for it), else null and why not.
  struct Trust {
    std::shared_ptr<const SyncState> record;
    std::string reason;
    bool serving() const { return record != nullptr; }
  };
  NearCache(Store* store, NearCacheOptions options, std::unique_ptr<RedisRouter> router);
  // Whether `key` may be served from and filled into the store now. Reads
  // kvsync's record again when the copy here is older than
  // sync_check_interval, or always with `reread`.
  Trust Evaluate(absl::string_view key, bool reread);
  absl::Status ReadStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_);
  // "" when this object's connection for `key` reaches a server kvsync
  // follows (`trust`), else why the cache may not be used; connects if
  // needed (Unavailable when it cannot).
  absl::StatusOr<std::string> ServerMismatch(const Trust& trust, absl::string_view key);
  // One Redis command about `key`, on this object's connection to the
  // server of `key` (RedisRouter: connecting when needed, following
  // redirects, sending an idempotent command once more on a fresh
  // connection after an I/O error). With `server`, fails unless the server
  // that answered is one of those run_ids (comma-separated).
  absl::Status Run(const std::vector<std::string>& argv, absl::string_view key, bool idempotent,
                   RedisReply* reply, const std::string* server = nullptr);
  // Idempotent `commands` sent together to the one Redis server (not routed:
  // RedisRouter::Commands), their replies in one kArray *reply; `server` as
  // for Run.
  absl::Status RunTogether(absl::Span<const std::vector<std::string>> commands, RedisReply* reply,
                           const std::string* server);
  // A fill's read of `key`: *reply is nil, an error, or [value, PTTL's ms]
  // (a script through a routed router, GET and PTTL sent together to one
  // server); `server` as for Run.
  absl::Status FillRead(absl::string_view key, RedisReply* reply, const std::string* server);
  // GET `key`; with `ttl`, also its remaining TTL in Redis, read atomically
  // with the value (nullopt: none).
  absl::StatusOr<std::string> RedisGet(absl::string_view key,
                                       std::optional<absl::Duration>* ttl = nullptr,
                                       const std::string* server = nullptr);
  // Get's steps: read Redis directly, saying why (`reason`); fill a miss
  // under `epoch` through Store::GetOrCompute, from the server whose run id
  // is `run_id`; serve another process's concurrent fill if it is of `epoch`.
  absl::StatusOr<std::string> Direct(absl::string_view key, std::string reason, ReadInfo* info);
  absl::StatusOr<std::string> Fill(absl::string_view key, uint32_t epoch, const std::string& run_id,
                                   ReadInfo* info);
  absl::StatusOr<std::string> Shared(absl::string_view key, uint32_t epoch, ReadInfo* info);

  Store* const store_;
  const NearCacheOptions options_;

  // The two locks every hit takes: a std::mutex annotated for clang's
  // thread-safety analysis. Not absl::Mutex: an Abseil built without NDEBUG
  // (Debian's) runs its deadlock detector on each Lock, about 44 ns a lock
  // and unlock against 3.5 ns.
  class ABSL_LOCKABLE Mutex {
   public:
    void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
    void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

   private:
    std::mutex mu_;
  };
  class ABSL_SCOPED_LOCKABLE MutexLock {
   public:
    explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
    ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
    MutexLock(const MutexLock&) = delete;
    MutexLock& operator=(const MutexLock&) = delete;

   private:
    Mutex* const mu_;
  };

  Mutex redis_mu_;
  // The connections to Redis (per server, per process: a fork() child opens
  // its own), each knowing the run_id of the server it reached.
  const std::unique_ptr<RedisRouter> router_ ABSL_GUARDED_BY(redis_mu_);
  // The same router, for Stats() only: it reads the router's counts, which
  // are atomic, without waiting for a command in progress.
  const RedisRouter* const router_counts_;
  // The parsed sync record, the store version it was parsed from, and when
  // (MonotonicNowNs) it was last read: none until a read succeeds.
  Mutex state_mu_;
  uint64_t state_version_ ABSL_GUARDED_BY(state_mu_) = 0;
  absl::StatusOr<std::shared_ptr<const SyncState>> state_ ABSL_GUARDED_BY(state_mu_);
  std::optional<int64_t> state_read_ns_ ABSL_GUARDED_BY(state_mu_);

  std::atomic<uint64_t> hits_{0}, fills_{0}, shared_{0}, direct_{0};
  std::atomic<uint64_t> redis_reads_{0}, wrong_server_{0};
};

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_NEAR_CACHE_H_
