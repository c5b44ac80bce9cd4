// Expiry: entries past their TTL are invisible, the boundary is exact where
// a read decides and where the log's tail does, Touch and the default TTL,
// FlushExpired, and TTL arithmetic that saturates instead of overflowing.
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::kStartMs;
using ::shmkv::testutil::OneStripe;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;

TEST(Expiry, HugeTtlsSaturateInsteadOfOverflowing) {
  ScopedStore store;
  ManualClock clock(kStartMs);
  Options o = SmallOptions();
  o.clock = &clock;
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  for (int shift : {53, 62}) {
    SCOPED_TRACE(absl::StrCat("TTL 2^", shift, " s"));
    const absl::Duration ttl = absl::Seconds(int64_t{1} << shift);
    const std::string key = absl::StrCat("k", shift);
    WriteOptions w;
    w.ttl = ttl;
    ASSERT_OK(s.Put(key, "v", w));
    std::string v;
    EntryMeta meta;
    ASSERT_OK(s.Get(key, &v, &meta));
    EXPECT_GT(meta.expires_at_ms, kStartMs);
    ASSERT_OK(s.Touch(key, ttl));
    EXPECT_OK(s.Get(key, &v));
    GetOrComputeOptions g;
    g.write.ttl = ttl;
    const std::string computed = absl::StrCat("c", shift);
    ASSERT_OK(s.GetOrCompute(
                   computed, [] { return absl::StatusOr<std::string>("x"); }, g)
                  .status());
    EXPECT_EQ(GetOrDie(&s, computed), "x");
  }
  // The store's default TTL too.
  ScopedStore other;
  Options d = o;
  d.default_ttl = absl::Seconds(int64_t{1} << 62);
  ASSERT_OK(other.Open(d));
  ASSERT_OK(other->Put("k", "v"));
  EXPECT_EQ(GetOrDie(&*other, "k"), "v");
}

// Catches `expires_at_ms < now` for `<=` where a read decides: an entry
// written with a TTL of 5 s is gone 5000 ms later, not 5001.
TEST(TtlBoundary, ReadAtExactlyTheExpiryIsNotFound) {
  ManualClock clock(kStartMs);
  Options o = OneStripe();
  o.clock = &clock;
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  WriteOptions ttl;
  ttl.ttl = absl::Seconds(5);
  ASSERT_OK(store->Put("t", "v", ttl));
  clock.Advance(4999);
  std::string value;
  ASSERT_OK(store->Get("t", &value));
  clock.Advance(1);
  EXPECT_TRUE(absl::IsNotFound(store->Get("t", &value)));
}

// Catches the same mistake where the log's tail decides: an entry that
// expires exactly now is dropped there (counted as an expiration) instead of
// being moved forward.
TEST(TtlBoundary, TailDropsAnEntryAtExactlyItsExpiry) {
  ManualClock clock(kStartMs);
  Options o = OneStripe();
  o.clock = &clock;
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 1024;
  o.evict = false;  // a live entry at the tail is moved, never evicted
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  WriteOptions ttl;
  ttl.ttl = absl::Seconds(5);
  ASSERT_OK(store->Put("t", "v", ttl));  // the oldest record: the tail
  clock.Advance(5000);
  // Three laps of the 64 KiB log overwriting one other key: the tail passes
  // "t" (nothing reads it, so only the tail can expire it).
  for (int i = 0; i < 200; ++i) ASSERT_OK(store->Put("churn", std::string(1000, 'c'))) << i;
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.expirations, 1u);
  EXPECT_EQ(stats.items, 1u);
}

}  // namespace
}  // namespace shmkv
