/* shmkv's C API: a stable C ABI over the same stores the C++ API opens, for C
 * programs and for any language with a C foreign-function interface.
 *
 * Conventions
 * - Every function that can fail returns a shmkv_status (SHMKV_OK is 0) and
 *   takes a last argument `shmkv_error* err` that may be NULL; when it is
 *   not, it receives the status code and a message that says what went wrong
 *   and what to do (cut to fit, always NUL-terminated).
 * - Keys and values are byte strings: a pointer and a length. A NULL pointer
 *   with a zero length is the empty string; a NULL pointer with a nonzero
 *   length is SHMKV_INVALID_ARGUMENT.
 * - Nothing aborts, throws or leaks on bad input: NULL handles and pointers,
 *   zero sizes, sizes no object can have (over PTRDIFF_MAX, e.g. SIZE_MAX)
 *   and out-of-range numbers are SHMKV_INVALID_ARGUMENT.
 *   shmkv_close() takes the address of the handle and sets it to NULL, so a
 *   closed handle used again is a NULL handle, not freed memory; a copy of
 *   the handle made before the close fails the same way (see shmkv_close).
 * - Durations are seconds as doubles. For TTLs, 0 means "the store's default
 *   TTL" and SHMKV_TTL_NEVER means "never expires". A positive TTL is never
 *   "no TTL": one below the store clock's resolution (1 ms) counts as 1 ms.
 *   NaN and other negative values are SHMKV_INVALID_ARGUMENT.
 * - A handle may be used from several threads at once, and closed while
 *   other threads are inside calls on it (see shmkv_close).
 * - The header compiles alone as C99, C11 and C++, with strict ISO modes
 *   (-std=c99 -pedantic) too: it needs no feature-test macros.
 *
 * The status codes are those of absl::StatusCode (the C++ API's), plus the C
 * API's own SHMKV_BUFFER_TOO_SMALL and SHMKV_STORE_DESTROYED. See kv/store.h
 * for when each operation returns which.
 */
#ifndef SHMKV_KV_C_SHMKV_H_
#define SHMKV_KV_C_SHMKV_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SHMKV_EXPORT __attribute__((visibility("default")))
#else
#define SHMKV_EXPORT
#endif

typedef enum shmkv_status {
  SHMKV_OK = 0,
  SHMKV_CANCELLED = 1,
  SHMKV_UNKNOWN = 2,
  SHMKV_INVALID_ARGUMENT = 3,    /* bad key, value, option or pointer */
  SHMKV_DEADLINE_EXCEEDED = 4,   /* get_or_compute waited past its timeout */
  SHMKV_NOT_FOUND = 5,           /* no such store, or no such key */
  SHMKV_ALREADY_EXISTS = 6,      /* store exists (SHMKV_CREATE), key exists (add) */
  SHMKV_PERMISSION_DENIED = 7,   /* mode or owner of the segment refuses us */
  SHMKV_RESOURCE_EXHAUSTED = 8,  /* kernel limit, value too big, full store */
  SHMKV_FAILED_PRECONDITION = 9, /* not a store, other layout, CAS mismatch, not a number */
  SHMKV_ABORTED = 10,
  SHMKV_OUT_OF_RANGE = 11,
  SHMKV_UNIMPLEMENTED = 12,
  SHMKV_INTERNAL = 13,
  SHMKV_UNAVAILABLE = 14, /* a lock wait timed out (the message names the holder) */
  SHMKV_DATA_LOSS = 15,   /* the segment is corrupt: run shmkv_check(..., 1, ...) */
  /* The caller's buffer cannot hold the value; *value_size says how many
   * bytes it needs. Nothing was copied. */
  SHMKV_BUFFER_TOO_SMALL = 100,
  /* The store was destroyed (shmkv_destroy_*, kvcli destroy) after this
   * handle opened it; every later call on the handle fails so. Close it and
   * open the name again to use the store now there. (The C++ API returns
   * FailedPrecondition; shmkv::IsStoreDestroyed tells it apart.) */
  SHMKV_STORE_DESTROYED = 101
} shmkv_status;

