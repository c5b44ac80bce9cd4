/* shmkv's near cache from C: a store used as the host-wide cache in front of
 * Redis (NearCache, kv/near/near_cache.h), kept fresh by kvsync
 * (tools/kvsync) following Redis's invalidation messages.
 *
 *   shmkv_near* near = NULL;
 *   shmkv_error err;
 *   if (shmkv_near_open(store, "unix:/run/redis/redis.sock", NULL, &near, &err) != SHMKV_OK) ...
 *   shmkv_near_get(near, "user:42", 7, buf, sizeof buf, &size, NULL, &err);
 *   shmkv_near_close(&near);
 *
 * It lives in its own library, libshmkv_near (pkg-config shmkv-near), which
 * links hiredis: programs that use only shmkv.h need neither.
 *
 * The conventions are shmkv.h's: shmkv_status results, a last argument
 * `shmkv_error* err` that may be NULL, keys and values as pointer and length,
 * durations in seconds as doubles, INVALID_ARGUMENT (never a crash) for NULL
 * handles and pointers and bad numbers, and shmkv_near_close() setting the
 * handle to NULL. Beyond them:
 * - UNAVAILABLE: Redis is down or timed out (a miss or a bypassed read then
 *   fails: there is nothing trustworthy to serve); NOT_FOUND: Redis has no
 *   such key (absence is not cached).
 * - A handle may be used from several threads, but its Redis commands share
 *   one connection: give each busy thread its own handle.
 * - The store handle must stay open until the near handle is closed.
 * - After fork() parent and child may both use a handle opened before it:
 *   the child's first Redis command opens its own connection (the
 *   inherited one is closed without sending anything on it). Fork only
 *   while no other thread is inside a call on the handle.
 * doc/near_cache.md describes the protocol and what it guarantees.
 */
#ifndef SHMKV_KV_NEAR_C_NEAR_H_
#define SHMKV_KV_NEAR_C_NEAR_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmkv/shmkv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shmkv_near shmkv_near;
typedef struct shmkv_near_options shmkv_near_options;

/* Options with NearCacheOptions' defaults (fill TTL 5 min, heartbeat timeout
 * 1 s, Redis timeout 1 s, fill wait 5 s, fill lease 3 s, sync check 1 ms). NULL when out of
 * memory. The setters ignore a NULL `options`; shmkv_near_open checks the
 * values (INVALID_ARGUMENT naming the bad one). */
SHMKV_EXPORT shmkv_near_options* shmkv_near_options_create(void);
SHMKV_EXPORT void shmkv_near_options_destroy(shmkv_near_options* options);
/* TTL of every value filled from Redis: the most staleness tolerated should
 * every other mechanism fail. > 0. */
SHMKV_EXPORT void shmkv_near_options_set_fill_ttl(shmkv_near_options* options, double seconds);
/* A kvsync heartbeat older than this means kvsync is gone: reads bypass the
 * cache. > 0. */
SHMKV_EXPORT void shmkv_near_options_set_heartbeat_timeout(shmkv_near_options* options,
                                                           double seconds);
/* Bounds connecting to Redis and each command. > 0. */
SHMKV_EXPORT void shmkv_near_options_set_redis_timeout(shmkv_near_options* options, double seconds);
/* How long a miss waits for another process's fill of the same key (>= 0),
 * and when a filler is presumed dead (> 0). */
SHMKV_EXPORT void shmkv_near_options_set_fill_wait_timeout(shmkv_near_options* options,
                                                           double seconds);
SHMKV_EXPORT void shmkv_near_options_set_fill_lease_timeout(shmkv_near_options* options,
                                                            double seconds);
/* How long a read may trust kvsync's record as it last read it before
 * reading it again (>= 0; 0 reads it on every get): a "not synced" mark is
 * seen that much later at most. The heartbeat's age is checked every get. */
SHMKV_EXPORT void shmkv_near_options_set_sync_check_interval(shmkv_near_options* options,
                                                             double seconds);

