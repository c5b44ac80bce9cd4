// The near cache against a real Redis: Debian's redis-server on a unix socket
// in a temporary directory, the kvsync binary of this build, and readers in
// forked processes sharing one store.
//
// NearCacheStress runs for SHMKV_NEAR_STRESS_SECONDS (default 5; 20 for the
// long mode).
#include "shmkv/near/near_cache.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/near/redis_client.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"
#include "tests/near/redis_env.h"
#include "tests/near/redis_proxy.h"
#include "tests/test_util.h"

namespace shmkv::near {
namespace {

using neartest::Kvsync;
using neartest::PollUntil;
using neartest::RedisServer;
using ::testing::HasSubstr;
using testutil::ChildProcess;
using testutil::DescribeExit;
using testutil::ScopedStore;

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

Options StoreOptions() {
  Options o = testutil::SmallOptions();
  o.capacity_bytes = 8 << 20;
  o.expected_items = 20000;
  return o;
}

// A child that attaches to the store `name` and stops itself (SIGSTOP)
// while it holds the lock of the stripe of `key` (inside View's callback),
// as a process stopped at the wrong moment does.
class StoppedLockHolder {
 public:
  StoppedLockHolder(const StoreName& name, const std::string& key)
      : child_([name, key]() -> int {
          auto attached = Store::Open(name, StoreOptions(), OpenMode::kAttach);
          CHILD_CHECK_OK(attached.status(), 1);
          CHILD_CHECK_OK((*attached)->View(key,
                                           [](absl::string_view, const EntryMeta&) {
                                             raise(SIGSTOP);  // with the stripe's lock held
                                           }),
                         2);
          return 0;
        }) {}

  // True once the child is stopped (state T in /proc/PID/stat).
  bool WaitStopped() {
    return PollUntil(
        [&] {
          const std::string stat =
              neartest::ReadFile(absl::StrCat("/proc/", child_.pid(), "/stat"));
          return stat.find(") T ") != std::string::npos;
        },
        absl::Seconds(10));
  }
  // Lets the child go on (releasing the lock); returns its exit status.
  int Resume() {
    kill(child_.pid(), SIGCONT);
    return child_.Wait();
  }

 private:
  ChildProcess child_;
};

// The lock stripe `key` falls in, found by putting it: the one stripe whose
// items grow. Nothing else may write to the store meanwhile.
absl::StatusOr<uint32_t> PutInStripe(Store& store, const std::string& key) {
  absl::StatusOr<std::vector<StripeStats>> before = store.StatsByStripe();
  if (!before.ok()) return before.status();
  if (absl::Status s = store.Put(key, "cached"); !s.ok()) return s;
  absl::StatusOr<std::vector<StripeStats>> after = store.StatsByStripe();
  if (!after.ok()) return after.status();
  for (size_t i = 0; i < after->size() && i < before->size(); ++i) {
    if ((*after)[i].stats.items > (*before)[i].stats.items) return (*after)[i].stripe;
  }
  return absl::InternalError(absl::StrCat("no stripe grew when ", key, " was put"));
}

// The stripe of the one entry of `store` (kvsync's record, before anything
// else is put).
absl::StatusOr<uint32_t> StripeOfOnlyEntry(Store& store) {
  absl::StatusOr<std::vector<StripeStats>> stripes = store.StatsByStripe();
  if (!stripes.ok()) return stripes.status();
  std::vector<uint32_t> holding;
  for (const StripeStats& s : *stripes) {
    if (s.stats.items != 0) holding.push_back(s.stripe);
  }
  if (holding.size() != 1) return absl::InternalError("the store holds more than its record");
  return holding[0];
}

class NearCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(store_.Open(StoreOptions()));
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(client_, redis_.Client());
    log_ = redis_.dir() + "/kvsync.log";
    ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), redis_.address(), {"p:"}, log_));
    ASSERT_TRUE(WaitSynced(0)) << KvsyncLog();
  }

  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "kvsync's log:\n%s", KvsyncLog().c_str());
  }

  std::string KvsyncLog() const { return neartest::ReadFile(log_); }

  absl::StatusOr<SyncState> State() { return ReadSyncState(*store_); }

  // Waits until kvsync says synced with at least `resyncs` resyncs.
  bool WaitSynced(uint64_t resyncs) {
    return neartest::WaitSynced(*store_, resyncs, absl::Seconds(10));
  }

  NearCacheOptions CacheOptions() const {
    NearCacheOptions o;
    o.redis = redis_.address();
    return o;
  }

  std::unique_ptr<NearCache> MakeCache(Store* store) {
    absl::StatusOr<std::unique_ptr<NearCache>> c = NearCache::Create(store, CacheOptions());
    return c.ok() ? *std::move(c) : nullptr;
  }

  void RedisSet(const std::string& key, const std::string& value) {
    auto r = client_->Command({"SET", key, value});
    ASSERT_TRUE(r.ok() && r->IsString("OK")) << r.status();
  }

  // neartest::Drain with the marker "p:~drain".
  void Drain() { ASSERT_OK(neartest::Drain(*store_, *client_, "p:~drain", ++drains_)); }

  std::string RedisGet(const std::string& key) {
    auto r = client_->Command({"GET", key});
    return r.ok() && r->type == RedisReply::Type::kString ? r->str : "<absent>";
  }

  // Keys under p: in the store.
  std::vector<std::string> StoreKeys() {
    std::vector<std::string> keys;
    EXPECT_OK(store_->ForEach("p:", [&](absl::string_view k, absl::string_view, const EntryMeta&) {
      keys.emplace_back(k);
      return true;
    }));
    return keys;
  }

  // Opens the store in a child and reads through a NearCache there.
  static std::unique_ptr<Store> Attach(const StoreName& name) {
    auto s = Store::Open(name, StoreOptions(), OpenMode::kAttach);
    return s.ok() ? *std::move(s) : nullptr;
  }

  ScopedStore store_;
  RedisServer redis_;
  std::unique_ptr<RedisConnection> client_;
  Kvsync kvsync_;
  std::string log_;
  int drains_ = 0;
};

TEST_F(NearCacheTest, FillsOncePerKeyAcrossProcesses) {
  constexpr int kKeys = 50, kProcs = 8;
  for (int i = 0; i < kKeys; ++i) RedisSet(absl::StrCat("p:k", i), absl::StrCat("value-", i));
  Drain();
  ASSERT_OK_AND_ASSIGN(long long gets_before, redis_.CommandCalls("get"));
  testutil::SharedArray<std::atomic<int>> paths(4);
  const StoreName name = store_.name();
  auto read_all = [&](int child) -> int {
    std::unique_ptr<Store> store = Attach(name);
    CHILD_CHECK(store != nullptr, 1);
    std::unique_ptr<NearCache> cache = MakeCache(store.get());
    CHILD_CHECK(cache != nullptr, 2);
    for (int n = 0; n < kKeys; ++n) {
      const int i = (n + child * 7) % kKeys;  // every process in its own order
      ReadInfo info;
      absl::StatusOr<std::string> v = cache->Get(absl::StrCat("p:k", i), &info);
      CHILD_CHECK_OK(v, 3);
      CHILD_CHECK(*v == absl::StrCat("value-", i), 4);
      paths[static_cast<int>(info.path)].fetch_add(1);
    }
    return 0;
  };
  for (int status : testutil::RunChildren(kProcs, read_all)) {
    ASSERT_EQ(status, 0) << DescribeExit(status);
  }
  ASSERT_OK_AND_ASSIGN(long long gets_after, redis_.CommandCalls("get"));
  std::printf("%d processes x %d keys: %d filled, %d shared, %d hits, %d direct; %lld Redis GETs\n",
              kProcs, kKeys, paths[1].load(), paths[2].load(), paths[0].load(), paths[3].load(),
              gets_after - gets_before);
  EXPECT_EQ(gets_after - gets_before, kKeys) << "one Redis GET per key per host";
  EXPECT_EQ(paths[static_cast<int>(ReadPath::kFilled)].load(), kKeys);
  EXPECT_EQ(paths[static_cast<int>(ReadPath::kDirect)].load(), 0);

  // A second round is all hits: no Redis read at all.
  for (int status : testutil::RunChildren(kProcs, read_all)) {
    ASSERT_EQ(status, 0) << DescribeExit(status);
  }
  ASSERT_OK_AND_ASSIGN(long long gets_final, redis_.CommandCalls("get"));
  EXPECT_EQ(gets_final, gets_after);
}

