// Expiry: entries past their TTL are invisible, the boundary is exact where
// a read decides and where the log's tail does, Touch and the default TTL,
// FlushExpired, and TTL arithmetic that saturates instead of overflowing.
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::kStartMs;
using ::shmkv::testutil::MetaOf;
using ::shmkv::testutil::OneStripe;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::WithClock;

TEST(Expiry, HugeTtlsSaturateInsteadOfOverflowing) {
  ScopedStore store;
  ManualClock clock(kStartMs);
  Options o = WithClock(&clock);
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
  ScopedStore store;
  ASSERT_OK(store.Open(WithClock(&clock, OneStripe())));
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
  Options o = WithClock(&clock, OneStripe());
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

TEST(CacheSemantics, ExpiredEntriesAreInvisible) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  ASSERT_OK(store.Open(WithClock(&clock)));
  WriteOptions five;
  five.ttl = absl::Seconds(5);
  ASSERT_OK(store->Put("ttl/short", "s", five));
  ASSERT_OK(store->Put("ttl/forever", "f"));

  clock.Advance(4999);
  EXPECT_EQ(GetOrDie(&*store, "ttl/short"), "s");
  clock.Advance(2);  // 5.001 s

  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("ttl/short", &v)));
  bool viewed = false;
  EXPECT_TRUE(absl::IsNotFound(
      store->View("ttl/short", [&](absl::string_view, const EntryMeta&) { viewed = true; })));
  EXPECT_FALSE(viewed);
  ASSERT_OK_AND_ASSIGN(bool has, store->Contains("ttl/short"));
  EXPECT_FALSE(has);
  std::vector<std::string> visited;
  ASSERT_OK(store->ForEach("ttl/", [&](absl::string_view k, absl::string_view, const EntryMeta&) {
    visited.emplace_back(k);
    return true;
  }));
  EXPECT_THAT(visited, ::testing::ElementsAre("ttl/forever"));
  EXPECT_TRUE(absl::IsNotFound(store->Touch("ttl/short", absl::Seconds(100))));
  EXPECT_TRUE(absl::IsNotFound(store->Replace("ttl/short", "r")));
  // An expired key is not live: Add succeeds.
  ASSERT_OK(store->Add("ttl/short", "again"));
  EXPECT_EQ(GetOrDie(&*store, "ttl/short"), "again");
  EXPECT_EQ(MetaOf(*store, "ttl/short").ttl_remaining, absl::InfiniteDuration());
}

TEST(CacheSemantics, TouchSetsANewTtl) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  ASSERT_OK(store.Open(WithClock(&clock)));
  WriteOptions five;
  five.ttl = absl::Seconds(5);
  ASSERT_OK(store->Put("a", "1", five));
  ASSERT_OK(store->Put("b", "2", five));
  ASSERT_OK(store->Put("c", "3"));

  clock.Advance(4000);
  ASSERT_OK(store->Touch("a", absl::Seconds(10)));  // now expires at +14 s
  ASSERT_OK(store->Touch("b", absl::InfiniteDuration()));
  ASSERT_OK(store->Touch("c", absl::Seconds(1)));  // adds a TTL
  EXPECT_EQ(MetaOf(*store, "a").ttl_remaining, absl::Seconds(10));
  EXPECT_TRUE(absl::IsNotFound(store->Touch("missing", absl::Seconds(1))));

  clock.Advance(8000);  // +12 s
  EXPECT_EQ(GetOrDie(&*store, "a"), "1");
  EXPECT_EQ(GetOrDie(&*store, "b"), "2");
  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("c", &v)));
  clock.Advance(2500);  // +14.5 s
  EXPECT_TRUE(absl::IsNotFound(store->Get("a", &v)));
  clock.Advance(int64_t{1000} * 86400 * 365);
  EXPECT_EQ(GetOrDie(&*store, "b"), "2");
  EXPECT_EQ(MetaOf(*store, "b").ttl_remaining, absl::InfiniteDuration());
}

TEST(CacheSemantics, DefaultTtlAppliesToWritesWithoutOne) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  Options o = WithClock(&clock);
  o.default_ttl = absl::Seconds(3);
  ASSERT_OK(store.Open(o));
  ASSERT_OK(store->Put("default", "d"));
  WriteOptions forever;
  forever.ttl = absl::InfiniteDuration();
  ASSERT_OK(store->Put("forever", "f", forever));
  WriteOptions longer;
  longer.ttl = absl::Seconds(60);
  ASSERT_OK(store->Put("longer", "l", longer));
  EXPECT_EQ(MetaOf(*store, "default").ttl_remaining, absl::Seconds(3));

  clock.Advance(3001);
  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("default", &v)));
  EXPECT_EQ(GetOrDie(&*store, "forever"), "f");
  EXPECT_EQ(GetOrDie(&*store, "longer"), "l");
}

TEST(CacheSemantics, FlushExpiredCountsAndReclaims) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  ASSERT_OK(store.Open(WithClock(&clock)));
  ASSERT_OK_AND_ASSIGN(StoreStats before, store->Stats());
  WriteOptions one;
  one.ttl = absl::Seconds(1);
  for (int i = 0; i < 10; ++i) ASSERT_OK(store->Put(absl::StrCat("short/", i), "x", one));
  for (int i = 0; i < 5; ++i) ASSERT_OK(store->Put(absl::StrCat("long/", i), "y"));

  ASSERT_OK_AND_ASSIGN(uint64_t flushed, store->FlushExpired());
  EXPECT_EQ(flushed, 0u);
  clock.Advance(2000);
  ASSERT_OK_AND_ASSIGN(flushed, store->FlushExpired());
  EXPECT_EQ(flushed, 10u);
  ASSERT_OK_AND_ASSIGN(flushed, store->FlushExpired());
  EXPECT_EQ(flushed, 0u);
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 5u);
  ASSERT_OK_AND_ASSIGN(StoreStats after, store->Stats());
  EXPECT_EQ(after.expirations - before.expirations, 10u);
  EXPECT_EQ(after.items, 5u);
}

}  // namespace
}  // namespace shmkv
