// shmkv/shmkv.h compiles alone as C++ too (see c_header_alone.c).
#include "tests/c_header_alone.c"  // NOLINT: the same program, as C++