// An outside write reaches every process: each reads the new value, and no
// Get that starts later than heartbeat_timeout + sync_check_interval after
// the write returned may still return the old one (doc/near_cache.md,
// Guarantees: a kvsync that has not applied an invalidation by then has a
// heartbeat that old, and readers bypass it). How fast it happens is a
// figure, not a check: near_bench's staleness probe (bench/near) measures it.
TEST_F(NearCacheTest, OutsideWriteInvalidatesEveryProcessWithinTheHeartbeatTimeout) {
  constexpr int kProcs = 4, kRounds = 20;
  const NearCacheOptions options = CacheOptions();
  const int64_t bound_ns =
      absl::ToInt64Nanoseconds(options.heartbeat_timeout + options.sync_check_interval);
  RedisSet("p:x", "round-0");
  Drain();
  testutil::SharedArray<std::atomic<int64_t>> written_ns(kRounds + 1);
  testutil::SharedArray<std::atomic<int>> seen(kRounds + 1);
  const StoreName name = store_.name();
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int c = 0; c < kProcs; ++c) {
    children.push_back(std::make_unique<ChildProcess>([&]() -> int {
      std::unique_ptr<Store> store = Attach(name);
      CHILD_CHECK(store != nullptr, 1);
      std::unique_ptr<NearCache> cache = MakeCache(store.get());
      CHILD_CHECK(cache != nullptr, 2);
      for (int r = 0; r <= kRounds; ++r) {
        CHILD_CHECK(
            PollUntil([&] { return r == 0 || written_ns[r].load() != 0; }, absl::Seconds(20)), 3);
        const std::string want = absl::StrCat("round-", r);
        bool late = false;
        bool fresh = PollUntil(
            [&] {
              const int64_t begun = NowNs();
              absl::StatusOr<std::string> v = cache->Get("p:x");
              if (v.ok() && *v == want) return true;
              if (r > 0 && begun - written_ns[r].load() > bound_ns) late = true;
              return false;
            },
            absl::Seconds(5));
        CHILD_CHECK(fresh, 4);
        CHILD_CHECK(!late, 5);  // an old value past the bound
        seen[r].fetch_add(1);
      }
      return 0;
    }));
  }
  for (int r = 1; r <= kRounds; ++r) {
    ASSERT_TRUE(PollUntil([&] { return seen[r - 1].load() == kProcs; }, absl::Seconds(20)));
    // Every process holds the previous value (filled, in the store).
    ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains("p:x"));
    ASSERT_TRUE(cached);
    RedisSet("p:x", absl::StrCat("round-", r));  // from outside: a raw client
    written_ns[r] = NowNs();                     // the write has returned
    // kvsync applies the invalidation to the store (a liveness check; its
    // latency is the benchmark's figure).
    ASSERT_TRUE(PollUntil(
        [&] {
          std::string v;
          EntryMeta meta;
          absl::Status s = store_->Get("p:x", &v, &meta);
          return absl::IsNotFound(s) || (s.ok() && v == absl::StrCat("round-", r));
        },
        absl::Seconds(5)));
  }
  for (auto& child : children) {
    const int status = child->Wait();
    ASSERT_EQ(status, 0) << DescribeExit(status);
  }
}

TEST_F(NearCacheTest, SetAndDeleteWriteThrough) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  ASSERT_NE(cache, nullptr);
  ASSERT_OK(cache->Set("p:w", "1"));
  EXPECT_EQ(RedisGet("p:w"), "1");
  Drain();
  ReadInfo info;
  EXPECT_EQ(*cache->Get("p:w", &info), "1");
  EXPECT_EQ(info.path, ReadPath::kFilled);
  EXPECT_EQ(*cache->Get("p:w", &info), "1");
  EXPECT_EQ(info.path, ReadPath::kHit);
  // The writer reads its own write at once (the local copy is dropped).
  ASSERT_OK(cache->Set("p:w", "2"));
  EXPECT_EQ(*cache->Get("p:w", &info), "2");
  ASSERT_OK(cache->Delete("p:w"));
  EXPECT_EQ(RedisGet("p:w"), "<absent>");
  absl::StatusOr<std::string> absent = cache->Get("p:w", &info);
  EXPECT_TRUE(absl::IsNotFound(absent.status()));
  EXPECT_THAT(absent.status().message(), HasSubstr("no such key in Redis"));
  EXPECT_EQ(info.path, ReadPath::kDirect);
  EXPECT_THAT(info.bypass_reason, HasSubstr("absent in Redis (absence is not cached)"));
  EXPECT_TRUE(absl::IsNotFound(cache->Delete("p:w")));
  // A write by redis-cli, another program entirely.
  ASSERT_OK(cache->Set("p:w", "3"));
  EXPECT_EQ(*cache->Get("p:w"), "3");
  absl::StatusOr<pid_t> cli =
      neartest::Spawn({"redis-cli", "-s", redis_.socket(), "set", "p:w", "from-redis-cli"}, "");
  ASSERT_OK(cli);
  ASSERT_EQ(neartest::WaitExit(*cli, absl::Seconds(10)), 0);
  EXPECT_TRUE(
      PollUntil([&] { return *cache->Get("p:w") == "from-redis-cli"; }, absl::Milliseconds(100)));
  // Reserved keys are refused.
  EXPECT_TRUE(absl::IsInvalidArgument(cache->Get(kSyncStateKey).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(cache->Set(kSyncStateKey, "x")));
}

// A NearCache used before fork() holds a Redis connection that parent and
// child both inherit. Each must talk to Redis on its own connection: on a
// shared socket each may read the other's reply and fill key X with key Y's
// value. Parent and child read 8,000 distinct keys each, at once, through
// the one NearCache object they share by fork(); every value read and every
// entry left in the store must be the key's own.
TEST_F(NearCacheTest, ForkedChildDoesNotShareTheParentsRedisConnection) {
  constexpr int kPerProcess = 8000;
  auto key = [](int i) { return absl::StrCat("p:fork", i); };
  auto value = [&](int i) { return absl::StrCat("value of ", key(i)); };
  ASSERT_OK(neartest::SetNumberedKeys(*client_, "p:fork", 2 * kPerProcess));
  Drain();
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  ASSERT_NE(cache, nullptr);
  ReadInfo info;
  ASSERT_EQ(*cache->Get(key(0), &info), value(0));  // the connection is open now
  ASSERT_EQ(info.path, ReadPath::kFilled);
  // Reads [first, first + kPerProcess) through `cache`; the number of wrong
  // values and failed reads, or 0.
  auto read_range = [&](int first) {
    int bad = 0;
    for (int i = first; i < first + kPerProcess; ++i) {
      absl::StatusOr<std::string> v = cache->Get(key(i));
      if (!v.ok() || *v != value(i)) {
        if (++bad <= 3) {
          std::fprintf(stderr, "[pid %d] %s: %s\n", static_cast<int>(getpid()), key(i).c_str(),
                       v.ok() ? v->c_str() : v.status().ToString().c_str());
        }
      }
    }
    return bad;
  };
  ChildProcess child([&] { return std::min(read_range(kPerProcess), 100); }, absl::Seconds(120));
  const int parent_bad = read_range(0);
  const int child_status = child.Wait();
  EXPECT_EQ(parent_bad, 0) << "reads in the parent returned a wrong value or failed";
  EXPECT_EQ(child_status, 0) << "reads in the child returned a wrong value or failed ("
                             << DescribeExit(child_status) << ")";
  Drain();
  ASSERT_OK_AND_ASSIGN(neartest::CachedComparison cached,
                       neartest::CompareCachedWithRedis(*store_, *client_, "p:fork"));
  EXPECT_EQ(cached.wrong, 0) << "of " << cached.cached << " entries cached";
  EXPECT_GT(cached.cached, kPerProcess);
}

