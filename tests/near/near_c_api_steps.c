/* The near cache's C API from C: see near_c_api_steps.h. */
#include "tests/near/near_c_api_steps.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkv/near.h"
#include "shmkv/shmkv.h"

/* One step's handles and failure count. */
typedef struct step {
  const char* name;
  int failures;
  shmkv_store* store;
  shmkv_near* near;
} step;

static void fail(step* s, int line, const char* what) {
  fprintf(stderr, "%s:%d (%s): %s\n", __FILE__, line, s->name, what);
  s->failures++;
}

#define EXPECT(s, cond) \
  if (!(cond)) fail((s), __LINE__, "check failed: " #cond)

/* `got` must be `want`; the message must be set for every status but OK. */
static void expect_status(step* s, int line, shmkv_status got, shmkv_status want,
                          const shmkv_error* e) {
  char what[800];
  if (got != want) {
    snprintf(what, sizeof what, "returned %s (%s), want %s", shmkv_status_name(got), e->message,
             shmkv_status_name(want));
    fail(s, line, what);
  } else if (got != SHMKV_OK && (e->code != got || e->message[0] == '\0')) {
    snprintf(what, sizeof what, "%s came without its code and a message in the error",
             shmkv_status_name(got));
    fail(s, line, what);
  }
}
#define EXPECT_STATUS(s, call, want, e) expect_status((s), __LINE__, (call), (want), (e))

static int open_step(step* s, const char* name, key_t store_key, const char* redis) {
  shmkv_error e;
  memset(s, 0, sizeof *s);
  s->name = name;
  if (shmkv_open_key(store_key, NULL, SHMKV_ATTACH, &s->store, &e) != SHMKV_OK) {
    fprintf(stderr, "%s: shmkv_open_key: %s\n", name, e.message);
    return 0;
  }
  if (shmkv_near_open(s->store, redis, NULL, &s->near, &e) != SHMKV_OK) {
    fprintf(stderr, "%s: shmkv_near_open: %s\n", name, e.message);
    shmkv_close(&s->store);
    return 0;
  }
  return 1;
}

static int close_step(step* s) {
  shmkv_near_close(&s->near);
  EXPECT(s, s->near == NULL);
  shmkv_close(&s->store);
  return s->failures;
}

/* Reads `key` (a value of at most 256 bytes) and checks the value, the path
 * and that a bypass reason comes with a direct read only. */
static void expect_read(step* s, int line, const char* key, const char* value, int path) {
  char buf[256];
  size_t size = 0;
  shmkv_near_read read;
  shmkv_error e;
  char what[1200];
  memset(&read, 0xff, sizeof read); /* every field the call must set, set to junk */
  const shmkv_status got =
      shmkv_near_get(s->near, key, strlen(key), buf, sizeof buf, &size, &read, &e);
  if (got != SHMKV_OK) {
    snprintf(what, sizeof what, "get %s: %s (%s)", key, shmkv_status_name(got), e.message);
    fail(s, line, what);
    return;
  }
  if (size != strlen(value) || memcmp(buf, value, size) != 0) {
    snprintf(what, sizeof what, "get %s: got '%.*s', want '%s'", key, (int)size, buf, value);
    fail(s, line, what);
  }
  if (read.path != path) {
    snprintf(what, sizeof what, "get %s: served %s (%.512s), want %s", key,
             shmkv_near_path_name(read.path), read.bypass_reason, shmkv_near_path_name(path));
    fail(s, line, what);
  }
  if (path == SHMKV_NEAR_DIRECT ? read.bypass_reason[0] == '\0' : read.bypass_reason[0] != '\0') {
    snprintf(what, sizeof what, "get %s: bypass reason '%.512s' for a %s read", key,
             read.bypass_reason, shmkv_near_path_name(path));
    fail(s, line, what);
  }
}
#define EXPECT_READ(s, key, value, path) expect_read((s), __LINE__, (key), (value), (path))

int nearc_fill_then_hit(key_t store_key, const char* redis, const char* key, const char* value) {
  step s;
  if (!open_step(&s, "fill_then_hit", store_key, redis)) return 1;
  shmkv_error e;
  EXPECT_READ(&s, key, value, SHMKV_NEAR_FILLED);
  EXPECT_READ(&s, key, value, SHMKV_NEAR_HIT);

  /* The value is in the store, for plain shmkv_get too. */
  char buf[256];
  size_t size = 0;
  EXPECT_STATUS(&s, shmkv_get(s.store, key, strlen(key), buf, sizeof buf, &size, NULL, &e),
                SHMKV_OK, &e);
  EXPECT(&s, size == strlen(value) && memcmp(buf, value, size) == 0);

  shmkv_near_stats stats;
  EXPECT_STATUS(&s, shmkv_near_get_stats(s.near, &stats, sizeof stats, &e), SHMKV_OK, &e);
  EXPECT(&s, stats.fills == 1 && stats.hits == 1 && stats.shared == 0 && stats.direct == 0);
  EXPECT(&s, stats.redis_reads == 1 && stats.redis_errors == 0);

  shmkv_near_health health;
  EXPECT_STATUS(&s, shmkv_near_get_health(s.near, key, strlen(key), &health, sizeof health, &e),
                SHMKV_OK, &e);
  EXPECT(&s, health.serving == 1 && health.reason[0] == '\0');
  EXPECT(&s, health.heartbeat_age >= 0 && health.heartbeat_age < 5);
  /* A key outside the tracked prefixes is not served from the store. */
  EXPECT_STATUS(&s, shmkv_near_get_health(s.near, "q:1", 3, &health, sizeof health, &e), SHMKV_OK,
                &e);
  EXPECT(&s, health.serving == 0 && strstr(health.reason, "prefix") != NULL);

  shmkv_near_sync_state state;
  EXPECT_STATUS(&s, shmkv_near_get_sync_state(s.near, &state, sizeof state, &e), SHMKV_OK, &e);
  EXPECT(&s, state.phase == SHMKV_NEAR_SYNCED);
  EXPECT(&s, strcmp(shmkv_near_phase_name(state.phase), "synced") == 0);
  EXPECT(&s, state.pid > 0 && state.heartbeat_interval > 0 && state.heartbeat_age >= 0);
  EXPECT(&s, state.prefix_count == 1 && strcmp(state.prefixes, "p:") == 0);
  EXPECT(&s, strcmp(state.redis, redis) == 0);
  /* A caller compiled with a shorter struct gets the fields it knows. */
  shmkv_near_sync_state partial;
  memset(&partial, 0x5a, sizeof partial);
  EXPECT_STATUS(&s, shmkv_near_get_sync_state(s.near, &partial, sizeof(pid_t), &e), SHMKV_OK, &e);
  EXPECT(&s, partial.pid == state.pid && partial.epoch == 0x5a5a5a5a);
  return close_step(&s);
}

int nearc_set_in_child(key_t store_key, const char* redis, const char* key, const char* value) {
  fflush(stderr);
  const pid_t child = fork();
  if (child == 0) {
    step s;
    shmkv_error e;
    if (!open_step(&s, "set_in_child", store_key, redis)) _exit(1);
    EXPECT_STATUS(&s, shmkv_near_set(s.near, key, strlen(key), value, strlen(value), &e), SHMKV_OK,
                  &e);
    _exit(close_step(&s) == 0 ? 0 : 1);
  }
  step s;
  if (!open_step(&s, "set_in_child", store_key, redis)) return 1;
  int status = 0;
  EXPECT(&s, child > 0 && waitpid(child, &status, 0) == child);
  EXPECT(&s, WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* The writer dropped the copy in the store it shares with this process. */
  int found = -1;
  shmkv_error e;
  EXPECT_STATUS(&s, shmkv_contains(s.store, key, strlen(key), &found, &e), SHMKV_OK, &e);
  EXPECT(&s, found == 0);
  return close_step(&s);
}

int nearc_expect_read(key_t store_key, const char* redis, const char* key, const char* value,
                      int path) {
  step s;
  if (!open_step(&s, "expect_read", store_key, redis)) return 1;
  EXPECT_READ(&s, key, value, path);
  return close_step(&s);
}

int nearc_absent(key_t store_key, const char* redis, const char* key) {
  step s;
  if (!open_step(&s, "absent", store_key, redis)) return 1;
  char buf[16];
  size_t size = 99;
  shmkv_near_read read;
  shmkv_error e;
  EXPECT_STATUS(&s, shmkv_near_get(s.near, key, strlen(key), buf, sizeof buf, &size, &read, &e),
                SHMKV_NOT_FOUND, &e);
  EXPECT(&s, strstr(e.message, "no such key in Redis") != NULL);
  /* How the absence was learnt: from Redis, with nothing filled. */
  EXPECT(&s, read.path == SHMKV_NEAR_DIRECT);
  EXPECT(&s, strstr(read.bypass_reason, "absent in Redis") != NULL);
  EXPECT_STATUS(&s, shmkv_near_delete(s.near, key, strlen(key), &e), SHMKV_NOT_FOUND, &e);
  /* Absence is not cached. */
  int found = -1;
  EXPECT_STATUS(&s, shmkv_contains(s.store, key, strlen(key), &found, &e), SHMKV_OK, &e);
  EXPECT(&s, found == 0);
  return close_step(&s);
}

int nearc_buffer_too_small(key_t store_key, const char* redis, const char* key, const char* value) {
  step s;
  if (!open_step(&s, "buffer_too_small", store_key, redis)) return 1;
  const size_t n = strlen(value);
  char small[1] = {'#'};
  size_t size = 0;
  shmkv_near_read read;
  shmkv_error e;
  EXPECT_STATUS(&s, shmkv_near_get(s.near, key, strlen(key), small, 1, &size, &read, &e),
                SHMKV_BUFFER_TOO_SMALL, &e);
  EXPECT(&s, size == n && small[0] == '#');
  /* The read happened all the same: it filled the store. */
  EXPECT(&s, read.path == SHMKV_NEAR_FILLED);
  size = 0;
  EXPECT_STATUS(&s, shmkv_near_get(s.near, key, strlen(key), NULL, 0, &size, &read, &e),
                SHMKV_BUFFER_TOO_SMALL, &e);
  EXPECT(&s, size == n && read.path == SHMKV_NEAR_HIT);
  char* buf = malloc(size);
  EXPECT_STATUS(&s, shmkv_near_get(s.near, key, strlen(key), buf, size, &size, NULL, &e), SHMKV_OK,
                &e);
  EXPECT(&s, buf != NULL && size == n && memcmp(buf, value, n) == 0);
  free(buf);
  return close_step(&s);
}

int nearc_bad_input(key_t store_key, const char* redis, const char* unreachable) {
  step s;
  if (!open_step(&s, "bad_input", store_key, redis)) return 1;
  shmkv_error e;
  shmkv_near* near = (shmkv_near*)&s; /* must be set to NULL on failure */
  char buf[16];
  size_t size = 0;

  /* Opening. */
  EXPECT_STATUS(&s, shmkv_near_open(NULL, redis, NULL, &near, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT(&s, near == NULL && strstr(e.message, "store") != NULL);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, NULL, NULL, &near, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, NULL, NULL, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, "", NULL, &near, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, "redis-host:notaport", NULL, &near, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT(&s, near == NULL);
  shmkv_near_options* options = shmkv_near_options_create();
  EXPECT(&s, options != NULL);
  shmkv_near_options_set_fill_ttl(options, -1);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, options, &near, &e), SHMKV_INVALID_ARGUMENT,
                &e);
  EXPECT(&s, strstr(e.message, "fill_ttl") != NULL);
  shmkv_near_options_set_fill_ttl(options, 60);
  shmkv_near_options_set_redis_timeout(options, NAN);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, options, &near, &e), SHMKV_INVALID_ARGUMENT,
                &e);
  EXPECT(&s, strstr(e.message, "redis_timeout") != NULL);
  shmkv_near_options_set_redis_timeout(options, 0);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, options, &near, &e), SHMKV_INVALID_ARGUMENT,
                &e);
  shmkv_near_options_set_redis_timeout(options, 0.5);
  shmkv_near_options_set_sync_check_interval(options, -0.001);
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, options, &near, &e), SHMKV_INVALID_ARGUMENT,
                &e);
  EXPECT(&s, strstr(e.message, "sync_check_interval") != NULL);
  shmkv_near_options_set_sync_check_interval(options, 0); /* allowed: read it every get */
  shmkv_near_options_set_fill_wait_timeout(options, 0);   /* allowed: do not wait */
  shmkv_near_options_set_heartbeat_timeout(NULL, 1);      /* ignored */
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, options, &near, &e), SHMKV_OK, &e);
  shmkv_near_close(&near);
  shmkv_near_options_destroy(options);
  shmkv_near_options_destroy(NULL);

  /* Reads and writes through the open handle with bad pointers. */
  EXPECT_STATUS(&s, shmkv_near_get(s.near, NULL, 3, buf, sizeof buf, &size, NULL, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get(s.near, "p:x", 3, buf, sizeof buf, NULL, NULL, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get(s.near, "p:x", 3, NULL, 8, &size, NULL, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_set(s.near, "p:x", 3, NULL, 1, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_delete(s.near, NULL, 1, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get(s.near, "\0shmkv.x", 8, buf, sizeof buf, &size, NULL, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get_stats(s.near, NULL, sizeof(shmkv_near_stats), &e),
                SHMKV_INVALID_ARGUMENT, &e);
  shmkv_near_stats stats;
  EXPECT_STATUS(&s, shmkv_near_get_stats(s.near, &stats, 0, &e), SHMKV_INVALID_ARGUMENT, &e);
  shmkv_near_health health;
  EXPECT_STATUS(&s, shmkv_near_get_health(s.near, NULL, 2, &health, sizeof health, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get_sync_state(s.near, NULL, 8, &e), SHMKV_INVALID_ARGUMENT, &e);
  /* A NULL error argument is allowed. */
  EXPECT(&s, shmkv_near_get(s.near, NULL, 3, buf, sizeof buf, &size, NULL, NULL) ==
                 SHMKV_INVALID_ARGUMENT);

  /* A closed handle is a NULL handle: every call says so. */
  EXPECT_STATUS(&s, shmkv_near_open(s.store, redis, NULL, &near, &e), SHMKV_OK, &e);
  shmkv_near_close(&near);
  EXPECT(&s, near == NULL);
  shmkv_near_close(&near);
  shmkv_near_close(NULL);
  EXPECT_STATUS(&s, shmkv_near_get(near, "p:x", 3, buf, sizeof buf, &size, NULL, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT(&s, strstr(e.message, "closed") != NULL);
  EXPECT_STATUS(&s, shmkv_near_set(near, "p:x", 3, "v", 1, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_delete(near, "p:x", 3, &e), SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get_health(near, "p:x", 3, &health, sizeof health, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  shmkv_near_sync_state state;
  EXPECT_STATUS(&s, shmkv_near_get_sync_state(near, &state, sizeof state, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get_stats(near, &stats, sizeof stats, &e), SHMKV_INVALID_ARGUMENT,
                &e);

  /* A closed store handle cannot be opened over. */
  shmkv_store* closed = NULL;
  EXPECT_STATUS(&s, shmkv_near_open(closed, redis, NULL, &near, &e), SHMKV_INVALID_ARGUMENT, &e);

  /* No Redis at the address: opening works (Redis may come later), reading
   * and writing are UNAVAILABLE. */
  EXPECT_STATUS(&s, shmkv_near_open(s.store, unreachable, NULL, &near, &e), SHMKV_OK, &e);
  EXPECT_STATUS(&s, shmkv_near_get(near, "p:x", 3, buf, sizeof buf, &size, NULL, &e),
                SHMKV_UNAVAILABLE, &e);
  EXPECT_STATUS(&s, shmkv_near_set(near, "p:x", 3, "v", 1, &e), SHMKV_UNAVAILABLE, &e);
  EXPECT_STATUS(&s, shmkv_near_get_stats(near, &stats, sizeof stats, &e), SHMKV_OK, &e);
  EXPECT(&s, stats.redis_errors >= 1);
  shmkv_near_close(&near);

  EXPECT(&s, strcmp(shmkv_near_path_name(SHMKV_NEAR_DIRECT), "direct") == 0);
  EXPECT(&s, strcmp(shmkv_near_path_name(42), "unknown") == 0);
  EXPECT(&s, strcmp(shmkv_near_phase_name(-1), "unknown") == 0);
  return close_step(&s);
}

int nearc_direct_after_stop(key_t store_key, const char* redis, const char* key,
                            const char* value) {
  step s;
  if (!open_step(&s, "direct_after_stop", store_key, redis)) return 1;
  EXPECT_READ(&s, key, value, SHMKV_NEAR_DIRECT);
  char buf[256];
  size_t size = 0;
  shmkv_near_read read;
  shmkv_error e;
  EXPECT_STATUS(&s, shmkv_near_get(s.near, key, strlen(key), buf, sizeof buf, &size, &read, &e),
                SHMKV_OK, &e);
  EXPECT(&s, read.path == SHMKV_NEAR_DIRECT && strstr(read.bypass_reason, "stopped") != NULL);
  /* Nothing was filled. */
  int found = -1;
  EXPECT_STATUS(&s, shmkv_contains(s.store, key, strlen(key), &found, &e), SHMKV_OK, &e);
  EXPECT(&s, found == 0);

  shmkv_near_health health;
  EXPECT_STATUS(&s, shmkv_near_get_health(s.near, key, strlen(key), &health, sizeof health, &e),
                SHMKV_OK, &e);
  EXPECT(&s, health.serving == 0 && strstr(health.reason, "stopped") != NULL);
  shmkv_near_sync_state state;
  EXPECT_STATUS(&s, shmkv_near_get_sync_state(s.near, &state, sizeof state, &e), SHMKV_OK, &e);
  EXPECT(&s, state.phase == SHMKV_NEAR_STOPPED);
  shmkv_near_stats stats;
  EXPECT_STATUS(&s, shmkv_near_get_stats(s.near, &stats, sizeof stats, &e), SHMKV_OK, &e);
  EXPECT(&s, stats.direct == 2 && stats.hits == 0 && stats.fills == 0);
  return close_step(&s);
}

/* Reads `prefix`first .. `prefix`(first + count - 1) through s->near; the
 * number of reads that failed or returned another key's value. */
static int read_numbered(step* s, const char* prefix, int first, int count) {
  int bad = 0;
  for (int i = first; i < first + count; ++i) {
    char key[128], want[160], buf[256];
    snprintf(key, sizeof key, "%s%d", prefix, i);
    snprintf(want, sizeof want, "value of %s", key);
    size_t size = 0;
    shmkv_error e;
    const shmkv_status got =
        shmkv_near_get(s->near, key, strlen(key), buf, sizeof buf, &size, NULL, &e);
    if (got != SHMKV_OK || size != strlen(want) || memcmp(buf, want, size) != 0) {
      if (++bad <= 3) {
        fprintf(stderr, "[pid %d] get %s: %s, '%.*s'\n", (int)getpid(), key, shmkv_status_name(got),
                got == SHMKV_OK ? (int)size : 0, buf);
      }
    }
  }
  return bad;
}

int nearc_fork_reads(key_t store_key, const char* redis, const char* prefix, int per_process) {
  step s;
  if (!open_step(&s, "fork_reads", store_key, redis)) return 1;
  EXPECT(&s, read_numbered(&s, prefix, 0, 1) == 0); /* the handle's connection is open now */
  fflush(stderr);
  const pid_t child = fork();
  if (child == 0) _exit(read_numbered(&s, prefix, per_process, per_process) == 0 ? 0 : 1);
  EXPECT(&s, read_numbered(&s, prefix, 0, per_process) == 0);
  int status = 0;
  EXPECT(&s, child > 0 && waitpid(child, &status, 0) == child);
  EXPECT(&s, WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return close_step(&s);
}

int nearc_whole_run_ids(key_t store_key, const char* redis, const char* run_ids) {
  step s;
  shmkv_error e;
  if (!open_step(&s, "whole_run_ids", store_key, redis)) return 1;
  const size_t want = strlen(run_ids);
  shmkv_near_sync_state state;
  EXPECT_STATUS(&s, shmkv_near_get_sync_state(s.near, &state, sizeof state, &e), SHMKV_OK, &e);
  EXPECT(&s, strncmp(state.redis_run_id, run_ids, sizeof state.redis_run_id - 1) == 0);
  size_t size = 0;
  EXPECT_STATUS(&s, shmkv_near_get_redis_run_ids(s.near, NULL, 0, &size, &e),
                SHMKV_BUFFER_TOO_SMALL, &e);
  EXPECT(&s, size == want);
  char small[8];
  EXPECT_STATUS(&s, shmkv_near_get_redis_run_ids(s.near, small, sizeof small, &size, &e),
                SHMKV_BUFFER_TOO_SMALL, &e);
  EXPECT(&s, size == want);
  char* whole = malloc(want + 1);
  EXPECT(&s, whole != NULL);
  if (whole != NULL) {
    memset(whole, 0, want + 1);
    EXPECT_STATUS(&s, shmkv_near_get_redis_run_ids(s.near, whole, want, &size, &e), SHMKV_OK, &e);
    EXPECT(&s, size == want && memcmp(whole, run_ids, want) == 0);
    free(whole);
  }
  EXPECT_STATUS(&s, shmkv_near_get_redis_run_ids(s.near, small, sizeof small, NULL, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  EXPECT_STATUS(&s, shmkv_near_get_redis_run_ids(s.near, NULL, 4, &size, &e),
                SHMKV_INVALID_ARGUMENT, &e);
  return close_step(&s);
}