/* A near cache over `store` and the Redis at `redis`, "unix:/path/to/sock",
 * "host:port", "cluster:HOST:PORT[,HOST:PORT...]" for a Redis Cluster, or
 * "sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME" for the primary Redis
 * Sentinel names (the Redis kvsync follows). `options` may be NULL (the
 * defaults). Does not connect yet: Redis may be down at start, and reads then
 * fail with UNAVAILABLE. INVALID_ARGUMENT for a bad address or option. On
 * success *near is a new handle; on failure it is set to NULL. */
SHMKV_EXPORT shmkv_status shmkv_near_open(shmkv_store* store, const char* redis,
                                          const shmkv_near_options* options, shmkv_near** near,
                                          shmkv_error* err);
/* Frees the handle (and its Redis connection) and sets *near to NULL. */
SHMKV_EXPORT void shmkv_near_close(shmkv_near** near);

/* ---------------------------------------------------------------- reads --- */

typedef enum shmkv_near_path {
  SHMKV_NEAR_HIT = 0,    /* from the store */
  SHMKV_NEAR_FILLED = 1, /* this call read Redis and filled the store */
  SHMKV_NEAR_SHARED = 2, /* another process's concurrent fill (no Redis read here) */
  SHMKV_NEAR_DIRECT = 3  /* read Redis, filled nothing: the cache was bypassed */
} shmkv_near_path;
/* "hit", "filled", "shared", "direct"; "unknown" otherwise. */
SHMKV_EXPORT const char* shmkv_near_path_name(int path);

/* How one shmkv_near_get was served. */
typedef struct shmkv_near_read {
  int path; /* a shmkv_near_path */
  /* For SHMKV_NEAR_DIRECT: why the cache was not used (kvsync not running,
   * not synced, not tracking the key's prefix...); "" otherwise. Cut to fit. */
  char bypass_reason[512];
} shmkv_near_read;

/* The value of `key`: from the store when it can be trusted, else from Redis
 * (filling the store when kvsync keeps it fresh). Copies the value into buf
 * as shmkv_get does: BUFFER_TOO_SMALL with *value_size = the length needed
 * when it does not fit (the read happened all the same, and a fill was
 * stored); buf may be NULL with buf_size 0 to ask for the size. `read` may
 * be NULL; it is filled whenever the arguments were valid, whatever the
 * outcome. NOT_FOUND ("no such key in Redis") when Redis has no such key:
 * absence is not cached, and `read` says DIRECT with the bypass reason, or
 * "absent in Redis (absence is not cached)" when the cache was in use. */
SHMKV_EXPORT shmkv_status shmkv_near_get(shmkv_near* near, const void* key, size_t key_size,
                                         void* buf, size_t buf_size, size_t* value_size,
                                         shmkv_near_read* read, shmkv_error* err);

/* --------------------------------------------------------------- writes --- */

/* SET in Redis, then drops the local copy (kvsync drops it everywhere else on
 * the host it follows). */
SHMKV_EXPORT shmkv_status shmkv_near_set(shmkv_near* near, const void* key, size_t key_size,
                                         const void* value, size_t value_size, shmkv_error* err);
/* DEL in Redis, then drops the local copy. NOT_FOUND when Redis had no such
 * key. */
SHMKV_EXPORT shmkv_status shmkv_near_delete(shmkv_near* near, const void* key, size_t key_size,
                                            shmkv_error* err);

/* --------------------------------------------------------------- health --- */

/* The structs below may gain fields at their end in later versions: pass
 * sizeof(the struct you compiled with), as for shmkv_get_stats. */

/* Whether this handle would use the cache for a key now. */
typedef struct shmkv_near_health {
  int serving;          /* 1: reads of the key are served from and fill the store */
  char reason[512];     /* why not, when serving is 0 (cut to fit) */
  double heartbeat_age; /* seconds since kvsync's last heartbeat (0 if none) */
} shmkv_near_health;
SHMKV_EXPORT shmkv_status shmkv_near_get_health(shmkv_near* near, const void* key, size_t key_size,
                                                shmkv_near_health* health, size_t health_size,
                                                shmkv_error* err);