// A key with a TTL in Redis is cached no longer than that TTL: hits never
// touch Redis, and with active expiry off (or behind) Redis sends the key's
// invalidation only when something reads it there.
TEST_F(NearCacheTest, ExpiringKeyIsNotServedAfterItsRedisTtl) {
  auto off = client_->Command({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
  ASSERT_TRUE(off.ok() && off->IsString("OK")) << off.status() << " " << off->Describe();
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  auto set = client_->Command({"SET", "p:ttl", "expiring", "PX", "1500"});
  ASSERT_TRUE(set.ok() && set->IsString("OK")) << set.status();
  Drain();
  ReadInfo info;
  ASSERT_EQ(*cache->Get("p:ttl", &info), "expiring");
  ASSERT_EQ(info.path, ReadPath::kFilled);
  std::string cached;
  EntryMeta meta;
  ASSERT_OK(store_->Get("p:ttl", &cached, &meta));
  EXPECT_LE(meta.ttl_remaining, absl::Milliseconds(1500));
  absl::SleepFor(absl::Milliseconds(2500));  // Redis's TTL is over
  absl::StatusOr<std::string> after = cache->Get("p:ttl", &info);
  EXPECT_TRUE(absl::IsNotFound(after.status()))
      << "served \"" << after.value_or("") << "\" (" << ReadPathName(info.path) << ")";
  // A key without a TTL is filled for fill_ttl.
  RedisSet("p:forever", "v");
  Drain();
  ASSERT_EQ(*cache->Get("p:forever", &info), "v");
  EntryMeta forever;
  ASSERT_OK(store_->Get("p:forever", &cached, &forever));
  EXPECT_GT(forever.ttl_remaining, absl::Minutes(4));
}

// A plain write of a near-cache entry through the store's own API makes it
// a local value that readers do not serve: Increment drops its flags (the
// epoch), Touch may lift its TTL past fill_ttl. The next read deletes it and
// reads Redis, which never had the local value.
TEST_F(NearCacheTest, PlainIncrementOrTouchOfANearEntryIsNotServed) {
  RedisSet("p:ctr", "5");
  RedisSet("p:touched", "v");
  Drain();
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  ASSERT_NE(cache, nullptr);
  ReadInfo info;
  ASSERT_EQ(cache->Get("p:ctr", &info).value_or("<error>"), "5");
  ASSERT_EQ(info.path, ReadPath::kFilled);
  ASSERT_EQ(cache->Get("p:touched", &info).value_or("<error>"), "v");
  ASSERT_EQ(info.path, ReadPath::kFilled);

  ASSERT_OK_AND_ASSIGN(int64_t local, store_->Increment("p:ctr", 1));
  ASSERT_EQ(local, 6);
  EXPECT_EQ(cache->Get("p:ctr", &info).value_or("<error>"), "5")
      << "a local increment was served as the near cache's value";
  EXPECT_EQ(info.path, ReadPath::kFilled);

  ASSERT_OK(store_->Touch("p:touched", absl::InfiniteDuration()));
  EXPECT_EQ(cache->Get("p:touched", &info).value_or("<error>"), "v");
  EXPECT_EQ(info.path, ReadPath::kFilled) << "an entry touched past fill_ttl was served";
  std::string value;
  EntryMeta meta;
  ASSERT_OK(store_->Get("p:touched", &value, &meta));
  EXPECT_LE(meta.ttl_remaining, CacheOptions().fill_ttl) << "the refill is bounded again";
  // A shorter TTL keeps it a near-cache entry.
  ASSERT_OK(store_->Touch("p:touched", absl::Seconds(30)));
  EXPECT_EQ(cache->Get("p:touched", &info).value_or("<error>"), "v");
  EXPECT_EQ(info.path, ReadPath::kHit);
}

TEST_F(NearCacheTest, KeysOutsideThePrefixesAreReadDirectly) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  RedisSet("q:1", "other");
  ReadInfo info;
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(*cache->Get("q:1", &info), "other");
    EXPECT_EQ(info.path, ReadPath::kDirect);
    EXPECT_NE(info.bypass_reason.find("outside the prefixes"), std::string::npos)
        << info.bypass_reason;
  }
  ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains("q:1"));
  EXPECT_FALSE(cached);
}

TEST_F(NearCacheTest, ValueOfAnEarlierEpochIsNotServed) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  RedisSet("p:e", "fresh");
  Drain();
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  WriteOptions stale;
  stale.flags = state.epoch - 1;  // as a fill that raced a resync would leave
  ASSERT_OK(store_->Put("p:e", "stale", stale));
  ReadInfo info;
  EXPECT_EQ(*cache->Get("p:e", &info), "fresh");
  EXPECT_EQ(info.path, ReadPath::kFilled);
}

TEST_F(NearCacheTest, FlushAllClearsThePrefixes) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  for (int i = 0; i < 20; ++i) RedisSet(absl::StrCat("p:f", i), "v");
  Drain();
  for (int i = 0; i < 20; ++i) ASSERT_OK(cache->Get(absl::StrCat("p:f", i)));
  ASSERT_EQ(StoreKeys().size(), 20u);
  auto flushed = client_->Command({"FLUSHALL"});
  ASSERT_TRUE(flushed.ok() && flushed->IsString("OK"));
  EXPECT_TRUE(PollUntil([&] { return StoreKeys().empty(); }, absl::Seconds(1)));
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  EXPECT_EQ(state.flushes, 1u);
  EXPECT_TRUE(state.synced());
  EXPECT_TRUE(absl::IsNotFound(cache->Get("p:f0").status()));
}

TEST_F(NearCacheTest, RedisDownUnsyncsAndFallsBackThenResyncs) {
  // Every Get reads kvsync's record, so the first Get after the poll below
  // sees "not synced" however soon kvsync wrote it (with the default
  // interval it could trust the record it read before the kill for 1 ms;
  // near_unit_test covers the interval).
  NearCacheOptions options = CacheOptions();
  options.sync_check_interval = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> cache, NearCache::Create(store_.get(), options));
  for (int i = 0; i < 10; ++i) RedisSet(absl::StrCat("p:d", i), "before");
  Drain();
  for (int i = 0; i < 10; ++i) ASSERT_OK(cache->Get(absl::StrCat("p:d", i)));
  ASSERT_EQ(StoreKeys().size(), 10u);
  redis_.Kill(SIGKILL);
  ASSERT_TRUE(PollUntil(
      [&] {
        auto s = State();
        return s.ok() && !s->synced() && StoreKeys().empty();
      },
      absl::Seconds(2)))
      << "kvsync should clear the prefixes and say not synced";
  // Readers go to Redis directly, which is down: Unavailable.
  ReadInfo info;
  absl::StatusOr<std::string> v = cache->Get("p:d0", &info);
  EXPECT_TRUE(absl::IsUnavailable(v.status())) << v.status();
  EXPECT_EQ(info.path, ReadPath::kDirect);
  EXPECT_NE(info.bypass_reason.find("connecting"), std::string::npos) << info.bypass_reason;

  ASSERT_OK(redis_.Start());  // empty: no persistence
  ASSERT_OK_AND_ASSIGN(client_, redis_.Client());
  ASSERT_TRUE(WaitSynced(1)) << KvsyncLog();
  RedisSet("p:d0", "after");
  Drain();
  EXPECT_EQ(*cache->Get("p:d0", &info), "after");
  EXPECT_EQ(info.path, ReadPath::kFilled);
  EXPECT_EQ(*cache->Get("p:d0", &info), "after");
  EXPECT_EQ(info.path, ReadPath::kHit);
  const std::string log = KvsyncLog();
  EXPECT_NE(log.find("not synced"), std::string::npos) << log;
  EXPECT_NE(log.find("resyncs 1"), std::string::npos) << log;
}

// Between a loss and the resync, a fill that read Redis before the loss can
// still land (after the loss's clear) and miss an invalidation Redis never
// sent. kvsync clears the prefixes again once tracking is back, before it
// says synced: what was written in between is gone.
TEST_F(NearCacheTest, ResyncClearsWhatLandedDuringTheLoss) {
  redis_.Kill(SIGKILL);
  ASSERT_TRUE(PollUntil([&] { return KvsyncLog().find("not synced:") != std::string::npos; },
                        absl::Seconds(5)))
      << KvsyncLog();
  ASSERT_OK_AND_ASSIGN(SyncState lost, State());
  ASSERT_FALSE(lost.synced());
  WriteOptions fill;
  fill.flags = lost.epoch;
  ASSERT_OK(store_->Put("p:landed", "filled before the loss", fill));
  ASSERT_OK(redis_.Start());
  ASSERT_OK_AND_ASSIGN(client_, redis_.Client());
  ASSERT_TRUE(WaitSynced(1)) << KvsyncLog();
  ASSERT_OK_AND_ASSIGN(bool landed, store_->Contains("p:landed"));
  EXPECT_FALSE(landed) << "an entry written between the loss and the resync survived the resync";
}

