/* A C program reading through the near cache: a shmkv store in front of
 * Redis, kept fresh by kvsync. Prints each value and how it was served.
 *
 *   cc near_reader.c $(pkg-config --cflags --libs shmkv-near) -o near_reader
 *   kvsync --key=0x5f3e0002 --redis=unix:/run/redis/redis.sock --prefix=user:   (in the background)
 *   ./near_reader 0x5f3e0002 unix:/run/redis/redis.sock user:42 user:43
 *
 * Without kvsync every read goes to Redis ("direct", with the reason); with
 * it, the first read of a key fills the store and later ones hit it.
 */
#include <shmkv/near.h>
#include <shmkv/shmkv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: %s KEY REDIS NAME...   (e.g. 0x5f3e0002 unix:/run/redis/redis.sock user:42)\n",
            argv[0]);
    return 2;
  }
  shmkv_key_t key = (shmkv_key_t)strtoul(argv[1], NULL, 0);

  shmkv_store* store = NULL; /* a store with the default options (64 MiB) */
  shmkv_error err;
  shmkv_status s = shmkv_open_key(key, NULL, SHMKV_OPEN_OR_CREATE, &store, &err);
  if (s != SHMKV_OK) {
    fprintf(stderr, "near_reader: %s\n", err.message);
    return 1;
  }
  shmkv_near* near = NULL;
  if (shmkv_near_open(store, argv[2], NULL, &near, &err) != SHMKV_OK) {
    fprintf(stderr, "near_reader: %s: %s\n", shmkv_status_name(err.code), err.message);
    shmkv_close(&store);
    return 1;
  }

  int failed = 0;
  for (int i = 3; i < argc; ++i) {
    char value[256];
    size_t size = 0;
    shmkv_near_read read;
    s = shmkv_near_get(near, argv[i], strlen(argv[i]), value, sizeof value, &size, &read, &err);
    if (s == SHMKV_OK) {
      printf("%s: %.*s (%s%s%s)\n", argv[i], (int)size, value, shmkv_near_path_name(read.path),
             read.bypass_reason[0] != '\0' ? ": " : "", read.bypass_reason);
    } else {
      printf("%s: %s: %s\n", argv[i], shmkv_status_name(s), err.message);
      failed = 1;
    }
  }
  shmkv_near_close(&near); /* before the store it reads */
  shmkv_close(&store);
  return failed;
}