typedef enum shmkv_near_phase {
  SHMKV_NEAR_CONNECTING = 0, /* kvsync is (re)connecting to Redis: not synced */
  SHMKV_NEAR_SYNCED = 1,     /* subscribed and tracking: the cache follows Redis */
  SHMKV_NEAR_STOPPED = 2     /* kvsync exited cleanly: not synced */
} shmkv_near_phase;
/* "connecting", "synced", "stopped"; "unknown" otherwise. */
SHMKV_EXPORT const char* shmkv_near_phase_name(int phase);

/* What kvsync records in the store (doc/near_cache.md lists the fields). */
typedef struct shmkv_near_sync_state {
  pid_t pid; /* kvsync's */
  int phase; /* a shmkv_near_phase */
  uint32_t epoch;
  double heartbeat_age;      /* seconds since the last heartbeat */
  double heartbeat_interval; /* seconds between heartbeats */
  uint64_t invalidations;    /* keys invalidated by Redis and deleted here */
  uint64_t flushes;          /* FLUSHALL/FLUSHDB messages applied */
  uint64_t resyncs;          /* times sync was re-established after a loss */
  uint64_t keys_cleared;     /* keys deleted by clearing the prefixes */
  char redis[512];           /* the address kvsync follows */
  uint32_t prefix_count;     /* how many key prefixes it tracks */
  /* The prefixes, escaped as kvcli prints keys, separated by spaces (cut to
   * fit). */
  char prefixes[512];
  char last_error[512]; /* why sync was last lost ("" if never) */
  /* Invalidated keys longer than the store's max key: never cached, so
   * skipped. */
  uint64_t invalidations_skipped;
  /* Single-string messages on the invalidation channel (a client's PUBLISH),
   * each applied as the invalidation of the key it names. */
  uint64_t foreign_messages;
  /* The run_id of the Redis server kvsync follows ("" while not synced): a
   * handle uses the store only over a connection to that server. For a
   * Redis Cluster, the primaries' run_ids, comma-separated, cut to the
   * first 63 bytes: shmkv_near_get_redis_run_ids gives the whole list. */
  char redis_run_id[64];
} shmkv_near_sync_state;
/* kvsync's record in the store. NOT_FOUND when no kvsync has ever run on it;
 * DATA_LOSS when the record is malformed. */
SHMKV_EXPORT shmkv_status shmkv_near_get_sync_state(shmkv_near* near, shmkv_near_sync_state* state,
                                                    size_t state_size, shmkv_error* err);
/* The whole of the record's redis_run_id, however many primaries a Redis
 * Cluster has: their run_ids (40 characters each), comma-separated; one
 * run_id for one server; empty while not synced. Copied to
 * buf as shmkv_near_get copies a value (no NUL added): BUFFER_TOO_SMALL with
 * *size = the length needed when it does not fit; buf may be NULL with
 * buf_size 0 to ask for the length. NOT_FOUND and DATA_LOSS as
 * shmkv_near_get_sync_state. */
SHMKV_EXPORT shmkv_status shmkv_near_get_redis_run_ids(shmkv_near* near, char* buf, size_t buf_size,
                                                       size_t* size, shmkv_error* err);

/* This handle's counters (per handle, not host-wide). */
typedef struct shmkv_near_stats {
  uint64_t hits, fills, shared, direct;
  uint64_t redis_reads, redis_errors;
  /* Reads that went direct because the handle's Redis is another server
   * than the one kvsync follows (or it could not tell). */
  uint64_t wrong_server;
  /* Redis Cluster: MOVED and ASK answers followed. */
  uint64_t redirects;
} shmkv_near_stats;
SHMKV_EXPORT shmkv_status shmkv_near_get_stats(shmkv_near* near, shmkv_near_stats* stats,
                                               size_t stats_size, shmkv_error* err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SHMKV_KV_NEAR_C_NEAR_H_ */