typedef struct shmkv_error {
  shmkv_status code;
  char message[512];
} shmkv_error;

/* "OK", "NOT_FOUND", ..., "BUFFER_TOO_SMALL", "STORE_DESTROYED";
 * "UNKNOWN_STATUS" otherwise. */
SHMKV_EXPORT const char* shmkv_status_name(int status);
/* The library's version, "MAJOR.MINOR.PATCH". */
SHMKV_EXPORT const char* shmkv_version(void);

#define SHMKV_TTL_NEVER (-1.0)

/* A System V key: key_t, which <sys/types.h> declares only under POSIX/XSI
 * feature-test macros (strict -std=c99 sets none). key_t is int on Linux;
 * pass a key_t where a shmkv_key_t is asked for. */
typedef int shmkv_key_t;

/* ------------------------------------------------------------- opening --- */

typedef struct shmkv_store shmkv_store;
typedef struct shmkv_options shmkv_options;

typedef enum shmkv_open_mode {
  SHMKV_CREATE = 0,        /* fail with ALREADY_EXISTS if a store exists */
  SHMKV_ATTACH = 1,        /* fail with NOT_FOUND if no store exists */
  SHMKV_OPEN_OR_CREATE = 2 /* attach, or create if absent */
} shmkv_open_mode;

/* Options with the C++ defaults (kv/options.h documents each). NULL when out
 * of memory. The setters ignore a NULL `options`, and return nothing: a value
 * one of them refuses is reported by shmkv_open_key/shmkv_open_path
 * (SHMKV_INVALID_ARGUMENT naming the setter), so check the open's status. */
SHMKV_EXPORT shmkv_options* shmkv_options_create(void);
SHMKV_EXPORT void shmkv_options_destroy(shmkv_options* options);
SHMKV_EXPORT void shmkv_options_set_capacity(shmkv_options* options, uint64_t bytes);
SHMKV_EXPORT void shmkv_options_set_expected_items(shmkv_options* options, uint64_t items);
SHMKV_EXPORT void shmkv_options_set_mode(shmkv_options* options, int mode);
SHMKV_EXPORT void shmkv_options_set_max_key_size(shmkv_options* options, uint64_t bytes);
SHMKV_EXPORT void shmkv_options_set_max_value_size(shmkv_options* options, uint64_t bytes);
SHMKV_EXPORT void shmkv_options_set_lock_stripes(shmkv_options* options, uint32_t stripes);
SHMKV_EXPORT void shmkv_options_set_evict(shmkv_options* options, int evict);
/* Seconds > 0 (at least 1 ms, as for every TTL), or 0 or SHMKV_TTL_NEVER:
 * entries never expire by default. NaN and other negative values make the
 * open fail with SHMKV_INVALID_ARGUMENT (a later valid call clears that). */
SHMKV_EXPORT void shmkv_options_set_default_ttl(shmkv_options* options, double seconds);
SHMKV_EXPORT void shmkv_options_set_huge_pages(shmkv_options* options, int huge_pages);
SHMKV_EXPORT void shmkv_options_set_populate(shmkv_options* options, int populate);
SHMKV_EXPORT void shmkv_options_set_lock_timeout(shmkv_options* options, double seconds);
SHMKV_EXPORT void shmkv_options_set_allow_foreign_owner(shmkv_options* options, int allow);
SHMKV_EXPORT void shmkv_options_set_require_persistence(shmkv_options* options, int require);

/* Opens the store at a System V key (as kvcli's --key) or at an ftok path and
 * project id 1..255 (--path, --proj). `mode` is a shmkv_open_mode (an int, so
 * that any value a caller passes is well defined; others are
 * SHMKV_INVALID_ARGUMENT). `options` may be NULL (the defaults).
 * On success *store is a new handle; on failure it is set to NULL. */
