// The library's error messages give advice in the C++ API's terms: the open
// modes, Options fields and Store calls. A binding (Node, Python) says that
// advice in its own terms: it names its word for each of those phrases, and
// InBindingTerms rewrites a message with them. The phrases are listed here
// once: advice that gains a phrase adds it here, and each binding its word.
#ifndef SHMKV_KV_UTIL_ADVICE_TERMS_H_
#define SHMKV_KV_UTIL_ADVICE_TERMS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace shmkv::util {

// A binding's words for the library's phrases (in comments: the phrase).
struct BindingTerms {
  // "OpenMode::kCreate and Options::capacity_bytes, e.g. 64 MiB (or open
  // with kOpenOrCreate)": how to create a store of 64 MiB.
  std::string create_store;
  // "Options::capacity_bytes = 64 MiB": a capacity of 64 MiB.
  std::string capacity_example;
  // "open it again (kOpenOrCreate or kAttach)" and "open with kCreate or
  // kOpenOrCreate" (a store whose creator died before writing it).
  std::string open_again, open_to_replace;
  // Options fields: capacity_bytes, max_value_size, max_key_size,
  // expected_items, lock_timeout, allow_foreign_owner; GetOrComputeOptions'
  // wait_timeout and lease_timeout.
  std::string capacity, max_value, max_key, items, lock_timeout, allow_foreign_owner, wait_timeout,
      lease_timeout;
  // "Store::Check(true)", "Check(true)" and "Store::Check(repair)".
  std::string repair;
  // "Store::Destroy" and "DestroyStore".
  std::string destroy;
  // NearCacheOptions and its fields fill_ttl, heartbeat_timeout,
  // redis_timeout and sync_check_interval.
  std::string near_options, fill_ttl, heartbeat_timeout, redis_timeout, sync_check_interval;
};

// `message` with each phrase replaced by the binding's word. At each
// position the longest phrase wins, so a whole sentence's advice is replaced
// before the terms inside it; "Options::" before a field not listed goes.
// An empty message costs nothing (no allocation): the C API passes every
// status's message, OK and misses included.
std::string InBindingTerms(absl::string_view message, const BindingTerms& terms);

}  // namespace shmkv::util

#endif  // SHMKV_KV_UTIL_ADVICE_TERMS_H_