TEST_F(NearCacheTest, KilledKvsyncMakesReadersBypassWithinTheHeartbeatTimeout) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  RedisSet("p:s", "1");
  Drain();
  ReadInfo info;
  ASSERT_OK(cache->Get("p:s", &info));
  ASSERT_OK(cache->Get("p:s", &info));
  ASSERT_EQ(info.path, ReadPath::kHit);
  EXPECT_EQ(kvsync_.Stop(SIGKILL), 128 + SIGKILL);
  ASSERT_OK_AND_ASSIGN(SyncState last, State());
  // The promise: a read that starts more than heartbeat_timeout after
  // kvsync's last beat goes to Redis. How much sooner a dead kvsync is
  // noticed depends on the scheduler, so it is printed, not asserted.
  const int64_t timeout_ms = absl::ToInt64Milliseconds(cache->options().heartbeat_timeout);
  int64_t bypass_age_ms = -1;
  ASSERT_TRUE(PollUntil(
      [&] {
        const int64_t started = MonotonicNowMs();
        absl::StatusOr<std::string> v = cache->Get("p:s", &info);
        const bool direct = v.ok() && info.path == ReadPath::kDirect;
        if (started > last.heartbeat_ms + timeout_ms) {
          EXPECT_TRUE(direct) << "a read " << started - last.heartbeat_ms
                              << " ms after the last beat was served from the store";
        }
        if (direct) bypass_age_ms = started - last.heartbeat_ms;
        return direct;
      },
      absl::Seconds(10)));
  std::printf("readers bypass the cache once kvsync's last beat is %lld ms old (%s)\n",
              static_cast<long long>(bypass_age_ms), info.bypass_reason.c_str());
  // A write nobody invalidates is still read right: from Redis.
  RedisSet("p:s", "2");
  EXPECT_EQ(*cache->Get("p:s", &info), "2");
  EXPECT_EQ(info.path, ReadPath::kDirect);
}

// A kvsync killed and not yet waited for by its parent is a zombie: its pid
// still exists, but it is dead, and readers stop serving after three
// heartbeat intervals as for a kvsync that is gone.
TEST_F(NearCacheTest, KilledKvsyncNotYetReapedMakesReadersBypassAfterThreeBeats) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  RedisSet("p:z", "1");
  Drain();
  ReadInfo info;
  ASSERT_OK(cache->Get("p:z", &info));
  ASSERT_OK(cache->Get("p:z", &info));
  ASSERT_EQ(info.path, ReadPath::kHit);
  ASSERT_EQ(kill(kvsync_.pid(), SIGKILL), 0);
  siginfo_t exited{};  // wait until it is a zombie, without reaping it
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(kvsync_.pid()), &exited, WEXITED | WNOWAIT), 0);
  ASSERT_OK_AND_ASSIGN(SyncState last, State());
  ASSERT_TRUE(last.synced());
  // The documented bound for a dead kvsync: three heartbeat intervals after
  // its last beat (plus the record check interval).
  const int64_t bound_ms = 3 * last.heartbeat_interval_ms +
                           absl::ToInt64Milliseconds(cache->options().sync_check_interval) + 1;
  while (MonotonicNowMs() <= last.heartbeat_ms + bound_ms) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(*cache->Get("p:z", &info), "1");
  EXPECT_EQ(info.path, ReadPath::kDirect)
      << "a read " << MonotonicNowMs() - last.heartbeat_ms
      << " ms after a killed, unreaped kvsync's last beat was served from the store";
  EXPECT_NE(info.bypass_reason.find("gone"), std::string::npos) << info.bypass_reason;
  EXPECT_EQ(kvsync_.Stop(SIGKILL), 128 + SIGKILL);  // reaps it
}

TEST_F(NearCacheTest, SigtermStopsCleanly) {
  EXPECT_EQ(kvsync_.Stop(SIGTERM), 0);
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  EXPECT_EQ(state.phase, SyncPhase::kStopped);
  EXPECT_NE(KvsyncLog().find("stopped"), std::string::npos);
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  RedisSet("p:t", "1");
  ReadInfo info;
  EXPECT_EQ(*cache->Get("p:t", &info), "1");
  EXPECT_EQ(info.path, ReadPath::kDirect);
}

// A blocked signal mask survives fork and exec: kvsync started by a parent
// that blocks SIGTERM must still stop on it.
TEST_F(NearCacheTest, SigtermStopsAKvsyncSpawnedWithItBlocked) {
  ASSERT_EQ(kvsync_.Stop(SIGTERM), 0);
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  Kvsync blocked;
  absl::Status started =
      blocked.Start(testutil::KeyHex(store_.key()), redis_.address(), {"p:"}, log_);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_OK(started);
  ASSERT_TRUE(PollUntil(
      [&] {
        auto s = State();
        return s.ok() && s->synced() && s->pid == blocked.pid();
      },
      absl::Seconds(10)))
      << KvsyncLog();
  EXPECT_EQ(blocked.Stop(SIGTERM), 0);
}

// kvsync's log (in a file of its own, `name`) from its start to its first
// "synced" line on `store`, with "p:" tracked; it is stopped again before
// this returns.
std::string LogUntilSynced(ScopedStore& store, const RedisServer& redis, const char* name) {
  Kvsync kvsync;
  const std::string log = redis.dir() + "/" + name;
  EXPECT_OK(kvsync.Start(testutil::KeyHex(store.key()), redis.address(), {"p:"}, log));
  EXPECT_TRUE(PollUntil([&] { return absl::StrContains(neartest::ReadFile(log), "synced ("); },
                        absl::Seconds(30)))
      << neartest::ReadFile(log);
  const std::string text = neartest::ReadFile(log);
  EXPECT_EQ(kvsync.Stop(SIGTERM), 0) << neartest::ReadFile(log);
  return text;
}

// kvsync's start-up costs what the store holds, not its capacity: on a
// large store holding nothing but its record, the clears before "synced"
// skip the walk of every index slot (about a second per GiB); a store
// holding anything else is walked, and what is under the prefixes goes.
// (How long start-up takes is measured by hand: doc/near_cache.md.)
TEST(KvsyncStartup, EmptyLargeStoreSyncsWithoutWalkingTheIndex) {
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ScopedStore large;
  Options options = StoreOptions();
  options.capacity_bytes = size_t{256} << 20;
  ASSERT_OK(large.Open(options));
  const std::string kNoWalk = "the store held only this record: no walk";
  EXPECT_THAT(LogUntilSynced(large, redis, "empty.log"), testing::HasSubstr(kNoWalk));

  ASSERT_OK(large->Put("other:kept", "1"));
  ASSERT_OK(large->Put("p:stale", "1"));
  EXPECT_THAT(LogUntilSynced(large, redis, "holding.log"),
              testing::Not(testing::HasSubstr(kNoWalk)));
  ASSERT_OK_AND_ASSIGN(bool stale, large->Contains("p:stale"));
  ASSERT_OK_AND_ASSIGN(bool kept, large->Contains("other:kept"));
  EXPECT_FALSE(stale);
  EXPECT_TRUE(kept);
}

// Stopping clears what is under the prefixes and nothing else (the clear
// is not skipped because the store holds more than kvsync's record).
TEST_F(NearCacheTest, StoppingClearsThePrefixesAndKeepsTheRest) {
  ASSERT_OK(store_->Put("p:cached", "1"));
  ASSERT_OK(store_->Put("other:kept", "1"));
  ASSERT_EQ(kvsync_.Stop(SIGTERM), 0);
  ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains("p:cached"));
  ASSERT_OK_AND_ASSIGN(bool kept, store_->Contains("other:kept"));
  EXPECT_FALSE(cached);
  EXPECT_TRUE(kept);
}

TEST_F(NearCacheTest, ASecondKvsyncForTheSameStoreIsRefused) {
  Kvsync second;
  const std::string log = redis_.dir() + "/second.log";
  ASSERT_OK(second.Start(testutil::KeyHex(store_.key()), redis_.address(), {"p:"}, log));
  EXPECT_EQ(neartest::WaitExit(second.pid(), absl::Seconds(10)), 1);
  EXPECT_NE(neartest::ReadFile(log).find("another kvsync"), std::string::npos)
      << neartest::ReadFile(log);
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  EXPECT_EQ(state.pid, kvsync_.pid());
}

