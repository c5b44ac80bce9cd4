#include "kv/util/crc32c.h"

namespace shmkv::util {
namespace {

struct CrcTable {
  uint32_t entry[256];
};

constexpr CrcTable MakeCrcTable() {
  CrcTable table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    table.entry[i] = c;
  }
  return table;
}

constexpr CrcTable kCrcTable = MakeCrcTable();

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, absl::string_view bytes) {
  crc = ~crc;
  for (const char c : bytes) {
    crc = kCrcTable.entry[(crc ^ static_cast<unsigned char>(c)) & 0xff] ^ (crc >> 8);
  }
  return ~crc;
}

uint32_t Crc32c(absl::string_view bytes) { return Crc32cExtend(0, bytes); }

}  // namespace shmkv::util
