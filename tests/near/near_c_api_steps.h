/* The near cache's C API exercised from C (near_c_api_steps.c is compiled as
 * C, not C++): steps that near_c_api_test.cc runs against a real Redis and
 * kvsync. Each step opens the store at `store_key` (SHMKV_ATTACH) and a near
 * cache over it following `redis`, checks what it says it checks, closes
 * both, and returns how many checks failed (each printed to stderr). */
#ifndef SHMKV_TESTS_NEAR_NEAR_C_API_STEPS_H_
#define SHMKV_TESTS_NEAR_NEAR_C_API_STEPS_H_

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `key` holds `value` in Redis and is not in the store: the first read fills
 * the store, the second hits it; stats, health and the sync record (synced,
 * tracking the one prefix "p:") agree. */
int nearc_fill_then_hit(key_t store_key, const char* redis, const char* key, const char* value);
/* A second process (forked; it opens its own handles) writes `value` through
 * the C API; the local copy is gone when it is done. */
int nearc_set_in_child(key_t store_key, const char* redis, const char* key, const char* value);
/* Reads `key` and expects `value` served by `path` (a shmkv_near_path). */
int nearc_expect_read(key_t store_key, const char* redis, const char* key, const char* value,
                      int path);
/* `key` is absent from Redis: get and delete are NOT_FOUND, with a message. */
int nearc_absent(key_t store_key, const char* redis, const char* key);
/* `key` holds `value` (at least 2 bytes): a small buffer is BUFFER_TOO_SMALL
 * with the size needed, then a buffer of that size gets it. */
int nearc_buffer_too_small(key_t store_key, const char* redis, const char* key, const char* value);
/* NULL and closed handles, NULL pointers, zero sizes, bad options and a bad
 * address are INVALID_ARGUMENT with a message; an address where no Redis
 * listens (`unreachable`) opens, and reads are UNAVAILABLE. */
int nearc_bad_input(key_t store_key, const char* redis, const char* unreachable);
/* kvsync has stopped: `key` (holding `value`) is read directly, with the
 * reason; health and the sync record say stopped. */
int nearc_direct_after_stop(key_t store_key, const char* redis, const char* key, const char* value);
/* Keys `prefix`0 .. `prefix`(2 * per_process - 1) hold "value of " and
 * their key in Redis. One handle reads `prefix`0, then the process forks and
 * parent and child read per_process keys each, at once, through that one
 * handle: every value must be the key's own. */
int nearc_fork_reads(key_t store_key, const char* redis, const char* prefix, int per_process);
/* kvsync's record names `run_ids` (longer than the sync state's 64-byte
 * field): shmkv_near_get_redis_run_ids gives all of it, the length first,
 * BUFFER_TOO_SMALL for a short buffer, INVALID_ARGUMENT without `size`. */
int nearc_whole_run_ids(key_t store_key, const char* redis, const char* run_ids);

#ifdef __cplusplus
}
#endif

#endif /* SHMKV_TESTS_NEAR_NEAR_C_API_STEPS_H_ */
