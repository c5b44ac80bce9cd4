#include "kv/util/advice_terms.h"

#include "gtest/gtest.h"

namespace shmkv::util {
namespace {

BindingTerms Words() {
  BindingTerms t;
  t.create_store = "CREATE";
  t.capacity_example = "CAPACITY-64";
  t.open_again = "OPEN-AGAIN";
  t.open_to_replace = "OPEN-TO-REPLACE";
  t.capacity = "CAPACITY";
  t.max_value = "MAX-VALUE";
  t.max_key = "MAX-KEY";
  t.items = "ITEMS";
  t.lock_timeout = "LOCK-TIMEOUT";
  t.allow_foreign_owner = "FOREIGN";
  t.wait_timeout = "WAIT";
  t.lease_timeout = "LEASE";
  t.repair = "REPAIR";
  t.destroy = "DESTROY";
  t.near_options = "NEAR";
  t.fill_ttl = "FILL-TTL";
  t.heartbeat_timeout = "HEARTBEAT";
  t.redis_timeout = "REDIS-TIMEOUT";
  t.sync_check_interval = "SYNC-CHECK";
  return t;
}

TEST(AdviceTermsTest, AnEmptyMessageStaysEmpty) { EXPECT_EQ(InBindingTerms("", Words()), ""); }

TEST(AdviceTermsTest, WholePhrasesWinOverTheTermsInsideThem) {
  const BindingTerms t = Words();
  EXPECT_EQ(InBindingTerms("no shmkv store at key 0x1; create one with OpenMode::kCreate and "
                           "Options::capacity_bytes, e.g. 64 MiB (or open with kOpenOrCreate)",
                           t),
            "no shmkv store at key 0x1; create one with CREATE");
  EXPECT_EQ(InBindingTerms("give it some bytes (e.g. Options::capacity_bytes = 64 MiB)", t),
            "give it some bytes (e.g. CAPACITY-64)");
  EXPECT_EQ(InBindingTerms("store was destroyed; open it again (kOpenOrCreate or kAttach) now", t),
            "store was destroyed; OPEN-AGAIN now");
  EXPECT_EQ(InBindingTerms("died; open with kCreate or kOpenOrCreate to replace it", t),
            "died; OPEN-TO-REPLACE to replace it");
}

TEST(AdviceTermsTest, FieldsAndCalls) {
  const BindingTerms t = Words();
  EXPECT_EQ(InBindingTerms("lower Options::expected_items or raise Options::capacity_bytes", t),
            "lower ITEMS or raise CAPACITY");
  EXPECT_EQ(InBindingTerms("max_value_size and max_key_size; lock_timeout, wait_timeout, "
                           "lease_timeout; set Options::allow_foreign_owner",
                           t),
            "MAX-VALUE and MAX-KEY; LOCK-TIMEOUT, WAIT, LEASE; set FOREIGN");
  EXPECT_EQ(InBindingTerms("repair it with Store::Check(true), Check(true) or "
                           "Store::Check(repair); or Store::Destroy / DestroyStore",
                           t),
            "repair it with REPAIR, REPAIR or REPAIR; or DESTROY / DESTROY");
  EXPECT_EQ(InBindingTerms("NearCacheOptions: fill_ttl, heartbeat_timeout, redis_timeout, "
                           "sync_check_interval; Options::mode",
                           t),
            "NEAR: FILL-TTL, HEARTBEAT, REDIS-TIMEOUT, SYNC-CHECK; mode");
  EXPECT_EQ(InBindingTerms("nothing to say in other terms", t), "nothing to say in other terms");
}

}  // namespace
}  // namespace shmkv::util
