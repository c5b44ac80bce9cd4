// Little-endian integers as the binary snapshot format stores them; shared by
// the writer and the reader (private to this package).
#ifndef SHMKV_KV_SNAPSHOT_ENCODING_H_
#define SHMKV_KV_SNAPSHOT_ENCODING_H_

#include <cstdint>
#include <string>

namespace shmkv::snapshot_encoding {

inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace shmkv::snapshot_encoding

#endif  // SHMKV_KV_SNAPSHOT_ENCODING_H_