SHMKV_EXPORT shmkv_status shmkv_open_key(shmkv_key_t key, const shmkv_options* options, int mode,
                                         shmkv_store** store, shmkv_error* err);
SHMKV_EXPORT shmkv_status shmkv_open_path(const char* path, int proj_id,
                                          const shmkv_options* options, int mode,
                                          shmkv_store** store, shmkv_error* err);
/* Closes the handle and sets *store to NULL (atomically: two threads closing
 * one variable close it once). The store stays. Calls other threads are
 * making on the handle meanwhile finish normally: the segment is detached
 * when the last of them returns (a call that started after the close fails
 * with SHMKV_INVALID_ARGUMENT), so no call runs on an unmapped segment or
 * leaves a lock held. It does not wait for them: a callback (visit, compute)
 * may close the handle it runs under. The library keeps a closed handle's
 * few dozen bytes (not its mapping) for the life of the process, so that a
 * copy of the pointer used later fails cleanly instead of reading freed
 * memory; open and close handles once per process, not per request. */
SHMKV_EXPORT void shmkv_close(shmkv_store** store);
/* Removes the store (its segment and semaphore set). Every later call of a
 * process still attached fails (store destroyed) until it opens the name
 * again. Only the store's owner, creator or root may destroy it: anyone else
 * gets SHMKV_PERMISSION_DENIED and nothing changes. */
SHMKV_EXPORT shmkv_status shmkv_destroy_key(shmkv_key_t key, shmkv_error* err);
SHMKV_EXPORT shmkv_status shmkv_destroy_path(const char* path, int proj_id, shmkv_error* err);

/* ------------------------------------------------------------- entries --- */

typedef struct shmkv_meta {
  uint64_t version;      /* bumped by every write: the compare-and-swap token */
  uint32_t flags;        /* the flags of the last write */
  int64_t expires_at_ms; /* Unix milliseconds; 0 = never */
  uint64_t value_size;
  double ttl_remaining; /* seconds; SHMKV_TTL_NEVER when it never expires */
} shmkv_meta;

/* Copies the value into buf (capacity buf_size) and sets *value_size to its
 * length; `meta` may be NULL. NOT_FOUND when absent. BUFFER_TOO_SMALL (with
 * *value_size = the length needed, nothing copied) when it does not fit;
 * buf may be NULL with buf_size 0 to ask for the size. */
SHMKV_EXPORT shmkv_status shmkv_get(shmkv_store* store, const void* key, size_t key_size, void* buf,
                                    size_t buf_size, size_t* value_size, shmkv_meta* meta,
                                    shmkv_error* err);
/* *found = 1 if the key is live, else 0. */
SHMKV_EXPORT shmkv_status shmkv_contains(shmkv_store* store, const void* key, size_t key_size,
                                         int* found, shmkv_error* err);

/* Writes the value with a TTL in seconds (0: the store's default;
 * SHMKV_TTL_NEVER: never expires) and opaque flags. *version (may be NULL)
 * receives the new entry's version. */
SHMKV_EXPORT shmkv_status shmkv_put(shmkv_store* store, const void* key, size_t key_size,
                                    const void* value, size_t value_size, double ttl,
                                    uint32_t flags, uint64_t* version, shmkv_error* err);
/* Only if the key is absent: ALREADY_EXISTS otherwise. */
SHMKV_EXPORT shmkv_status shmkv_add(shmkv_store* store, const void* key, size_t key_size,
                                    const void* value, size_t value_size, double ttl,
                                    uint32_t flags, uint64_t* version, shmkv_error* err);
/* Only if the key is live: NOT_FOUND otherwise. */
SHMKV_EXPORT shmkv_status shmkv_replace(shmkv_store* store, const void* key, size_t key_size,
                                        const void* value, size_t value_size, double ttl,
                                        uint32_t flags, uint64_t* version, shmkv_error* err);
