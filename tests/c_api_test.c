/* The C API, from C (this file is compiled as C, not C++): every operation,
 * every kind of bad input, and two processes sharing one store through it.
 * Runs under the IPC guard; exits 0 when every check passed. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkv/shmkv.h"
#include "testing/c_guard.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* The call must return `want`; prints the error's message when it does not. */
#define CHECK_STATUS(call, want)                                                          \
  do {                                                                                    \
    shmkv_error e_;                                                                       \
    memset(&e_, 0, sizeof e_);                                                            \
    shmkv_status got_ = (call);                                                           \
    if (got_ != (want)) {                                                                 \
      fprintf(stderr, "%s:%d: %s returned %s (%s), want %s\n", __FILE__, __LINE__, #call, \
              shmkv_status_name(got_), e_.message, shmkv_status_name(want));              \
      ++failures;                                                                         \
    }                                                                                     \
  } while (0)
/* CHECK_STATUS's calls pass &e_ as their error argument through ERR. */
#define ERR (&e_)

static shmkv_options* small_options(void) {
  shmkv_options* o = shmkv_options_create();
  shmkv_options_set_capacity(o, 4u << 20);
  shmkv_options_set_max_value_size(o, 4096);
  shmkv_options_set_mode(o, 0600);
  return o;
}

static int computations = 0;

static int compute_answer(void* context, shmkv_value_sink* sink) {
  ++computations;
  const char* text = (const char*)context;
  return shmkv_value_sink_set(sink, text, strlen(text));
}

static int compute_fails(void* context, shmkv_value_sink* sink) {
  (void)context;
  (void)sink;
  return SHMKV_UNAVAILABLE;
}

static int compute_returns_junk(void* context, shmkv_value_sink* sink) {
  (void)context;
  (void)sink;
  return 42;
}

struct visit_count {
  int entries;
  size_t value_bytes;
};

static int count_entries(void* context, const void* key, size_t key_size, const void* value,
                         size_t value_size, const shmkv_meta* meta) {
  struct visit_count* c = (struct visit_count*)context;
  (void)key;
  (void)value;
  if (key_size >= 5 && meta != NULL && meta->value_size == value_size) {
    c->entries++;
    c->value_bytes += value_size;
  }
  return 0;
}

/* Counts keys visited without a value (shmkv_scan's keys-only pages). */
static int count_keys(void* context, const void* key, size_t key_size, const void* value,
                      size_t value_size, const shmkv_meta* meta) {
  if (key != NULL && key_size > 0 && value == NULL && value_size == 0 && meta != NULL &&
      meta->value_size == 3) {
    ++*(int*)context;
  }
  return 1; /* ignored by shmkv_scan */
}

static int stop_at_first(void* context, const void* key, size_t key_size, const void* value,
                         size_t value_size, const shmkv_meta* meta) {
  (void)key;
  (void)key_size;
  (void)value;
  (void)value_size;
  (void)meta;
  ++*(int*)context;
  return 1;
}