// Two kvsyncs in two PID namespaces (sidecars sharing one IPC namespace)
// both run as pid 1: the second still sees the first's record as another
// process's, which it cannot check, and refuses while its heartbeat is
// fresh. Each runs as the first process of a new PID namespace (unshare),
// with this host's /proc.
TEST(KvsyncClaim, SamePidInAnotherPidNamespaceIsAnotherKvsync) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to make PID namespaces";
  ScopedStore store;
  ASSERT_OK(store.Open(StoreOptions()));
  RedisServer redis;
  ASSERT_OK(redis.Start());
  const std::vector<std::string> new_namespace = {"unshare", "--pid", "--kill-child"};
  Kvsync first, second;
  const std::string first_log = redis.dir() + "/first.log",
                    second_log = redis.dir() + "/second.log";
  ASSERT_OK(first.Start(testutil::KeyHex(store.key()), redis.address(), {"p:"}, first_log, {},
                        new_namespace));
  ASSERT_TRUE(neartest::WaitSynced(*store, 0, absl::Seconds(10))) << neartest::ReadFile(first_log);
  ASSERT_OK_AND_ASSIGN(SyncState claimed, ReadSyncState(*store));
  ASSERT_EQ(claimed.pid, 1) << "kvsync did not run as its namespace's first process";
  ASSERT_OK(second.Start(testutil::KeyHex(store.key()), redis.address(), {"p:"}, second_log, {},
                         new_namespace));
  EXPECT_EQ(neartest::WaitExit(second.pid(), absl::Seconds(10)), 1);
  EXPECT_THAT(neartest::ReadFile(second_log), HasSubstr("another kvsync"));
  ASSERT_OK_AND_ASSIGN(SyncState after, ReadSyncState(*store));
  EXPECT_EQ(after.pid_namespace, claimed.pid_namespace) << "the second kvsync took the record";
  EXPECT_TRUE(after.synced());
  EXPECT_THAT(neartest::ReadFile(first_log), ::testing::Not(HasSubstr("took over")));
  first.Stop(SIGTERM);  // unshare ends, and kills its kvsync
}

// A process stopped while it holds the lock of the stripe of kvsync's
// record makes kvsync's claim of the record time out: kvsync says so and
// tries again with backoff, never exits, and syncs once the lock is free.
TEST(KvsyncClaim, LockTimeoutWhileClaimingIsWaitedOut) {
  ScopedStore store;
  ASSERT_OK(store.Open(StoreOptions()));
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK(neartest::WriteSyncRecord(*store, SyncPhase::kStopped, 1, ""));
  StoppedLockHolder holder(store.name(), std::string(kSyncStateKey));
  ASSERT_TRUE(holder.WaitStopped());
  Kvsync kvsync;
  const std::string log = redis.dir() + "/kvsync.log";
  ASSERT_OK(kvsync.Start(testutil::KeyHex(store.key()), redis.address(), {"p:"}, log));
  // kvsync's read of the record waits for the lock (lock_timeout, 5 s).
  const bool said =
      PollUntil([&] { return neartest::ReadFile(log).find("cannot claim") != std::string::npos; },
                absl::Seconds(20));
  EXPECT_EQ(holder.Resume(), 0);
  ASSERT_TRUE(said) << neartest::ReadFile(log);
  ASSERT_TRUE(neartest::WaitSynced(*store, 0, absl::Seconds(10))) << neartest::ReadFile(log);
  ASSERT_OK_AND_ASSIGN(SyncState state, ReadSyncState(*store));
  EXPECT_EQ(state.pid, kvsync.pid());
  EXPECT_EQ(kvsync.Stop(SIGTERM), 0) << neartest::ReadFile(log);
}

// After a stall (SIGSTOP here; a long clear, a huge batch or a suspended
// host alike) kvsync says "synced" again only as of the last PONG on its
// subscription, which Redis sends after every invalidation it queued
// before: no reader is served a value replaced while kvsync was stopped,
// even while kvsync is still draining that backlog.
TEST_F(NearCacheTest, ResumedKvsyncDrainsTheBacklogBeforeReadersServe) {
  constexpr int kKeys = 20000;
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  WriteOptions cached;
  cached.flags = state.epoch;     // as a fill of this epoch
  cached.ttl = absl::Minutes(5);  // fill_ttl, as a fill is stored
  const std::string last = absl::StrCat("p:b", kKeys - 1);
  for (int i = 0; i < kKeys; ++i) ASSERT_OK(store_->Put(absl::StrCat("p:b", i), "old", cached));
  NearCacheOptions options = CacheOptions();
  options.sync_check_interval = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> cache, NearCache::Create(store_.get(), options));
  ReadInfo info;
  ASSERT_OK_AND_ASSIGN(std::string before, cache->Get(last, &info));
  ASSERT_EQ(before, "old");
  ASSERT_EQ(info.path, ReadPath::kHit);

  const int64_t stopped_ms = MonotonicNowMs();
  ASSERT_EQ(kill(kvsync_.pid(), SIGSTOP), 0);
  // Until the heartbeat times out readers may serve what kvsync has not
  // applied (the documented bound); write only once they bypass.
  ASSERT_TRUE(PollUntil([&] { return !cache->Health(last).serving; }, absl::Seconds(5)));
  for (int start = 0; start < kKeys; start += 1000) {
    std::vector<std::string> mset = {"MSET"};
    for (int i = start; i < start + 1000; ++i) {
      mset.push_back(absl::StrCat("p:b", i));
      mset.push_back("new");
    }
    auto r = client_->Command(mset);
    ASSERT_TRUE(r.ok() && r->IsString("OK")) << r.status();
  }
  // A PING kvsync sent just before it stopped is answered before the writes
  // above, and its PONG, read on resuming, rightly vouches for everything
  // applied as of that PING, which readers may trust for heartbeat_timeout
  // (the documented bound). Resume only once that is over, so that every
  // read below must wait for the backlog to be applied.
  const int64_t resume_ms = stopped_ms + absl::ToInt64Milliseconds(options.heartbeat_timeout) + 1;
  while (MonotonicNowMs() <= resume_ms) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_EQ(kill(kvsync_.pid(), SIGCONT), 0);
  int reads = 0, stale = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  for (;;) {
    absl::StatusOr<std::string> v = cache->Get(last, &info);
    ASSERT_OK(v.status());
    ++reads;
    if (*v == "old") ++stale;
    ASSERT_OK_AND_ASSIGN(bool present, store_->Contains(last));
    if (!present || absl::Now() > give_up) break;
  }
  EXPECT_EQ(stale, 0) << "of " << reads << " reads while kvsync drained its backlog";
  ASSERT_OK_AND_ASSIGN(bool still, store_->Contains(last));
  EXPECT_FALSE(still) << "kvsync never applied the backlog";
  ASSERT_TRUE(PollUntil([&] { return cache->Health(last).serving; }, absl::Seconds(5)))
      << KvsyncLog();
  EXPECT_EQ(cache->Get(last).value_or("<error>"), "new");
}

// kvsync's record names the Redis server it follows (its run_id). A
// NearCache whose own connection reaches another server (a wrong address,
// a replica) reads that server directly, fills nothing and serves no hit:
// nothing would invalidate what it filled.
TEST_F(NearCacheTest, NearCachePointedAtAnotherServerReadsDirectly) {
  RedisServer other;
  ASSERT_OK(other.Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisConnection> other_client, other.Client());
  ASSERT_OK_AND_ASSIGN(const std::string run_id, redis_.RunId());
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  EXPECT_EQ(state.redis_run_id, run_id);
  RedisSet("p:k", "kvsync's");
  Drain();
  std::unique_ptr<NearCache> right = MakeCache(store_.get());
  ReadInfo info;
  auto get = [&](NearCache& cache, const char* key) {
    absl::StatusOr<std::string> v = cache.Get(key, &info);
    return v.ok() ? *v : v.status().ToString();
  };
  EXPECT_EQ(get(*right, "p:k"), "kvsync's");
  EXPECT_EQ(info.path, ReadPath::kFilled);

  NearCacheOptions options = CacheOptions();
  options.redis = other.address();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> wrong, NearCache::Create(store_.get(), options));
  ASSERT_TRUE(other_client->Command({"SET", "p:k", "other's"}).ok());
  ASSERT_TRUE(other_client->Command({"SET", "p:o", "first"}).ok());
  EXPECT_EQ(get(*wrong, "p:k"), "other's") << "a hit filled from kvsync's server";
  EXPECT_EQ(info.path, ReadPath::kDirect);
  EXPECT_THAT(info.bypass_reason, HasSubstr("another Redis server"));
  EXPECT_EQ(get(*wrong, "p:o"), "first");
  EXPECT_EQ(info.path, ReadPath::kDirect);
  ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains("p:o"));
  EXPECT_FALSE(cached) << "filled from a server kvsync does not follow";
  ASSERT_TRUE(other_client->Command({"SET", "p:o", "second"}).ok());
  EXPECT_EQ(get(*wrong, "p:o"), "second");
  EXPECT_EQ(wrong->Stats().wrong_server, 3u);
  EXPECT_EQ(get(*right, "p:k"), "kvsync's");
  EXPECT_EQ(info.path, ReadPath::kHit);
}

