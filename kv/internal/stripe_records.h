// Reading the records of a stripe's log: what the parts of StripeView
// (stripe.cc, stripe_reclaim.cc, stripe_recovery.cc) share. Each takes a
// header already copied out of the segment and checked (SaneHeader).
#ifndef SHMKV_KV_INTERNAL_STRIPE_RECORDS_H_
#define SHMKV_KV_INTERNAL_STRIPE_RECORDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"

namespace shmkv::internal {

// DataLoss for stripe `stripe`, saying what is wrong and how to repair it.
inline absl::Status Corrupt(uint32_t stripe, const std::string& what) {
  return absl::DataLossError(absl::StrCat("stripe ", stripe, " is corrupt (", what,
                                          "); repair it with Store::Check(repair)"));
}

// The log bytes a record (or pad) takes.
inline uint64_t SizeOf(const EntryHeader& h) {
  return h.state == kPad ? h.value_size : RecordBytes(h.key_size, h.value_size);
}

inline const char* KeyBytes(const EntryHeader* entry) {
  return reinterpret_cast<const char*>(entry) + kEntryHeaderBytes;
}

inline uint64_t KeyHash(const EntryHeader* entry, const EntryHeader& h, uint64_t seed) {
  return Hash64(KeyBytes(entry), h.key_size, seed);
}

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_STRIPE_RECORDS_H_
