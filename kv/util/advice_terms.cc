#include "kv/util/advice_terms.h"

#include "absl/strings/str_replace.h"

namespace shmkv::util {

std::string InBindingTerms(absl::string_view message, const BindingTerms& t) {
  // An OK status's or a miss's empty message, on every C call: StrReplaceAll
  // would allocate its list of matches even for nothing.
  if (message.empty()) return std::string();
  return absl::StrReplaceAll(
      message,
      {{"OpenMode::kCreate and Options::capacity_bytes, e.g. 64 MiB (or open with kOpenOrCreate)",
        t.create_store},
       {"Options::capacity_bytes = 64 MiB", t.capacity_example},
       {"open it again (kOpenOrCreate or kAttach)", t.open_again},
       {"open with kCreate or kOpenOrCreate", t.open_to_replace},
       {"Options::", ""},
       {"capacity_bytes", t.capacity},
       {"max_value_size", t.max_value},
       {"max_key_size", t.max_key},
       {"expected_items", t.items},
       {"lock_timeout", t.lock_timeout},
       {"allow_foreign_owner", t.allow_foreign_owner},
       {"wait_timeout", t.wait_timeout},
       {"lease_timeout", t.lease_timeout},
       {"Store::Check(true)", t.repair},
       {"Store::Check(repair)", t.repair},
       {"Check(true)", t.repair},
       {"Store::Destroy", t.destroy},
       {"DestroyStore", t.destroy},
       {"NearCacheOptions", t.near_options},
       {"fill_ttl", t.fill_ttl},
       {"heartbeat_timeout", t.heartbeat_timeout},
       {"redis_timeout", t.redis_timeout},
       {"sync_check_interval", t.sync_check_interval}});
}

}  // namespace shmkv::util