// A load balancer, or a name with several addresses, that lands kvsync's
// two connections on different servers: tracking would be redirected on a
// server where no subscriber listens (here a client of the same id exists
// there), and no invalidation would ever arrive. kvsync proves both reach
// one server, so it never says synced, says why, and keeps trying.
TEST_F(NearCacheTest, KvsyncWhoseConnectionsReachTwoServersIsNotSynced) {
  RedisServer other;
  ASSERT_OK(other.Start());
  std::vector<std::unique_ptr<RedisConnection>> idle;
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisConnection> c, other.Client());
    idle.push_back(std::move(c));
  }
  neartest::RedisProxy balancer(redis_.dir() + "/lb.sock", {redis_.socket(), other.socket()});
  ASSERT_OK(balancer.Start());
  ScopedStore store;
  ASSERT_OK(store.Open(StoreOptions()));
  Kvsync kvsync;
  const std::string log = redis_.dir() + "/kvsync-lb.log";
  ASSERT_OK(kvsync.Start(testutil::KeyHex(store.key()), balancer.address(), {"p:"}, log));
  ASSERT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<SyncState> s = ReadSyncState(*store);
        EXPECT_TRUE(!s.ok() || !s->synced()) << "synced across two servers";
        return s.ok() && absl::StrContains(s->last_error, "different Redis servers");
      },
      absl::Seconds(5)))
      << neartest::ReadFile(log);
  EXPECT_THAT(neartest::ReadFile(log), HasSubstr("point --redis at one server"));
  EXPECT_EQ(kvsync.Stop(SIGTERM), 0) << "kvsync should still run: " << neartest::ReadFile(log);
}

// Tracking is redirected to the subscription connection by its client id.
// Should that connection vanish before tracking is turned on (killed by a
// client, dropped by a proxy), Redis refuses the redirect: kvsync retries
// with backoff instead of exiting.
TEST(KvsyncConnect, RedirectTargetThatVanishesWhileConnectingIsRetried) {
  ScopedStore store;
  ASSERT_OK(store.Open(StoreOptions()));
  RedisServer redis;
  ASSERT_OK(redis.Start());
  neartest::RedisProxy proxy(redis.dir() + "/proxy.sock", {redis.socket()});
  std::atomic<bool> killed{false};
  proxy.OnceBefore("TRACKING", [&] {
    absl::StatusOr<std::unique_ptr<RedisConnection>> c = redis.Client();
    if (!c.ok()) return;
    absl::StatusOr<RedisReply> r = (*c)->Command({"CLIENT", "KILL", "TYPE", "pubsub"});
    killed = r.ok() && r->type == RedisReply::Type::kInteger && r->integer == 1;
  });
  ASSERT_OK(proxy.Start());
  Kvsync kvsync;
  const std::string log = redis.dir() + "/kvsync.log";
  ASSERT_OK(kvsync.Start(testutil::KeyHex(store.key()), proxy.address(), {"p:"}, log));
  EXPECT_TRUE(neartest::WaitSynced(*store, 0, absl::Seconds(10))) << neartest::ReadFile(log);
  EXPECT_TRUE(killed);
  EXPECT_THAT(neartest::ReadFile(log), HasSubstr("was gone when tracking was turned on"));
  EXPECT_EQ(kvsync.Stop(SIGTERM), 0) << neartest::ReadFile(log);
}

// Any client may PUBLISH on __redis__:invalidate. Redis's own messages carry
// an array of keys or nil; a single string is a client's, and is applied as
// the invalidation of the key it names (fail-safe) and counted, not as a
// loss: one PUBLISH must not empty every host's cache.
TEST_F(NearCacheTest, APublishOnTheInvalidationChannelInvalidatesOnlyTheKeyItNames) {
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  RedisSet("p:a", "1");
  RedisSet("p:b", "2");
  Drain();
  ASSERT_OK(cache->Get("p:a"));
  ASSERT_OK(cache->Get("p:b"));
  auto published = client_->Command({"PUBLISH", "__redis__:invalidate", "p:a"});
  ASSERT_TRUE(published.ok() && published->type == RedisReply::Type::kInteger);
  Drain();  // Redis delivers the marker's invalidation after the PUBLISH
  EXPECT_THAT(StoreKeys(), ::testing::ElementsAre("p:b"));
  ReadInfo info;
  EXPECT_EQ(*cache->Get("p:b", &info), "2");
  EXPECT_EQ(info.path, ReadPath::kHit);
  // The record's counters are rewritten at the next heartbeat.
  EXPECT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<SyncState> s = State();
        return s.ok() && s->foreign_messages == 1;
      },
      absl::Seconds(1)));
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  EXPECT_TRUE(state.synced());
  EXPECT_EQ(state.resyncs, 0u);
  EXPECT_EQ(state.foreign_messages, 1u);
  EXPECT_THAT(KvsyncLog(), HasSubstr("a client published on __redis__:invalidate"));
}

// What each command that changes a near-cached key does, as measured on
// Debian's redis-server 7.0: Redis sends an invalidation (the key's, or nil
// for a flush) for every one but SWAPDB, which kvsync detects from INFO
// commandstats at its next heartbeat and treats as a loss (clear, resync).
struct ChangingCommand {
  const char* name;
  std::vector<std::vector<std::string>> commands;  // "$DUMP": DUMP of p:b
  bool redis_invalidates;
};

void PrintTo(const ChangingCommand& c, std::ostream* os) { *os << c.name; }

class CommandsThatChangeData : public NearCacheTest,
                               public ::testing::WithParamInterface<ChangingCommand> {};

TEST_P(CommandsThatChangeData, LeaveNoStaleValueServed) {
  const ChangingCommand& c = GetParam();
  std::unique_ptr<NearCache> cache = MakeCache(store_.get());
  for (const std::vector<std::string>& setup :
       std::vector<std::vector<std::string>>{{"SELECT", "1"},
                                             {"SET", "p:a", "db1"},
                                             {"SELECT", "0"},
                                             {"SET", "p:a", "db0"},
                                             {"SET", "p:b", "restored"}}) {
    ASSERT_TRUE(client_->Command(setup).ok());
  }
  auto dump = client_->Command({"DUMP", "p:b"});
  ASSERT_TRUE(dump.ok() && dump->type == RedisReply::Type::kString);
  Drain();
  ASSERT_EQ(*cache->Get("p:a"), "db0");
  for (std::vector<std::string> command : c.commands) {
    for (std::string& arg : command) {
      if (arg == "$DUMP") arg = dump->str;
    }
    auto r = client_->Command(command);
    ASSERT_TRUE(r.ok() && r->type != RedisReply::Type::kError)
        << command[0] << ": " << (r.ok() ? r->Describe() : r.status().ToString());
  }
  if (c.redis_invalidates) {
    // Drain returns once its marker is gone, which a flush's clear may do
    // before its walk reaches p:a: the entry goes within that walk.
    Drain();
    EXPECT_TRUE(PollUntil(
        [&] {
          absl::StatusOr<bool> cached = store_->Contains("p:a");
          return cached.ok() && !*cached;
        },
        absl::Seconds(1)))
        << "Redis sent no invalidation for " << c.name;
    ASSERT_OK_AND_ASSIGN(SyncState state, State());
    EXPECT_EQ(state.resyncs, 0u) << "handled as a loss, not as Redis's invalidation";
  } else {
    EXPECT_TRUE(WaitSynced(1)) << "kvsync did not treat " << c.name << " as a loss";
    ASSERT_OK_AND_ASSIGN(SyncState state, State());
    EXPECT_THAT(state.last_error, ::testing::AnyOf(HasSubstr("SWAPDB"), HasSubstr("RESETSTAT")));
  }
  ReadInfo info;
  absl::StatusOr<std::string> v = cache->Get("p:a", &info);
  EXPECT_EQ(v.ok() ? *v : "<absent>", RedisGet("p:a")) << ReadPathName(info.path);
}

const char kSetInLua[] = "redis.call('SET', KEYS[1], 'lua')";
const char kLibrary[] =
    "#!lua name=nearlib\n"
    "redis.register_function('setkey', function(k) return redis.call('SET', k[1], 'fn') end)";