static void test_entries(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  CHECK(s != NULL);
  shmkv_store* again = (shmkv_store*)1;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &again, ERR), SHMKV_ALREADY_EXISTS);
  CHECK(again == NULL);

  /* put and get, with meta */
  uint64_t v1 = 0, v2 = 0;
  CHECK_STATUS(shmkv_put(s, "greeting", 8, "hello", 5, 30.0, 7u, &v1, ERR), SHMKV_OK);
  char buf[64];
  size_t n = 0;
  shmkv_meta meta;
  memset(&meta, 0, sizeof meta);
  CHECK_STATUS(shmkv_get(s, "greeting", 8, buf, sizeof buf, &n, &meta, ERR), SHMKV_OK);
  CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
  CHECK(meta.version == v1 && meta.flags == 7u && meta.value_size == 5);
  CHECK(meta.ttl_remaining > 29.0 && meta.ttl_remaining <= 30.0);
  CHECK(meta.expires_at_ms > 0);

  /* a buffer too small reports the size needed and copies nothing */
  memset(buf, 'x', sizeof buf);
  CHECK_STATUS(shmkv_get(s, "greeting", 8, buf, 3, &n, NULL, ERR), SHMKV_BUFFER_TOO_SMALL);
  CHECK(n == 5 && buf[0] == 'x');
  CHECK_STATUS(shmkv_get(s, "greeting", 8, NULL, 0, &n, NULL, ERR), SHMKV_BUFFER_TOO_SMALL);
  CHECK(n == 5);
  CHECK_STATUS(shmkv_get(s, "absent", 6, buf, sizeof buf, &n, NULL, ERR), SHMKV_NOT_FOUND);

  /* binary keys and values, and the empty value */
  const char bin_key[3] = {'\0', 'k', '\xff'};
  const char bin_val[4] = {'\0', '\1', '\0', '\xfe'};
  CHECK_STATUS(shmkv_put(s, bin_key, 3, bin_val, 4, 0, 0, NULL, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_get(s, bin_key, 3, buf, sizeof buf, &n, NULL, ERR), SHMKV_OK);
  CHECK(n == 4 && memcmp(buf, bin_val, 4) == 0);
  CHECK_STATUS(shmkv_put(s, "empty", 5, NULL, 0, 0, 0, NULL, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_get(s, "empty", 5, NULL, 0, &n, NULL, ERR), SHMKV_OK);
  CHECK(n == 0);

  /* contains */
  int found = -1;
  CHECK_STATUS(shmkv_contains(s, "greeting", 8, &found, ERR), SHMKV_OK);
  CHECK(found == 1);
  CHECK_STATUS(shmkv_contains(s, "absent", 6, &found, ERR), SHMKV_OK);
  CHECK(found == 0);

  /* add, replace, cas */
  CHECK_STATUS(shmkv_add(s, "greeting", 8, "x", 1, 0, 0, NULL, ERR), SHMKV_ALREADY_EXISTS);
  CHECK_STATUS(shmkv_add(s, "fresh", 5, "1", 1, 0, 0, NULL, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_replace(s, "nobody", 6, "x", 1, 0, 0, NULL, ERR), SHMKV_NOT_FOUND);
  CHECK_STATUS(shmkv_replace(s, "fresh", 5, "2", 1, 0, 0, NULL, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_cas(s, "greeting", 8, v1 + 1000, "no", 2, 0, 0, NULL, ERR),
               SHMKV_FAILED_PRECONDITION);
  CHECK_STATUS(shmkv_cas(s, "greeting", 8, v1, "howdy", 5, SHMKV_TTL_NEVER, 0, &v2, ERR), SHMKV_OK);
  CHECK(v2 > v1);
  CHECK_STATUS(shmkv_get(s, "greeting", 8, buf, sizeof buf, &n, &meta, ERR), SHMKV_OK);
  CHECK(n == 5 && memcmp(buf, "howdy", 5) == 0 && meta.ttl_remaining == SHMKV_TTL_NEVER);

  /* incr */
  int64_t r = 0;
  CHECK_STATUS(shmkv_incr(s, "counter", 7, 5, 100, 1, 0, &r, ERR), SHMKV_OK);
  CHECK(r == 105);
  CHECK_STATUS(shmkv_incr(s, "counter", 7, -6, 0, 1, 0, &r, ERR), SHMKV_OK);
  CHECK(r == 99);
  CHECK_STATUS(shmkv_incr(s, "nocounter", 9, 1, 0, 0, 0, &r, ERR), SHMKV_NOT_FOUND);
  CHECK_STATUS(shmkv_incr(s, "greeting", 8, 1, 0, 1, 0, &r, ERR), SHMKV_FAILED_PRECONDITION);

  /* touch and delete */
  CHECK_STATUS(shmkv_touch(s, "fresh", 5, 60.0, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_get(s, "fresh", 5, buf, sizeof buf, &n, &meta, ERR), SHMKV_OK);
  CHECK(meta.ttl_remaining > 59.0 && meta.ttl_remaining <= 60.0);
  CHECK_STATUS(shmkv_touch(s, "nobody", 6, 60.0, ERR), SHMKV_NOT_FOUND);
  CHECK_STATUS(shmkv_delete(s, "fresh", 5, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_delete(s, "fresh", 5, ERR), SHMKV_NOT_FOUND);

  /* get_or_compute: computed once, then served; a failed computation stores nothing */
  computations = 0;
  CHECK_STATUS(shmkv_get_or_compute(s, "report", 6, compute_answer, "forty-two", NULL, buf,
                                    sizeof buf, &n, ERR),
               SHMKV_OK);
  CHECK(n == 9 && memcmp(buf, "forty-two", 9) == 0);
  CHECK_STATUS(
      shmkv_get_or_compute(s, "report", 6, compute_answer, "other", NULL, buf, sizeof buf, &n, ERR),
      SHMKV_OK);
  CHECK(n == 9 && memcmp(buf, "forty-two", 9) == 0 && computations == 1);
  CHECK_STATUS(
      shmkv_get_or_compute(s, "broken", 6, compute_fails, NULL, NULL, buf, sizeof buf, &n, ERR),
      SHMKV_UNAVAILABLE);
  CHECK_STATUS(shmkv_contains(s, "broken", 6, &found, ERR), SHMKV_OK);
  CHECK(found == 0);
  CHECK_STATUS(shmkv_get_or_compute(s, "broken", 6, compute_returns_junk, NULL, NULL, buf,
                                    sizeof buf, &n, ERR),
               SHMKV_UNKNOWN);
  shmkv_compute_options co;
  memset(&co, 0, sizeof co);
  co.ttl = 5.0;
  co.flags = 3;
  CHECK_STATUS(
      shmkv_get_or_compute(s, "small", 5, compute_answer, "0123456789", &co, buf, 4, &n, ERR),
      SHMKV_BUFFER_TOO_SMALL);
  CHECK(n == 10);
  CHECK_STATUS(shmkv_get(s, "small", 5, buf, sizeof buf, &n, &meta, ERR), SHMKV_OK);
  CHECK(n == 10 && meta.flags == 3 && meta.ttl_remaining <= 5.0);

  /* foreach: by prefix, and stopping early */
  for (int i = 0; i < 10; ++i) {
    char k[16];
    int kn = snprintf(k, sizeof k, "list/%d", i);
    CHECK_STATUS(shmkv_put(s, k, (size_t)kn, "abc", 3, 0, 0, NULL, ERR), SHMKV_OK);
  }
  struct visit_count c = {0, 0};
  CHECK_STATUS(shmkv_foreach(s, "list/", 5, count_entries, &c, ERR), SHMKV_OK);
  CHECK(c.entries == 10 && c.value_bytes == 30);
  int visits = 0;
  CHECK_STATUS(shmkv_foreach(s, NULL, 0, stop_at_first, &visits, ERR), SHMKV_OK);
  CHECK(visits == 1);

  /* scan: pages of 3 keys without values, a glob with values, a bad cursor */
  uint64_t cursor = 0, next_cursor = 1;
  int pages = 0, keys_seen = 0;
  do {
    CHECK_STATUS(
        shmkv_scan(s, cursor, 3, "list/", 5, NULL, 0, count_keys, &keys_seen, &next_cursor, ERR),
        SHMKV_OK);
    cursor = next_cursor;
    ++pages;
  } while (cursor != 0 && pages < 100);
  CHECK(keys_seen == 10 && cursor == 0 && pages >= 4);
  struct visit_count g = {0, 0};
  CHECK_STATUS(
      shmkv_scan(s, 0, 100, NULL, 0, "list/[0-4]", 1, count_entries, &g, &next_cursor, ERR),
      SHMKV_OK);
  CHECK(g.entries == 5 && g.value_bytes == 15 && next_cursor == 0);
  CHECK_STATUS(
      shmkv_scan(s, 12345, 10, NULL, 0, NULL, 0, count_keys, &keys_seen, &next_cursor, ERR),
      SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_scan(s, 0, 0, NULL, 0, NULL, 0, count_keys, &keys_seen, &next_cursor, ERR),
               SHMKV_INVALID_ARGUMENT);

  /* delete_matching: a prefix and a glob; everything is refused */
  uint64_t deleted = 0;
  CHECK_STATUS(shmkv_delete_matching(s, "list/", 5, "*[02468]", &deleted, ERR), SHMKV_OK);
  CHECK(deleted == 5);
  struct visit_count left = {0, 0};
  CHECK_STATUS(shmkv_foreach(s, "list/", 5, count_entries, &left, ERR), SHMKV_OK);
  CHECK(left.entries == 5);
  CHECK_STATUS(shmkv_delete_matching(s, NULL, 0, NULL, &deleted, ERR), SHMKV_INVALID_ARGUMENT);
  for (int i = 0; i < 10; i += 2) { /* back as they were, for the counts below */
    char k[16];
    int kn = snprintf(k, sizeof k, "list/%d", i);
    CHECK_STATUS(shmkv_put(s, k, (size_t)kn, "abc", 3, 0, 0, NULL, ERR), SHMKV_OK);
  }

  /* size, stats, info, check */
  uint64_t items = 0;
  CHECK_STATUS(shmkv_size(s, &items, ERR), SHMKV_OK);
  CHECK(items == 16);
  shmkv_stats st;
  CHECK_STATUS(shmkv_get_stats(s, &st, sizeof st, ERR), SHMKV_OK);
  CHECK(st.items == 16 && st.puts > 10 && st.hits > 5 && st.misses >= 1 && st.capacity > 0);
  /* an older caller's shorter struct gets only the fields it knows */
  uint64_t first_two[3] = {0, 0, 12345};
  CHECK_STATUS(shmkv_get_stats(s, (shmkv_stats*)first_two, 2 * sizeof(uint64_t), ERR), SHMKV_OK);
  CHECK(first_two[0] == st.hits && first_two[2] == 12345);
  shmkv_info info;
  CHECK_STATUS(shmkv_get_info(s, &info, sizeof info, ERR), SHMKV_OK);
  CHECK(info.key == key && info.max_value_size == 4096 && info.lock_stripes > 0);
  CHECK(info.mode == 0600 && info.layout_version >= 1 && info.evict == 1);
  CHECK(strstr(info.name, "key 0x") != NULL);
  shmkv_check_report report;
  CHECK_STATUS(shmkv_check(s, 0, &report, sizeof report, ERR), SHMKV_OK);
  CHECK(report.ok == 1 && report.problems == 0 && report.entries_checked >= 16);

  /* flush_expired, flush */
  uint64_t removed = 99;
  CHECK_STATUS(shmkv_flush_expired(s, &removed, ERR), SHMKV_OK);
  CHECK(removed == 0);
  CHECK_STATUS(shmkv_flush(s, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_size(s, &items, ERR), SHMKV_OK);
  CHECK(items == 0);

  shmkv_close(&s);
  CHECK(s == NULL);
  shmkv_close(&s); /* closing twice is harmless */
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_NOT_FOUND);
  shmkv_options_destroy(o);
}

static void test_bad_input(key_t key) {
  shmkv_store* s = NULL;
  char buf[8];
  size_t n;
  int found;
  shmkv_error e;

  /* a closed (NULL) handle */
  CHECK_STATUS(shmkv_get(NULL, "k", 1, buf, sizeof buf, &n, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_put(s, "k", 1, "v", 1, 0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_flush(s, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK(shmkv_size(NULL, NULL, NULL) == SHMKV_INVALID_ARGUMENT); /* a NULL err is fine */

  /* the message says what is wrong */
  memset(&e, 0, sizeof e);
  CHECK(shmkv_delete(NULL, "k", 1, &e) == SHMKV_INVALID_ARGUMENT);
  CHECK(e.code == SHMKV_INVALID_ARGUMENT && strstr(e.message, "handle is NULL") != NULL);

  /* opening: key 0, a bad mode, NULL outputs, a store that does not exist */
  CHECK_STATUS(shmkv_open_key(0, NULL, SHMKV_CREATE, &s, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_open_key(key, NULL, (shmkv_open_mode)42, &s, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_open_key(key, NULL, SHMKV_CREATE, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_open_path(NULL, 1, NULL, SHMKV_ATTACH, &s, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_open_path("/nonexistent/shmkv", 1, NULL, SHMKV_ATTACH, &s, ERR),
               SHMKV_NOT_FOUND);
  memset(&e, 0, sizeof e);
  CHECK(shmkv_open_key(key, NULL, SHMKV_ATTACH, &s, &e) == SHMKV_NOT_FOUND);
  /* its advice in this API's terms, not the C++ API's */
  CHECK(s == NULL && strstr(e.message, "shmkv_options_set_capacity") != NULL);
  CHECK(strstr(e.message, "SHMKV_CREATE") != NULL && strstr(e.message, "Options::") == NULL);
  CHECK(strstr(e.message, "kvcli") == NULL);
  CHECK_STATUS(shmkv_destroy_path(NULL, 1, ERR), SHMKV_INVALID_ARGUMENT);

  shmkv_options* o = small_options();
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_OPEN_OR_CREATE, &s, ERR), SHMKV_OK);
  /* NULL data with a size, NULL outputs, empty and oversized keys, bad TTLs */
  CHECK_STATUS(shmkv_put(s, NULL, 3, "v", 1, 0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_put(s, "k", 1, NULL, 3, 0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_put(s, "", 0, "v", 1, 0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  static char big_key[5000];
  memset(big_key, 'k', sizeof big_key);
  CHECK_STATUS(shmkv_put(s, big_key, sizeof big_key, "v", 1, 0, 0, NULL, ERR),
               SHMKV_INVALID_ARGUMENT);
  static char big_value[8192];
  CHECK_STATUS(shmkv_put(s, "k", 1, big_value, sizeof big_value, 0, 0, NULL, ERR),
               SHMKV_RESOURCE_EXHAUSTED);
  CHECK_STATUS(shmkv_put(s, "k", 1, "v", 1, -5.0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_touch(s, "k", 1, 0, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_get(s, "k", 1, NULL, 5, &n, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_get(s, "k", 1, buf, sizeof buf, NULL, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_contains(s, "k", 1, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_foreach(s, NULL, 0, NULL, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_get_or_compute(s, "k", 1, NULL, NULL, NULL, buf, sizeof buf, &n, ERR),
               SHMKV_INVALID_ARGUMENT);
  shmkv_compute_options co;
  memset(&co, 0, sizeof co);
  co.wait_timeout = -1;
  CHECK_STATUS(shmkv_get_or_compute(s, "k", 1, compute_answer, "v", &co, buf, sizeof buf, &n, ERR),
               SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_get_stats(s, NULL, 10, ERR), SHMKV_INVALID_ARGUMENT);
  shmkv_stats st;
  CHECK_STATUS(shmkv_get_stats(s, &st, 0, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK(shmkv_value_sink_set(NULL, "v", 1) == SHMKV_INVALID_ARGUMENT);
  /* nothing above wrote anything */
  CHECK_STATUS(shmkv_contains(s, "k", 1, &found, ERR), SHMKV_OK);
  CHECK(found == 0);

  CHECK(strcmp(shmkv_status_name(SHMKV_NOT_FOUND), "NOT_FOUND") == 0);
  CHECK(strcmp(shmkv_status_name(SHMKV_BUFFER_TOO_SMALL), "BUFFER_TOO_SMALL") == 0);
  CHECK(strcmp(shmkv_status_name(-3), "UNKNOWN_STATUS") == 0);
  CHECK(shmkv_version()[0] != '\0');

  shmkv_options_set_capacity(NULL, 1); /* setters ignore a NULL options */
  shmkv_options_destroy(NULL);
  shmkv_close(NULL);
  shmkv_close(&s);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_options_destroy(o);
}

/* A child process writes through the C API; the parent reads what it wrote,
 * and a value the parent wrote is read by the child. */
static void test_two_processes(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_put(s, "from-parent", 11, "p", 1, 0, 0, NULL, ERR), SHMKV_OK);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    shmkv_store* c = NULL;
    char buf[16];
    size_t n = 0;
    if (shmkv_open_key(key, NULL, SHMKV_ATTACH, &c, NULL) != SHMKV_OK) _exit(10);
    if (shmkv_get(c, "from-parent", 11, buf, sizeof buf, &n, NULL, NULL) != SHMKV_OK || n != 1 ||
        buf[0] != 'p') {
      _exit(11);
    }
    for (int i = 0; i < 100; ++i) {
      int64_t r;
      if (shmkv_incr(c, "shared-counter", 14, 1, 0, 1, 0, &r, NULL) != SHMKV_OK) _exit(12);
    }
    if (shmkv_put(c, "from-child", 10, "c", 1, 0, 0, NULL, NULL) != SHMKV_OK) _exit(13);
    shmkv_close(&c);
    _exit(0);
  }
  CHECK(pid > 0);
  for (int i = 0; i < 100; ++i) {
    int64_t r;
    CHECK_STATUS(shmkv_incr(s, "shared-counter", 14, 1, 0, 1, 0, &r, ERR), SHMKV_OK);
  }
  int status = -1;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char buf[16];
  size_t n = 0;
  CHECK_STATUS(shmkv_get(s, "from-child", 10, buf, sizeof buf, &n, NULL, ERR), SHMKV_OK);
  CHECK(n == 1 && buf[0] == 'c');
  CHECK_STATUS(shmkv_get(s, "shared-counter", 14, buf, sizeof buf, &n, NULL, ERR), SHMKV_OK);
  CHECK(n == 3 && memcmp(buf, "200", 3) == 0);
  shmkv_close(&s);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_options_destroy(o);
}

/* Batches: each item answered as its own call would be, bad items alone. */
static void test_batches(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);

  uint64_t existing_version = 0;
  CHECK_STATUS(shmkv_put(s, "present", 7, "old", 3, 0, 0, &existing_version, ERR), SHMKV_OK);
  shmkv_put_item puts[6];
  memset(puts, 0, sizeof puts);
  puts[0].key = "a";
  puts[0].key_size = 1;
  puts[0].value = "alpha";
  puts[0].value_size = 5;
  puts[0].ttl = 30.0;
  puts[0].flags = 3u;
  puts[1].key = "present";
  puts[1].key_size = 7;
  puts[1].value = "x";
  puts[1].value_size = 1;
  puts[1].condition = SHMKV_WRITE_IF_ABSENT;
  puts[2].key = "present";
  puts[2].key_size = 7;
  puts[2].value = "new";
  puts[2].value_size = 3;
  puts[2].condition = SHMKV_WRITE_IF_VERSION;
  puts[2].expected_version = existing_version;
  puts[3].key = NULL; /* NULL with a size: this item alone is invalid */
  puts[3].key_size = 4;
  puts[4].key = "b";
  puts[4].key_size = 1;
  puts[4].value = "beta";
  puts[4].value_size = 4;
  puts[4].condition = 99; /* no such condition */
  puts[5].key = "b";
  puts[5].key_size = 1;
  puts[5].value = "beta";
  puts[5].value_size = 4;
  puts[5].ttl = -2.0; /* bad TTL */
  CHECK_STATUS(shmkv_put_many(s, puts, 6, ERR), SHMKV_OK);
  CHECK(puts[0].status == SHMKV_OK && puts[0].version != 0);
  CHECK(puts[1].status == SHMKV_ALREADY_EXISTS && puts[1].version == 0);
  CHECK(puts[2].status == SHMKV_OK && puts[2].version != existing_version);
  CHECK(puts[3].status == SHMKV_INVALID_ARGUMENT);
  CHECK(puts[4].status == SHMKV_INVALID_ARGUMENT);
  CHECK(puts[5].status == SHMKV_INVALID_ARGUMENT);

  char buf_a[16], buf_small[2], buf_present[16];
  shmkv_get_item gets[5];
  memset(gets, 0, sizeof gets);
  gets[0].key = "a";
  gets[0].key_size = 1;
  gets[0].buf = buf_a;
  gets[0].buf_size = sizeof buf_a;
  gets[1].key = "present";
  gets[1].key_size = 7;
  gets[1].buf = buf_small;
  gets[1].buf_size = sizeof buf_small;
  gets[2].key = "absent";
  gets[2].key_size = 6;
  gets[3].key = "";
  gets[3].key_size = 0;
  gets[4].key = "present";
  gets[4].key_size = 7;
  gets[4].buf = buf_present;
  gets[4].buf_size = sizeof buf_present;
  CHECK_STATUS(shmkv_get_many(s, gets, 5, ERR), SHMKV_OK);
  CHECK(gets[0].status == SHMKV_OK && gets[0].value_size == 5 && memcmp(buf_a, "alpha", 5) == 0);
  CHECK(gets[0].meta.version == puts[0].version && gets[0].meta.flags == 3u);
  CHECK(gets[0].meta.ttl_remaining > 29.0 && gets[0].meta.ttl_remaining <= 30.0);
  CHECK(gets[1].status == SHMKV_BUFFER_TOO_SMALL && gets[1].value_size == 3);
  CHECK(gets[2].status == SHMKV_NOT_FOUND);
  CHECK(gets[3].status == SHMKV_INVALID_ARGUMENT);
  CHECK(gets[4].status == SHMKV_OK && gets[4].value_size == 3 &&
        memcmp(buf_present, "new", 3) == 0);
  CHECK(gets[4].meta.version == puts[2].version);

  /* empty batches, bad arguments */
  CHECK_STATUS(shmkv_get_many(s, NULL, 0, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_put_many(s, NULL, 0, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_get_many(s, NULL, 2, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_put_many(NULL, puts, 1, ERR), SHMKV_INVALID_ARGUMENT);

  /* a destroyed store fails the call, and every item with it */
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_get_many(s, gets, 5, ERR), SHMKV_STORE_DESTROYED);
  CHECK(gets[0].status == SHMKV_STORE_DESTROYED && gets[3].status == SHMKV_INVALID_ARGUMENT);
  shmkv_close(&s);
  shmkv_options_destroy(o);
}

/* A destroyed store has its own status, apart from "condition not met"
 * (cas) and "not a number" (incr), which stay FAILED_PRECONDITION. */
static void test_destroyed_store(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  uint64_t v = 0;
  int64_t r = 0;
  CHECK_STATUS(shmkv_put(s, "k", 1, "text", 4, 0, 0, &v, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_cas(s, "k", 1, v + 1, "x", 1, 0, 0, NULL, ERR), SHMKV_FAILED_PRECONDITION);
  CHECK_STATUS(shmkv_incr(s, "k", 1, 1, 0, 1, 0, &r, ERR), SHMKV_FAILED_PRECONDITION);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_error e;
  memset(&e, 0, sizeof e);
  CHECK(shmkv_cas(s, "k", 1, v, "x", 1, 0, 0, NULL, &e) == SHMKV_STORE_DESTROYED);
  CHECK(e.code == SHMKV_STORE_DESTROYED && strstr(e.message, "destroyed") != NULL);
  CHECK(strstr(e.message, "SHMKV_OPEN_OR_CREATE or SHMKV_ATTACH") != NULL &&
        strstr(e.message, "kAttach") == NULL);
  CHECK_STATUS(shmkv_incr(s, "k", 1, 1, 0, 1, 0, &r, ERR), SHMKV_STORE_DESTROYED);
  char buf[8];
  size_t n;
  CHECK_STATUS(shmkv_get(s, "k", 1, buf, sizeof buf, &n, NULL, ERR), SHMKV_STORE_DESTROYED);
  CHECK_STATUS(shmkv_put(s, "k", 1, "v", 1, 0, 0, NULL, ERR), SHMKV_STORE_DESTROYED);
  CHECK(strcmp(shmkv_status_name(SHMKV_STORE_DESTROYED), "STORE_DESTROYED") == 0);
  shmkv_close(&s);
  shmkv_options_destroy(o);
}

static int compute_with_huge_size(void* context, shmkv_value_sink* sink) {
  (void)context;
  return shmkv_value_sink_set(sink, "v", SIZE_MAX);
}

/* Sizes no object can have are INVALID_ARGUMENT everywhere, not an abort. */
static void test_impossible_sizes(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  char buf[8];
  size_t n;
  uint64_t removed, next;
  int found;
  CHECK_STATUS(shmkv_put(s, "k", SIZE_MAX, "v", 1, 0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_put(s, "k", 1, "v", SIZE_MAX, 0, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_add(s, "k", 1, "v", (size_t)PTRDIFF_MAX + 1, 0, 0, NULL, ERR),
               SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_get(s, "k", SIZE_MAX, buf, sizeof buf, &n, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_contains(s, "k", SIZE_MAX, &found, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_incr(s, "k", SIZE_MAX, 1, 0, 1, 0, NULL, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_delete(s, "k", SIZE_MAX, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_foreach(s, "k", SIZE_MAX, count_keys, &found, ERR), SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_scan(s, 0, 10, "k", SIZE_MAX, NULL, 0, count_keys, &found, &next, ERR),
               SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(shmkv_delete_matching(s, "k", SIZE_MAX, NULL, &removed, ERR),
               SHMKV_INVALID_ARGUMENT);
  CHECK_STATUS(
      shmkv_get_or_compute(s, "c", 1, compute_with_huge_size, NULL, NULL, buf, sizeof buf, &n, ERR),
      SHMKV_INVALID_ARGUMENT);
  shmkv_put_item put;
  memset(&put, 0, sizeof put);
  put.key = "k";
  put.key_size = 1;
  put.value = "v";
  put.value_size = SIZE_MAX;
  CHECK_STATUS(shmkv_put_many(s, &put, 1, ERR), SHMKV_OK);
  CHECK(put.status == SHMKV_INVALID_ARGUMENT);
  shmkv_get_item get;
  memset(&get, 0, sizeof get);
  get.key = "k";
  get.key_size = SIZE_MAX;
  CHECK_STATUS(shmkv_get_many(s, &get, 1, ERR), SHMKV_OK);
  CHECK(get.status == SHMKV_INVALID_ARGUMENT);
  uint64_t items = 1;
  CHECK_STATUS(shmkv_size(s, &items, ERR), SHMKV_OK);
  CHECK(items == 0);
  shmkv_close(&s);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_options_destroy(o);
}

/* A default TTL that is no TTL is refused at open, naming the setter; a
 * positive TTL below the clock's resolution still expires. */
static void test_ttl_rules(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  shmkv_error e;
  const double refused[] = {-5.0, NAN, -INFINITY};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; ++i) {
    shmkv_options_set_default_ttl(o, refused[i]);
    memset(&e, 0, sizeof e);
    CHECK(shmkv_open_key(key, o, SHMKV_CREATE, &s, &e) == SHMKV_INVALID_ARGUMENT && s == NULL);
    CHECK(strstr(e.message, "shmkv_options_set_default_ttl") != NULL &&
          strstr(e.message, "SHMKV_TTL_NEVER") != NULL);
  }
  shmkv_options_set_default_ttl(o, 0.0001); /* 0.1 ms: at least 1 ms, not "never" */
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  shmkv_info info;
  CHECK_STATUS(shmkv_get_info(s, &info, sizeof info, ERR), SHMKV_OK);
  CHECK(info.default_ttl > 0);
  shmkv_close(&s);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);

  shmkv_options_set_default_ttl(o, 3600);
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  CHECK_STATUS(shmkv_put(s, "brief", 5, "v", 1, 1e-12, 0, NULL, ERR), SHMKV_OK);
  usleep(20 * 1000);
  char buf[8];
  size_t n;
  CHECK_STATUS(shmkv_get(s, "brief", 5, buf, sizeof buf, &n, NULL, ERR), SHMKV_NOT_FOUND);
  shmkv_close(&s);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_options_destroy(o);
}

/* Runs fn in `n` threads, the i-th on (char*)args + i * arg_size (arg_size
 * 0: all on args); then, while they run, meanwhile(context) if not NULL;
 * then joins them all. */
static void run_threads(int n, void* (*fn)(void*), void* args, size_t arg_size,
                        void (*meanwhile)(void*), void* context) {
  pthread_t threads[8];
  if (n > 8) {
    CHECK(n <= 8);
    return;
  }
  for (int t = 0; t < n; ++t)
    pthread_create(&threads[t], NULL, fn, (char*)args + (size_t)t * arg_size);
  if (meanwhile != NULL) meanwhile(context);
  for (int t = 0; t < n; ++t) pthread_join(threads[t], NULL);
}

/* Two threads closing one handle variable at once close it once. */
struct close_race {
  shmkv_store** handle;
  pthread_barrier_t* start;
};

static void* close_after_barrier(void* arg) {
  struct close_race* race = (struct close_race*)arg;
  pthread_barrier_wait(race->start);
  shmkv_close(race->handle);
  return NULL;
}

static void test_close_twice_at_once(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  shmkv_close(&s);
  for (int round = 0; round < 200; ++round) {
    CHECK_STATUS(shmkv_open_key(key, o, SHMKV_ATTACH, &s, ERR), SHMKV_OK);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    struct close_race race = {&s, &start};
    run_threads(2, close_after_barrier, &race, 0, NULL, NULL);
    pthread_barrier_destroy(&start);
    CHECK(s == NULL);
  }
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_options_destroy(o);
}

/* Threads get, put and scan through their copies of a handle while another
 * thread closes it: every call ends with its own answer or, once closed,
 * INVALID_ARGUMENT; nothing crashes, and no stripe lock is left held (another
 * process reads every key afterwards). */
enum { kRaceKeys = 256 };

struct racer {
  shmkv_store* store; /* this thread's copy of the handle */
  int kind;           /* 0 get, 1 put, 2 scan */
  atomic_int* started;
  int bad; /* calls that answered neither as expected nor "closed" */
};

static int ignore_entry(void* context, const void* key, size_t key_size, const void* value,
                        size_t value_size, const shmkv_meta* meta) {
  (void)context;
  (void)key;
  (void)key_size;
  (void)value;
  (void)value_size;
  (void)meta;
  return 0;
}

static void* race_calls(void* arg) {
  struct racer* r = (struct racer*)arg;
  char k[16], buf[16];
  size_t n;
  uint64_t cursor = 0;
  atomic_fetch_add(r->started, 1);
  for (unsigned i = 0;; ++i) {
    int kn = snprintf(k, sizeof k, "race/%u", i % kRaceKeys);
    shmkv_status st;
    if (r->kind == 0) {
      st = shmkv_get(r->store, k, (size_t)kn, buf, sizeof buf, &n, NULL, NULL);
    } else if (r->kind == 1) {
      st = shmkv_put(r->store, k, (size_t)kn, "value", 5, 0, 0, NULL, NULL);
    } else {
      st = shmkv_scan(r->store, cursor, 16, "race/", 5, NULL, 1, ignore_entry, NULL, &cursor, NULL);
    }
    if (st == SHMKV_INVALID_ARGUMENT) return NULL; /* closed */
    if (st != SHMKV_OK) ++r->bad;
  }
}

/* Closes the handle once every racer runs, after a pause of its round. */
struct closer {
  shmkv_store** handle;
  atomic_int* started;
  int racers, round;
};

static void close_when_started(void* arg) {
  struct closer* c = (struct closer*)arg;
  while (atomic_load(c->started) < c->racers) sched_yield();
  usleep((useconds_t)(c->round % 5) * 200);
  shmkv_close(c->handle);
}

static int close_during_calls(void* context, shmkv_value_sink* sink) {
  shmkv_close((shmkv_store**)context);
  return shmkv_value_sink_set(sink, "computed", 8);
}

/* A child process: every key is readable within a short lock timeout. */
static int every_key_readable(key_t key) {
  shmkv_options* o = shmkv_options_create();
  shmkv_options_set_lock_timeout(o, 2.0);
  shmkv_store* s = NULL;
  if (shmkv_open_key(key, o, SHMKV_ATTACH, &s, NULL) != SHMKV_OK) return 10;
  for (int i = 0; i < kRaceKeys; ++i) {
    char k[16], buf[16];
    size_t n;
    int kn = snprintf(k, sizeof k, "race/%d", i);
    shmkv_error e;
    if (shmkv_get(s, k, (size_t)kn, buf, sizeof buf, &n, NULL, &e) != SHMKV_OK) {
      fprintf(stderr, "child: %s: %s\n", k, e.message);
      return 11;
    }
  }
  shmkv_close(&s);
  shmkv_options_destroy(o);
  return 0;
}

static void test_close_during_calls(key_t key) {
  shmkv_options* o = small_options();
  shmkv_store* s = NULL;
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_CREATE, &s, ERR), SHMKV_OK);
  for (int i = 0; i < kRaceKeys; ++i) {
    char k[16];
    int kn = snprintf(k, sizeof k, "race/%d", i);
    CHECK_STATUS(shmkv_put(s, k, (size_t)kn, "value", 5, 0, 0, NULL, ERR), SHMKV_OK);
  }
  for (int round = 0; round < 30; ++round) {
    if (s == NULL) CHECK_STATUS(shmkv_open_key(key, o, SHMKV_ATTACH, &s, ERR), SHMKV_OK);
    atomic_int started = 0;
    struct racer racers[6];
    for (int t = 0; t < 6; ++t) {
      struct racer r = {s, t % 3, &started, 0};
      racers[t] = r;
    }
    struct closer closer = {&s, &started, 6, round};
    run_threads(6, race_calls, racers, sizeof racers[0], close_when_started, &closer);
    for (int t = 0; t < 6; ++t) CHECK(racers[t].bad == 0);
  }
  /* a compute callback may close the handle it runs under */
  CHECK_STATUS(shmkv_open_key(key, o, SHMKV_ATTACH, &s, ERR), SHMKV_OK);
  char buf[16];
  size_t n;
  CHECK_STATUS(
      shmkv_get_or_compute(s, "closer", 6, close_during_calls, &s, NULL, buf, sizeof buf, &n, ERR),
      SHMKV_OK);
  CHECK(s == NULL && n == 8);

  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) _exit(every_key_readable(key));
  int status = -1;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_STATUS(shmkv_destroy_key(key, ERR), SHMKV_OK);
  shmkv_options_destroy(o);
}

int main(void) {
  shmkv_test_run_under_guard("c_api_test");
  test_entries(shmkv_test_key("c_api_test.entries"));
  test_bad_input(shmkv_test_key("c_api_test.bad_input"));
  test_batches(shmkv_test_key("c_api_test.batches"));
  test_two_processes(shmkv_test_key("c_api_test.two_processes"));
  test_destroyed_store(shmkv_test_key("c_api_test.destroyed_store"));
  test_impossible_sizes(shmkv_test_key("c_api_test.impossible_sizes"));
  test_ttl_rules(shmkv_test_key("c_api_test.ttl_rules"));
  test_close_twice_at_once(shmkv_test_key("c_api_test.close_twice_at_once"));
  test_close_during_calls(shmkv_test_key("c_api_test.close_during_calls"));
  if (failures != 0) {
    fprintf(stderr, "c_api_test: %d checks failed\n", failures);
    return 1;
  }
  printf("c_api_test: all checks passed\n");
  return 0;
}
