/* A C program sharing a store with other processes (and with kvcli):
 * counts its runs in the store and prints a greeting another process left.
 *
 *   cc counter.c $(pkg-config --cflags --libs shmkv) -o counter
 *   ./counter 0x5f3e0001
 *   kvcli get --key=0x5f3e0001 runs
 */
#include <shmkv/shmkv.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s KEY   (a System V key, e.g. 0x5f3e0001)\n", argv[0]);
    return 2;
  }
  shmkv_key_t key = (shmkv_key_t)strtoul(argv[1], NULL, 0);

  shmkv_options* options = shmkv_options_create();
  shmkv_options_set_capacity(options, 16u << 20);
  shmkv_store* store = NULL;
  shmkv_error err;
  if (shmkv_open_key(key, options, SHMKV_OPEN_OR_CREATE, &store, &err) != SHMKV_OK) {
    fprintf(stderr, "counter: %s\n", err.message);
    shmkv_options_destroy(options);
    return 1;
  }
  shmkv_options_destroy(options);

  int64_t runs = 0;
  if (shmkv_incr(store, "runs", 4, 1, 0, 1, 0, &runs, &err) != SHMKV_OK) {
    fprintf(stderr, "counter: %s\n", err.message);
    shmkv_close(&store);
    return 1;
  }
  printf("runs: %lld\n", (long long)runs);

  char greeting[256];
  size_t size = 0;
  shmkv_status s = shmkv_get(store, "greeting", 8, greeting, sizeof greeting, &size, NULL, &err);
  if (s == SHMKV_OK) {
    printf("greeting: %.*s\n", (int)size, greeting);
  } else if (s == SHMKV_NOT_FOUND) {
    printf("greeting: (none yet; kvcli put --key=%s greeting hello)\n", argv[1]);
  } else {
    fprintf(stderr, "counter: %s\n", err.message);
  }
  shmkv_close(&store);
  return s == SHMKV_OK || s == SHMKV_NOT_FOUND ? 0 : 1;
}