/* Only if the live entry's version is expected_version: FAILED_PRECONDITION
 * if it is another, NOT_FOUND if the key is absent. */
SHMKV_EXPORT shmkv_status shmkv_cas(shmkv_store* store, const void* key, size_t key_size,
                                    uint64_t expected_version, const void* value, size_t value_size,
                                    double ttl, uint32_t flags, uint64_t* version,
                                    shmkv_error* err);
/* Adds delta to the decimal number stored at key; a missing key is created
 * holding initial + delta (with `ttl`) unless create_if_missing is 0 (then
 * NOT_FOUND). An existing entry keeps its TTL; its flags become 0.
 * FAILED_PRECONDITION when the value is not a number. */
SHMKV_EXPORT shmkv_status shmkv_incr(shmkv_store* store, const void* key, size_t key_size,
                                     int64_t delta, int64_t initial, int create_if_missing,
                                     double ttl, int64_t* result, shmkv_error* err);
/* Sets a new TTL (SHMKV_TTL_NEVER removes it); NOT_FOUND when absent. */
SHMKV_EXPORT shmkv_status shmkv_touch(shmkv_store* store, const void* key, size_t key_size,
                                      double ttl, shmkv_error* err);
/* NOT_FOUND when absent. */
SHMKV_EXPORT shmkv_status shmkv_delete(shmkv_store* store, const void* key, size_t key_size,
                                       shmkv_error* err);

/* --------------------------------------------------------------- batches --- */

/* One key of shmkv_get_many: what to read and where, and the answer. */
typedef struct shmkv_get_item {
  const void* key; /* in */
  size_t key_size; /* in */
  void* buf;       /* in: where the value goes (NULL with buf_size 0: only its size) */
  size_t buf_size; /* in */
  /* out: OK, NOT_FOUND, INVALID_ARGUMENT (bad key or buffer), BUFFER_TOO_SMALL
   * (value_size says how many bytes; nothing copied), DATA_LOSS, or the
   * call's error for a key the call did not reach. */
  shmkv_status status;
  size_t value_size; /* out: the value's length, when status is OK or BUFFER_TOO_SMALL */
  shmkv_meta meta;   /* out: when status is OK */
} shmkv_get_item;

/* Reads `count` keys at once: items[i] gets what shmkv_get would have
 * answered for it, faster than a loop of shmkv_get (see Store::GetMany in
 * kv/store.h). Returns OK when every item has its answer in its status, or
 * the error that stopped the call (store destroyed, lock timeout; message in
 * *err), which every item the call did not reach then carries too. Per-item
 * statuses come without messages; a bad item fails alone. */
SHMKV_EXPORT shmkv_status shmkv_get_many(shmkv_store* store, shmkv_get_item* items, size_t count,
                                         shmkv_error* err);

typedef enum shmkv_write_condition {
  SHMKV_WRITE_ALWAYS = 0,
  SHMKV_WRITE_IF_ABSENT = 1,  /* as shmkv_add */
  SHMKV_WRITE_IF_PRESENT = 2, /* as shmkv_replace */
  SHMKV_WRITE_IF_VERSION = 3  /* as shmkv_cas, with expected_version */
} shmkv_write_condition;

/* One write of shmkv_put_many. */
typedef struct shmkv_put_item {
  const void* key;           /* in */
  size_t key_size;           /* in */
  const void* value;         /* in */
  size_t value_size;         /* in */
  double ttl;                /* in: as for shmkv_put */
  uint32_t flags;            /* in */
  int condition;             /* in: a shmkv_write_condition */
  uint64_t expected_version; /* in: for SHMKV_WRITE_IF_VERSION */
  shmkv_status status;       /* out: what shmkv_put (add, replace, cas) would have returned */
  uint64_t version;          /* out: the new entry's version when status is OK */
} shmkv_put_item;

