// CRC-32C, the checksum of the binary snapshot format.
#ifndef SHMKV_KV_UTIL_CRC32C_H_
#define SHMKV_KV_UTIL_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace shmkv::util {

// CRC-32C (Castagnoli; reflected polynomial 0x82f63b78, initial value and
// final xor 0xffffffff). Crc32c("123456789") is 0xe3069283. Extend continues
// a checksum over more bytes: Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32c(absl::string_view bytes);
uint32_t Crc32cExtend(uint32_t crc, absl::string_view bytes);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_CRC32C_H_
