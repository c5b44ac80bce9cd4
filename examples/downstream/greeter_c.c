/* Reads the greeting greeter (or kvcli) left in the store at KEY. */
#include <stdio.h>
#include <stdlib.h>

#include "shmkv/shmkv.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: greeter_c KEY\n");
    return 2;
  }
  shmkv_store* store = NULL;
  shmkv_error err;
  if (shmkv_open_key((shmkv_key_t)strtoul(argv[1], NULL, 0), NULL, SHMKV_ATTACH, &store, &err) !=
      SHMKV_OK) {
    fprintf(stderr, "greeter_c: %s\n", err.message);
    return 1;
  }
  char greeting[256];
  size_t size = 0;
  shmkv_status s = shmkv_get(store, "greeting", 8, greeting, sizeof greeting, &size, NULL, &err);
  if (s == SHMKV_OK) printf("greeting: %.*s\n", (int)size, greeting);
  if (s != SHMKV_OK) fprintf(stderr, "greeter_c: %s\n", err.message);
  shmkv_close(&store);
  return s == SHMKV_OK ? 0 : 1;
}