INSTANTIATE_TEST_SUITE_P(
    Redis7, CommandsThatChangeData,
    ::testing::Values(
        ChangingCommand{"Move", {{"MOVE", "p:a", "2"}}, true},
        ChangingCommand{
            "CopyIntoDb0",
            {{"SELECT", "1"}, {"COPY", "p:a", "p:a", "DB", "0", "REPLACE"}, {"SELECT", "0"}},
            true},
        ChangingCommand{"Restore", {{"RESTORE", "p:a", "0", "$DUMP", "REPLACE"}}, true},
        ChangingCommand{"DebugReload", {{"SET", "p:a", "saved"}, {"DEBUG", "RELOAD"}}, true},
        ChangingCommand{"Eval", {{"EVAL", kSetInLua, "1", "p:a"}}, true},
        ChangingCommand{"FunctionCall",
                        {{"FUNCTION", "LOAD", kLibrary}, {"FCALL", "setkey", "1", "p:a"}},
                        true},
        ChangingCommand{
            "FlushdbOfAnotherDb", {{"SELECT", "1"}, {"FLUSHDB"}, {"SELECT", "0"}}, true},
        ChangingCommand{"Rename", {{"SET", "p:c", "renamed"}, {"RENAME", "p:c", "p:a"}}, true},
        ChangingCommand{"SortStore", {{"RPUSH", "l", "9"}, {"SORT", "l", "STORE", "p:a"}}, true},
        ChangingCommand{"Swapdb", {{"SWAPDB", "0", "1"}}, false},
        ChangingCommand{"SwapdbInAScript", {{"EVAL", "redis.call('SWAPDB', 0, 1)", "0"}}, false},
        ChangingCommand{
            "SwapdbAfterConfigResetstat", {{"CONFIG", "RESETSTAT"}, {"SWAPDB", "0", "1"}}, false}),
    [](const ::testing::TestParamInfo<ChangingCommand>& info) { return info.param.name; });

// A Redis server of the test's own on a unix socket, answered by hand: it
// accepts one connection, answers INFO server with `run_id` (so a reader
// takes it for the server kvsync's record names), and hands the test the
// moment a request holding `needle` has arrived; the test then writes the
// reply it wants, when it wants.
class HandAnsweredRedis {
 public:
  explicit HandAnsweredRedis(std::string path) : path_(std::move(path)) {}
  ~HandAnsweredRedis() {
    if (conn_ >= 0) close(conn_);
    if (listener_ >= 0) close(listener_);
    unlink(path_.c_str());
  }
  std::string address() const { return "unix:" + path_; }
  // Listens; before the reader connects.
  void Listen() {
    listener_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener_, 0);
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
    ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(listen(listener_, 1), 0);
  }
  // Accepts the reader and reads until its request holds `needle`.
  void AwaitRequest(const std::string& run_id, const std::string& needle) {
    struct pollfd ready = {listener_, POLLIN, 0};
    ASSERT_EQ(poll(&ready, 1, 10000), 1);
    conn_ = accept(listener_, nullptr, nullptr);
    ASSERT_GE(conn_, 0);
    std::string request;
    bool identified = false;
    while (request.find(needle) == std::string::npos) {
      char buf[256];
      const ssize_t n = read(conn_, buf, sizeof buf);
      ASSERT_GT(n, 0);
      request.append(buf, static_cast<size_t>(n));
      if (!identified && request.find("server\r\n") != std::string::npos) {
        Reply(absl::StrCat("$", run_id.size() + 9, "\r\nrun_id:", run_id, "\r\n\r\n"));
        identified = true;
      }
    }
  }
  void Reply(const std::string& resp) {
    ASSERT_EQ(write(conn_, resp.data(), resp.size()), static_cast<ssize_t>(resp.size()));
  }

 private:
  const std::string path_;
  int listener_ = -1;
  int conn_ = -1;
};

// A reader of `store` through `redis_address` reading p:x: `want`'s value,
// or NotFound when want is null. The child's exit code says what failed.
int ReadThrough(const StoreName& name, const std::string& redis_address, const char* want) {
  absl::StatusOr<std::unique_ptr<Store>> attached =
      Store::Open(name, StoreOptions(), OpenMode::kAttach);
  CHILD_CHECK_OK(attached, 1);
  NearCacheOptions options;
  options.redis = redis_address;
  options.heartbeat_timeout = absl::Seconds(60);  // the record is not rewritten
  options.redis_timeout = absl::Seconds(30);
  options.sync_check_interval = absl::ZeroDuration();
  absl::StatusOr<std::unique_ptr<NearCache>> cache = NearCache::Create(attached->get(), options);
  CHILD_CHECK_OK(cache, 2);
  ReadInfo info;
  absl::StatusOr<std::string> v = (*cache)->Get("p:x", &info);
  if (want == nullptr) {
    CHILD_CHECK(absl::IsNotFound(v.status()), 5);
    return 0;
  }
  CHILD_CHECK_OK(v, 3);
  std::fprintf(stderr, "[child %d] read \"%s\" (%s%s%s)\n", static_cast<int>(getpid()), v->c_str(),
               ReadPathName(info.path), info.bypass_reason.empty() ? "" : ": ",
               info.bypass_reason.c_str());
  CHILD_CHECK(*v == want, 4);
  return 0;
}

// A fill that read Redis before a loss and lands after kvsync's clear
// (which leaves leases alone) carries the old epoch. A reader that started
// after the resync and waited for that fill must not be handed it. The
// first reader's Redis is a socket this test answers by hand, so its read
// returns "old" exactly when the test says, while the real Redis (the
// second reader's) holds "new"; kvsync's loss and resync are written into
// the record by hand too.
TEST(NearCacheEpoch, SharedFillOfAnEarlierEpochIsNotReturned) {
  ScopedStore store;
  ASSERT_OK(store.Open(StoreOptions()));
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisConnection> client, redis.Client());
  ASSERT_TRUE(client->Command({"SET", "p:x", "new"}).ok());
  const uint32_t epoch = 7000;
  ASSERT_OK_AND_ASSIGN(const std::string run_id, redis.RunId());
  ASSERT_OK(neartest::WriteSyncRecord(*store, SyncPhase::kSynced, epoch, run_id));
  HandAnsweredRedis slow(redis.dir() + "/slow.sock");
  ASSERT_NO_FATAL_FAILURE(slow.Listen());
  // The first reader takes the lease and sends the fill's read (GET and
  // PTTL) to the slow socket, after asking which server it is.
  ChildProcess first([&] { return ReadThrough(store.name(), slow.address(), "old"); });
  ASSERT_NO_FATAL_FAILURE(slow.AwaitRequest(run_id, "p:x\r\n"));
  // A loss: a new epoch, the prefix cleared (the lease stays), then synced
  // again under a newer epoch.
  ASSERT_OK(neartest::WriteSyncRecord(*store, SyncPhase::kConnecting, epoch + 1, run_id));
  ASSERT_OK(store->DeletePrefix("p:"));
  ASSERT_OK(neartest::WriteSyncRecord(*store, SyncPhase::kSynced, epoch + 2, run_id));
  ASSERT_OK_AND_ASSIGN(StoreStats before, store->Stats());
  // The second reader starts after the resync and misses on the lease.
  ChildProcess second([&] { return ReadThrough(store.name(), redis.address(), "new"); });
  ASSERT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<StoreStats> now = store->Stats();
        return now.ok() && now->misses > before.misses;
      },
      absl::Seconds(10)));
  // Only now does the first reader's read return, with the value Redis held
  // before the loss (and no TTL), as the fill's GET and PTTL answer.
  slow.Reply("$3\r\nold\r\n:-1\r\n");
  EXPECT_EQ(first.Wait(), 0);
  EXPECT_EQ(second.Wait(), 0) << "the second reader was handed the fill of an earlier epoch";
}

// A fill sends GET and PTTL together; a key deleted between the two (PTTL
// answers -2) is a miss, and nothing is filled.
TEST(NearCacheFill, AKeyDeletedBetweenItsGetAndPttlIsAMiss) {
  ScopedStore store;
  ASSERT_OK(store.Open(StoreOptions()));
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(const std::string run_id, redis.RunId());
  ASSERT_OK(neartest::WriteSyncRecord(*store, SyncPhase::kSynced, 7000, run_id));
  HandAnsweredRedis hand(redis.dir() + "/hand.sock");
  ASSERT_NO_FATAL_FAILURE(hand.Listen());
  ChildProcess reader([&] { return ReadThrough(store.name(), hand.address(), nullptr); });
  ASSERT_NO_FATAL_FAILURE(hand.AwaitRequest(run_id, "PTTL\r\n$3\r\np:x\r\n"));
  hand.Reply("$4\r\ngone\r\n:-2\r\n");
  const int exit = reader.Wait();
  EXPECT_EQ(exit, 0) << DescribeExit(exit);
  std::string value;
  EXPECT_TRUE(absl::IsNotFound(store->Get("p:x", &value))) << "filled: " << value;
}

