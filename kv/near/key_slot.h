// Redis Cluster's key-to-slot function, as every cluster client computes it:
// the CRC16 (XMODEM: polynomial 0x1021, initial value 0, no reflection) of
// the key, modulo 16384. A key holding a hash tag, the bytes between its
// first '{' and the first '}' after it when there is at least one byte
// between them, is hashed by the tag alone, so "{user:1}.name" and
// "{user:1}.mail" share a slot. Not a public API of shmkv.
#ifndef SHMKV_KV_NEAR_KEY_SLOT_H_
#define SHMKV_KV_NEAR_KEY_SLOT_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace shmkv::near {

inline constexpr int kClusterSlots = 16384;

// CRC16/XMODEM of `data`.
uint16_t Crc16Xmodem(absl::string_view data);

// The part of `key` that decides its slot: the hash tag when there is one,
// otherwise the whole key.
absl::string_view HashedPart(absl::string_view key);

// The cluster slot of `key`, 0..16383 (what CLUSTER KEYSLOT answers).
int KeySlot(absl::string_view key);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_KEY_SLOT_H_