/* Writes `count` items at once, each as its own shmkv_put/add/replace/cas
 * (items of one key in the order given). The returned status and the items'
 * statuses are as for shmkv_get_many. */
SHMKV_EXPORT shmkv_status shmkv_put_many(shmkv_store* store, shmkv_put_item* items, size_t count,
                                         shmkv_error* err);

/* ------------------------------------------------------- get or compute --- */

/* Where a compute callback puts the value it computed. */
typedef struct shmkv_value_sink shmkv_value_sink;
/* Copies the bytes into the sink (replacing what was there). Returns SHMKV_OK,
 * or SHMKV_INVALID_ARGUMENT for a NULL sink or a NULL value with nonzero size. */
SHMKV_EXPORT shmkv_status shmkv_value_sink_set(shmkv_value_sink* sink, const void* value,
                                               size_t value_size);

/* Computes a value into `sink` and returns SHMKV_OK; any other value means
 * the computation failed: nothing is stored and get_or_compute returns it
 * (a value that is not a shmkv_status code becomes SHMKV_UNKNOWN). */
typedef int (*shmkv_compute_fn)(void* context, shmkv_value_sink* sink);

typedef struct shmkv_compute_options {
  double wait_timeout;  /* longest wait for another process's computation; 0: 10 s */
  double lease_timeout; /* a computation not done by then is presumed dead; 0: 5 s */
  double ttl;           /* of the stored value, as for shmkv_put */
  uint32_t flags;       /* of the stored value */
} shmkv_compute_options;

/* Returns the cached value, or runs compute(context, sink) and stores its
 * result; across processes, concurrent misses on one key compute once (the
 * others wait and read the result). The value is copied to buf as by
 * shmkv_get (BUFFER_TOO_SMALL with *value_size when it does not fit; a value
 * just computed is stored all the same). `options` may be NULL. */
SHMKV_EXPORT shmkv_status shmkv_get_or_compute(shmkv_store* store, const void* key, size_t key_size,
                                               shmkv_compute_fn compute, void* context,
                                               const shmkv_compute_options* options, void* buf,
                                               size_t buf_size, size_t* value_size,
                                               shmkv_error* err);

/* ------------------------------------------------------------ iteration --- */

/* Called once per live entry; return 0 to go on, nonzero to stop. The
 * pointers are valid only during the call. No lock is held. */
typedef int (*shmkv_visit_fn)(void* context, const void* key, size_t key_size, const void* value,
                              size_t value_size, const shmkv_meta* meta);

/* Visits every live entry whose key starts with prefix (NULL, 0: all), a
 * short chunk of the store at a time: each entry present for the whole walk
 * once; entries written during the walk may or may not be seen. */
SHMKV_EXPORT shmkv_status shmkv_foreach(shmkv_store* store, const void* prefix, size_t prefix_size,
                                        shmkv_visit_fn visit, void* context, shmkv_error* err);

/* One page of a walk in pages (Store::Scan in shmkv/store.h): visits at
 * most `count` live entries whose key starts with prefix (NULL, 0: any) and
 * matches the byte glob `match` (NULL or "": any; the syntax of ScanOptions
 * in shmkv/store.h, the same in every locale; a malformed glob or one over
 * 1024 bytes is INVALID_ARGUMENT), and stores in
 * *next_cursor the cursor for the next page (0: the walk is done). Start with
 * cursor 0. Over a walk, each entry present for the whole walk is visited
 * exactly once, others at most once. Values are passed only if with_values
 * is nonzero (otherwise value is NULL and value_size 0; meta->value_size
 * still tells the size). No lock is held during visit; its return value is
 * ignored (a page always completes: pass a smaller count to see fewer). A
 * page visits more than `count` entries only for keys of one lock stripe
 * whose seeded 64-bit hashes share their top 32 bits, which come together
 * (Store::Scan in shmkv/store.h gives the odds: a pair among tens of
 * thousands of keys a stripe); a visit function that stores entries in an
 * array of `count` must check its bound. A cursor not returned by this
 * store, or count 0, is INVALID_ARGUMENT. */
