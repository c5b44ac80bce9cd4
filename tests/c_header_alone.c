/* shmkv/shmkv.h compiles alone, with no feature-test macros: the BUILD
 * compiles this file as strict ISO C99 and C11 (-pedantic, warnings as
 * errors) and as C++ (c_header_alone.cc). Uses no System V object. */
#include <string.h>

#include "shmkv/shmkv.h"

int main(void) {
  shmkv_key_t key = 0x5f3e0001;
  shmkv_error err;
  shmkv_store* store = NULL;
  (void)key;
  (void)err;
  (void)store;
  return strcmp(shmkv_status_name(SHMKV_STORE_DESTROYED), "STORE_DESTROYED") == 0 ? 0 : 1;
}