// Redis may hold keys under a tracked prefix that are longer than the
// store's max key: they are never cached, so their invalidations are
// counted and skipped, and kvsync goes on applying the rest of the message
// and every later one.
TEST(KvsyncInvalidations, KeyLongerThanTheStoresMaxKeyIsSkipped) {
  ScopedStore store;
  Options options = StoreOptions();
  options.max_key_size = 64;
  ASSERT_OK(store.Open(options));
  RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RedisConnection> client, redis.Client());
  Kvsync kvsync;
  const std::string log = redis.dir() + "/kvsync.log";
  ASSERT_OK(kvsync.Start(testutil::KeyHex(store.key()), redis.address(), {"p:"}, log));
  ASSERT_TRUE(neartest::WaitSynced(*store, 0, absl::Seconds(10))) << neartest::ReadFile(log);
  ASSERT_OK(store->Put("p:short", "cached"));
  // One command, so Redis sends both keys in one invalidation message.
  const std::string long_key = "p:" + std::string(98, 'x');
  auto r = client->Command({"MSET", long_key, "a", "p:short", "b"});
  ASSERT_TRUE(r.ok() && r->IsString("OK")) << r.status();
  EXPECT_OK(neartest::Drain(*store, *client, "p:~drain", 1)) << neartest::ReadFile(log);
  ASSERT_OK_AND_ASSIGN(bool cached, store->Contains("p:short"));
  EXPECT_FALSE(cached) << "the rest of the message was not applied";
  ASSERT_OK_AND_ASSIGN(SyncState state, ReadSyncState(*store));
  EXPECT_TRUE(state.synced());
  EXPECT_EQ(state.pid, kvsync.pid());
  EXPECT_EQ(state.resyncs, 0u);
  EXPECT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<SyncState> s = ReadSyncState(*store);
        return s.ok() && s->invalidations_skipped == 1;
      },
      absl::Seconds(2)));
  EXPECT_THAT(neartest::ReadFile(log), HasSubstr("skipping invalidations of keys"));
  // A later invalidation is applied too.
  EXPECT_OK(neartest::Drain(*store, *client, "p:~drain", 2)) << neartest::ReadFile(log);
}

// A process stopped while it holds a stripe's lock (here inside View's
// callback) makes kvsync's delete of an invalidated key in that stripe time
// out. That is a loss (invalidations may be unapplied): kvsync clears and
// resyncs once the lock is free again, and never exits.
// The stuck key is in another stripe than kvsync's record: one that shares
// it also times out the record's writes (the heartbeat, the phase), and
// kvsync says so only after three or four lock timeouts (15-20 s; readers
// have stopped trusting the record's heartbeat long before).
TEST_F(NearCacheTest, LockTimeoutIsALossNotAnExit) {
  ASSERT_OK_AND_ASSIGN(const uint32_t record_stripe, StripeOfOnlyEntry(*store_));
  std::string stuck_key;
  for (int i = 0; stuck_key.empty(); ++i) {
    const std::string key = absl::StrCat("p:stuck", i);
    ASSERT_OK_AND_ASSIGN(const uint32_t stripe, PutInStripe(*store_, key));
    if (stripe != record_stripe) stuck_key = key;
  }
  ASSERT_OK(store_->Put("p:other", "cached"));
  StoppedLockHolder holder(store_.name(), stuck_key);
  ASSERT_TRUE(holder.WaitStopped());
  RedisSet(stuck_key, "new");
  RedisSet("p:other", "new");
  // kvsync's delete waits for the lock (lock_timeout, 5 s), then says so.
  ASSERT_TRUE(
      PollUntil([&] { return KvsyncLog().find("applying an invalidation") != std::string::npos; },
                absl::Seconds(20)))
      << KvsyncLog();
  EXPECT_EQ(holder.Resume(), 0);
  ASSERT_TRUE(WaitSynced(1)) << KvsyncLog();
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  EXPECT_EQ(state.pid, kvsync_.pid());
  ASSERT_OK_AND_ASSIGN(bool stuck, store_->Contains(stuck_key));
  ASSERT_OK_AND_ASSIGN(bool other, store_->Contains("p:other"));
  EXPECT_FALSE(stuck);
  EXPECT_FALSE(other);
  Drain();
  EXPECT_THAT(KvsyncLog(), ::testing::Not(HasSubstr("error")));
}

// 8 processes read while a writer keeps changing 1,000 keys in Redis; once
// the writes stop and the invalidations have drained, no key in the store
// may differ from Redis. This needs Store::GetOrCompute to drop a fill whose
// lease was deleted while it ran: without it, a fill that read a
// value just before a write can land after kvsync's delete.
TEST_F(NearCacheTest, StressNoStaleValueAfterInvalidationsDrain) {
  constexpr int kKeys = 1000, kReaders = 8;
  int seconds = 5;
  if (const char* env = getenv("SHMKV_NEAR_STRESS_SECONDS"); env != nullptr) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seconds) && seconds > 0) << env;
  }
  for (int i = 0; i < kKeys; ++i) RedisSet(absl::StrCat("p:s", i), "0");
  testutil::SharedArray<std::atomic<int>> stop(1);
  testutil::SharedArray<std::atomic<uint64_t>> reads(kReaders), fills(kReaders);
  const StoreName name = store_.name();
  std::vector<std::unique_ptr<ChildProcess>> readers;
  for (int c = 0; c < kReaders; ++c) {
    readers.push_back(std::make_unique<ChildProcess>(
        [&, c]() -> int {
          std::unique_ptr<Store> store = Attach(name);
          CHILD_CHECK(store != nullptr, 1);
          std::unique_ptr<NearCache> cache = MakeCache(store.get());
          CHILD_CHECK(cache != nullptr, 2);
          testutil::TestRng rng(1000 + c);
          while (stop[0].load() == 0) {
            ReadInfo info;
            absl::StatusOr<std::string> v =
                cache->Get(absl::StrCat("p:s", rng.Uniform(0, kKeys)), &info);
            CHILD_CHECK_OK(v, 3);
            reads[c].fetch_add(1);
            if (info.path == ReadPath::kFilled) fills[c].fetch_add(1);
          }
          // The writes are over and drained: one more pass over this reader's
          // share fills what is not cached, so the comparison below always
          // has entries to compare (a stale one left by the race above is a
          // hit here, not a refill, so it stays to be found).
          for (int i = c; i < kKeys; i += kReaders) {
            CHILD_CHECK_OK(cache->Get(absl::StrCat("p:s", i)), 4);
          }
          return 0;
        },
        absl::InfiniteDuration()));  // until the writes are over and drained
  }
  testutil::TestRng rng(7);
  uint64_t writes = 0;
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  while (absl::Now() < end) {
    RedisSet(absl::StrCat("p:s", rng.Uniform(0, kKeys)), absl::StrCat(++writes));
  }
  Drain();
  stop[0] = 1;
  for (auto& r : readers) {
    const int status = r->Wait();
    ASSERT_EQ(status, 0) << DescribeExit(status);
  }
  Drain();
  ASSERT_OK_AND_ASSIGN(SyncState state, State());
  int stale = 0, cached = 0;
  std::vector<std::string> examples;
  ASSERT_OK(
      store_->ForEach("p:s", [&](absl::string_view k, absl::string_view v, const EntryMeta& meta) {
        if (meta.flags != state.epoch) return true;  // never served
        ++cached;
        const std::string in_redis = RedisGet(std::string(k));
        if (v != in_redis) {
          ++stale;
          if (examples.size() < 5) {
            examples.push_back(absl::StrCat(k, ": cached ", v, ", Redis ", in_redis));
          }
        }
        return true;
      }));
  uint64_t total_reads = 0, total_fills = 0;
  for (int c = 0; c < kReaders; ++c) {
    total_reads += reads[c].load();
    total_fills += fills[c].load();
  }
  std::printf(
      "%d s: %d readers made %llu reads (%llu fills), %llu writes, kvsync applied %llu "
      "invalidations; %d keys cached at the end, %d stale\n",
      seconds, kReaders, static_cast<unsigned long long>(total_reads),
      static_cast<unsigned long long>(total_fills), static_cast<unsigned long long>(writes),
      static_cast<unsigned long long>(state.invalidations), cached, stale);
  EXPECT_EQ(stale, 0) << absl::StrJoin(examples, "; ");
  EXPECT_GT(cached, 0);
}

}  // namespace
}  // namespace shmkv::near
