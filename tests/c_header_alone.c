/* shmkv/shmkv.h compiles alone, with no feature-test macros: the BUILD
 * compiles this file as strict ISO C99 and C11 (-pedantic, warnings as
 * errors) and as C++ (c_header_alone.cc). Uses no System V object. */
#include "shmkv/shmkv.h"

int main(void) {
  shmkv_key_t key = 0x5f3e0001;
  shmkv_error err;
  shmkv_store* store = NULL;
  const char* name = shmkv_status_name(SHMKV_STORE_DESTROYED);
  (void)key;
  (void)err;
  (void)store;
  return name[0] == 'S' ? 0 : 1; /* "STORE_DESTROYED" */
}