SHMKV_EXPORT shmkv_status shmkv_scan(shmkv_store* store, uint64_t cursor, size_t count,
                                     const void* prefix, size_t prefix_size, const char* match,
                                     int with_values, shmkv_visit_fn visit, void* context,
                                     uint64_t* next_cursor, shmkv_error* err);
/* Deletes every live entry whose key starts with prefix (NULL, 0: any) and
 * matches the glob `match` (NULL or "": any), a short chunk at a time;
 * *removed (may be NULL) gets how many. Selecting everything (no prefix, no
 * match) is INVALID_ARGUMENT: use shmkv_flush. */
SHMKV_EXPORT shmkv_status shmkv_delete_matching(shmkv_store* store, const void* prefix,
                                                size_t prefix_size, const char* match,
                                                uint64_t* removed, shmkv_error* err);

/* ---------------------------------------------------------- maintenance --- */

/* Removes every entry. */
SHMKV_EXPORT shmkv_status shmkv_flush(shmkv_store* store, shmkv_error* err);
/* Removes expired entries now; *removed (may be NULL) gets how many. */
SHMKV_EXPORT shmkv_status shmkv_flush_expired(shmkv_store* store, uint64_t* removed,
                                              shmkv_error* err);
/* Live entries. */
SHMKV_EXPORT shmkv_status shmkv_size(shmkv_store* store, uint64_t* items, shmkv_error* err);

/* The structs below may gain fields at their end in later versions: pass
 * sizeof(the struct you compiled with); fields past that size are not
 * written, fields the library does not know are zeroed. */
typedef struct shmkv_stats {
  uint64_t hits, misses, puts, deletes;
  uint64_t evictions, expirations;
  uint64_t items;
  uint64_t key_bytes, value_bytes;
  uint64_t bytes_used, log_bytes, capacity;
  uint64_t index_entries, index_limit;
  uint64_t lock_waits, owner_deaths_recovered;
} shmkv_stats;
SHMKV_EXPORT shmkv_status shmkv_get_stats(shmkv_store* store, shmkv_stats* stats, size_t stats_size,
                                          shmkv_error* err);

typedef struct shmkv_info {
  char name[512]; /* how the creator named the store (cut to fit) */
  shmkv_key_t key;
  int shm_id, sem_id;
  uint32_t layout_version;
  uint64_t segment_bytes, capacity;
  uint32_t lock_stripes;
  uint64_t index_slots;
  uint64_t max_key_size, max_value_size;
  int evict, huge_pages;
  double default_ttl; /* seconds; 0 = never */
  int64_t created_at_ms;
  uid_t creator_uid, owner_uid;
  pid_t creator_pid;
  int mode;
  uint64_t attached_processes;
  int removed;       /* destroyed; lives until the last process detaches */
  uint32_t warnings; /* how many warnings Info reported */
  char warning[512]; /* the first one, "" when none */
} shmkv_info;
SHMKV_EXPORT shmkv_status shmkv_get_info(shmkv_store* store, shmkv_info* info, size_t info_size,
                                         shmkv_error* err);

typedef struct shmkv_check_report {
  int ok; /* no problem found (before any repair) */
  uint64_t entries_checked, entries_dropped;
  uint32_t problems, repairs; /* how many lines Check reported of each */
  char first_problem[512];    /* "" when none */
} shmkv_check_report;
/* Verifies the whole store; with repair nonzero, also repairs it. */
SHMKV_EXPORT shmkv_status shmkv_check(shmkv_store* store, int repair, shmkv_check_report* report,
                                      size_t report_size, shmkv_error* err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SHMKV_KV_C_SHMKV_H_ */
