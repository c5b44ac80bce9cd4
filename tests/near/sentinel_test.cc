// The near cache and kvsync behind Redis Sentinel: a primary, its replica
// and three sentinels, started once for the suite
// (tests/near/redis_sentinel_env.h). The cases run in order, each from the
// topology the previous one left: fills and hits, a killed primary failed
// over by the sentinels and brought back as a replica, SENTINEL FAILOVER.
#include "kv/near/sentinel.h"

#include <signal.h>
#include <stdio.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shmkv/near.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"
#include "tests/near/near_c_api_steps.h"
#include "tests/near/redis_env.h"
#include "tests/near/redis_sentinel_env.h"
#include "tests/test_util.h"

namespace shmkv::neartest {
namespace {

using testutil::ScopedStore;

TEST(SentinelAddress, NamesTheSentinelsAndTheMaster) {
  ASSERT_OK_AND_ASSIGN(near::SentinelTarget t,
                       near::ParseSentinelTarget("sentinel:127.0.0.1:26379,[::1]:26380/cache-1"));
  ASSERT_EQ(t.sentinels.size(), 2u);
  EXPECT_EQ(t.sentinels[1].port, 26380);
  EXPECT_EQ(t.master, "cache-1");
  EXPECT_EQ(t.ToString(), "sentinel:127.0.0.1:26379,[::1]:26380/cache-1");
  for (const char* bad : {"sentinel:127.0.0.1:26379", "sentinel:127.0.0.1:26379/",
                          "sentinel:/cache", "sentinel:unix:/run/s.sock/cache",
                          "sentinel:127.0.0.1:26379,/cache", "sentinel:127.0.0.1:26379/a b"}) {
    absl::StatusOr<near::SentinelTarget> parsed = near::ParseSentinelTarget(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << bad;
    EXPECT_NE(parsed.status().message().find("/MASTERNAME"), std::string::npos) << parsed.status();
  }
}

TEST(SentinelAddress, NearCacheAndKvsyncTakeIt) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  near::NearCacheOptions options;
  options.redis = "sentinel:127.0.0.1:1/cache";  // connects nothing yet
  EXPECT_OK(near::NearCache::Create(store.get(), options).status());
  options.redis = "sentinel:127.0.0.1:1";
  absl::StatusOr<std::unique_ptr<near::NearCache>> bad =
      near::NearCache::Create(store.get(), options);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("/MASTERNAME"), std::string::npos) << bad.status();
  // kvsync refuses it as a usage error, before opening any store.
  const std::string log = absl::StrCat(testing::TempDir(), "/kvsync.usage.log");
  ASSERT_OK_AND_ASSIGN(
      pid_t pid,
      Spawn({KvsyncPath(), "--key=0x5e01", "--redis=" + options.redis, "--prefix=s:"}, log));
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 2) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("/MASTERNAME"), std::string::npos) << ReadFile(log);
}

class SentinelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto env = std::make_unique<RedisSentinels>();
    absl::Status started = env->Start();
    if (!started.ok()) {
      ADD_FAILURE() << started;
      return;
    }
    env_ = env.release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(env_, nullptr) << "the sentinels did not start";
    ASSERT_OK(env_->WaitReady());
    ASSERT_OK(store_.Open());
    log_ = env_->dir() + absl::StrCat("/kvsync.", ++runs_, ".log");
    ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), env_->target(), {"s:"}, log_));
    ASSERT_OK_AND_ASSIGN(primary_, env_->Primary());
    ASSERT_OK_AND_ASSIGN(std::string run_id, env_->RunId(primary_));
    ASSERT_TRUE(WaitSyncedTo(run_id)) << ReadFile(log_);
    near::NearCacheOptions options;
    options.redis = env_->target();
    ASSERT_OK_AND_ASSIGN(cache_, near::NearCache::Create(store_.get(), options));
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "kvsync's log:\n%s", ReadFile(log_).c_str());
  }
  // Waits until kvsync's record says synced, following the server of `run_id`.
  bool WaitSyncedTo(const std::string& run_id) {
    return PollUntil(
        [&] {
          absl::StatusOr<near::SyncState> s = near::ReadSyncState(*store_);
          return s.ok() && s->synced() && s->redis_run_id == run_id;
        },
        absl::Seconds(20));
  }
  void RedisSet(int server, const std::string& key, const std::string& value) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, env_->Client(server));
    ASSERT_OK_AND_ASSIGN(near::RedisReply r, c->Command({"SET", key, value}));
    ASSERT_TRUE(r.IsString("OK")) << r.Describe();
  }
  bool Gone(const std::string& key) { return WaitGone(*store_, key, absl::Seconds(5)); }
  // Get through `cache`: the value (or "<error>"), and how it was read.
  static std::string Read(near::NearCache& cache, const std::string& key, near::ReadPath* path) {
    near::ReadInfo info;
    absl::StatusOr<std::string> v = cache.Get(key, &info);
    *path = info.path;
    EXPECT_OK(v.status()) << key;
    if (info.path == near::ReadPath::kDirect) {
      std::fprintf(stderr, "%s: %s\n", key.c_str(), info.bypass_reason.c_str());
    }
    return v.ok() ? *v : "<error>";
  }
  // Sets `key` on `write_to` and waits until `server` serves it (a replica
  // in step), then reads it through a reader given `server`'s plain
  // address, not the sentinels: it reads directly and fills nothing, as
  // `server` is not the primary kvsync follows.
  void ExpectNoFillFrom(int server, int write_to, const std::string& key,
                        const std::string& value) {
    RedisSet(write_to, key, value);
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, env_->Client(server));
    ASSERT_TRUE(PollUntil(
        [&] {
          absl::StatusOr<near::RedisReply> got = c->Command({"GET", key});
          return got.ok() && got->IsString(value);
        },
        absl::Seconds(10)))
        << "server " << server << " never served " << key;
    near::NearCacheOptions options;
    options.redis = env_->server_address(server).ToString();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::NearCache> plain,
                         near::NearCache::Create(store_.get(), options));
    near::ReadPath path;
    EXPECT_EQ(Read(*plain, key, &path), value);
    EXPECT_EQ(path, near::ReadPath::kDirect);
    EXPECT_EQ(plain->Stats().wrong_server, 1u);
    ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains(key));
    EXPECT_FALSE(cached) << "filled from server " << server;
  }

  static RedisSentinels* env_;
  static int runs_;
  ScopedStore store_;
  Kvsync kvsync_;
  std::string log_;
  int primary_ = -1;
  std::unique_ptr<near::NearCache> cache_;
};

RedisSentinels* SentinelTest::env_ = nullptr;
int SentinelTest::runs_ = 0;

TEST_F(SentinelTest, FillsHitsAndAWriteInvalidates) {
  ASSERT_OK_AND_ASSIGN(near::SyncState state, near::ReadSyncState(*store_));
  EXPECT_EQ(state.redis, env_->target());
  const std::string key = "s:filled";
  RedisSet(primary_, key, "v1");
  ASSERT_TRUE(WaitInvalidationsApplied(*store_, absl::Seconds(10)));
  near::ReadPath path;
  EXPECT_EQ(Read(*cache_, key, &path), "v1");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  EXPECT_EQ(Read(*cache_, key, &path), "v1");
  EXPECT_EQ(path, near::ReadPath::kHit);
  RedisSet(primary_, key, "v2");
  ASSERT_TRUE(Gone(key));
  EXPECT_EQ(Read(*cache_, key, &path), "v2");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  // Writes through the cache go to the primary.
  ASSERT_OK(cache_->Set("s:written", "through the cache"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, env_->Client(primary_));
  ASSERT_OK_AND_ASSIGN(near::RedisReply got, c->Command({"GET", "s:written"}));
  EXPECT_TRUE(got.IsString("through the cache")) << got.Describe();

  // The C API and kvcli take the same address.
  const std::string target = env_->target();
  EXPECT_EQ(nearc_expect_read(store_.key(), target.c_str(), key.c_str(), "v2", SHMKV_NEAR_HIT), 0);
  RedisSet(primary_, "s:kvcli", "read by kvcli");
  ASSERT_OK_AND_ASSIGN(std::string printed,
                       KvcliOutput(absl::StrCat("get --key=", testutil::KeyHex(store_.key()),
                                                " --through=", target, " s:kvcli --json")));
  EXPECT_NE(printed.find("filled"), std::string::npos) << printed;

  // A replica is never taken for the primary.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> replica, env_->Client(1 - primary_));
  absl::Status role = near::CheckPrimaryRole(*replica);
  EXPECT_TRUE(absl::IsUnavailable(role)) << role;
  EXPECT_NE(role.message().find("not a primary"), std::string::npos) << role;
  ExpectNoFillFrom(1 - primary_, primary_, "s:replicated", "from the primary");
}

TEST_F(SentinelTest, ALostSentinelConnectionIsALoss) {
  RedisSet(primary_, "s:kept", "v");
  near::ReadPath path;
  ASSERT_EQ(Read(*cache_, "s:kept", &path), "v");
  ASSERT_EQ(path, near::ReadPath::kFilled);
  ASSERT_OK_AND_ASSIGN(near::SyncState before, near::ReadSyncState(*store_));
  // kvsync's subscription to +switch-master on one sentinel, dropped: a
  // failover announced there meanwhile would go unseen.
  ASSERT_OK_AND_ASSIGN(near::RedisReply killed,
                       env_->SentinelCommand(1, {"CLIENT", "KILL", "TYPE", "pubsub"}));
  ASSERT_GE(killed.integer, 1) << killed.Describe();
  ASSERT_TRUE(WaitSynced(*store_, before.resyncs + 1, absl::Seconds(10))) << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState after, near::ReadSyncState(*store_));
  EXPECT_NE(after.last_error.find("sentinel " + env_->sentinel_address(1).ToString()),
            std::string::npos)
      << after.last_error;
  EXPECT_TRUE(Gone("s:kept"));
}

TEST_F(SentinelTest, AServerTheSentinelsNameIsFollowedOnlyAsAPrimary) {
  // One sentinel also monitors the replica under another name, so it names
  // a replica as that master's primary (as a sentinel with an out-of-date
  // view may).
  const int replica = 1 - primary_;
  const std::string name = "replica-named";
  ASSERT_OK(env_->SentinelCommand(0, {"SENTINEL", "MONITOR", name, "127.0.0.1",
                                      absl::StrCat(env_->server_address(replica).port), "2"})
                .status());
  const std::string target =
      absl::StrCat(near::kSentinelScheme, env_->sentinel_address(0).ToString(), "/", name);
  ScopedStore other;
  ASSERT_OK(other.Open());
  Kvsync follower;
  const std::string log = env_->dir() + "/kvsync.replica-named.log";
  ASSERT_OK(follower.Start(testutil::KeyHex(other.key()), target, {"s:"}, log));
  EXPECT_TRUE(PollUntil(
      [&] {
        absl::StatusOr<near::SyncState> s = near::ReadSyncState(*other);
        return s.ok() && s->last_error.find("not a primary") != std::string::npos;
      },
      absl::Seconds(10)))
      << ReadFile(log);
  ASSERT_OK_AND_ASSIGN(near::SyncState state, near::ReadSyncState(*other));
  EXPECT_FALSE(state.synced()) << ReadFile(log);
  // A reader given that name reads nothing from the replica.
  near::NearCacheOptions options;
  options.redis = target;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::NearCache> reader,
                       near::NearCache::Create(other.get(), options));
  absl::StatusOr<std::string> v = reader->Get("s:replica");
  EXPECT_TRUE(absl::IsUnavailable(v.status())) << v.status();
  EXPECT_NE(v.status().message().find("not a primary"), std::string::npos) << v.status();
  EXPECT_EQ(follower.Stop(SIGTERM), 0);
  ASSERT_OK(env_->SentinelCommand(0, {"SENTINEL", "REMOVE", name}).status());
}

TEST_F(SentinelTest, AKilledPrimaryIsFailedOverAndComesBackAsAReplicaNoReaderFillsFrom) {
  const int old = primary_, promoted = 1 - primary_;
  const std::string key = "s:killed";
  RedisSet(old, key, "before");
  near::ReadPath path;
  ASSERT_EQ(Read(*cache_, key, &path), "before");
  ASSERT_EQ(path, near::ReadPath::kFilled);
  ASSERT_OK_AND_ASSIGN(std::string replica_run_id, env_->RunId(promoted));

  env_->KillServer(old, SIGKILL);
  ASSERT_OK(env_->WaitPrimary(promoted));
  RedisSet(promoted, key, "after");
  ASSERT_TRUE(WaitSyncedTo(replica_run_id)) << ReadFile(log_);
  EXPECT_TRUE(Gone(key));
  // The reader's connection to the killed primary is gone: it asks the
  // sentinels again and fills from the new primary.
  EXPECT_EQ(Read(*cache_, key, &path), "after");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  EXPECT_EQ(Read(*cache_, key, &path), "after");
  EXPECT_EQ(path, near::ReadPath::kHit);

  // The old primary back at its address, as a replica (a new run_id).
  ASSERT_OK(env_->StartServer(old, promoted));
  ASSERT_OK(env_->WaitReady());
  ExpectNoFillFrom(old, promoted, "s:returned", "from the new primary");
  EXPECT_EQ(Read(*cache_, "s:returned", &path), "from the new primary");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  EXPECT_EQ(cache_->Stats().wrong_server, 0u);
  ASSERT_OK_AND_ASSIGN(near::SyncState state, near::ReadSyncState(*store_));
  EXPECT_EQ(state.redis_run_id, replica_run_id);
}

TEST_F(SentinelTest, SentinelFailoverIsALossAndReadersFollowTheNewPrimary) {
  const int old = primary_;
  const std::string key = "s:failover";
  RedisSet(old, key, "before");
  near::ReadPath path;
  ASSERT_EQ(Read(*cache_, key, &path), "before");
  ASSERT_EQ(path, near::ReadPath::kFilled);

  ASSERT_OK_AND_ASSIGN(int promoted, env_->Failover());
  ASSERT_OK_AND_ASSIGN(std::string run_id, env_->RunId(promoted));
  RedisSet(promoted, key, "after");
  ASSERT_TRUE(WaitSyncedTo(run_id)) << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState state, near::ReadSyncState(*store_));
  EXPECT_GE(state.resyncs, 1u);
  // Seen from the sentinels' announcement, not from the old primary, which
  // keeps its clients' connections until the sentinels demote it.
  EXPECT_NE(state.last_error.find("announced a failover"), std::string::npos) << state.last_error;
  EXPECT_TRUE(Gone(key));
  // The reader still holds a connection to the old primary, which may
  // still answer as a primary for a while (the sentinels demote it later):
  // its run_id is not kvsync's, so the reader asks the sentinels again.
  EXPECT_EQ(Read(*cache_, key, &path), "after");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  EXPECT_EQ(Read(*cache_, key, &path), "after");
  EXPECT_EQ(path, near::ReadPath::kHit);
  EXPECT_EQ(cache_->Stats().wrong_server, 0u);
  ASSERT_OK(cache_->Set("s:after-failover", "written"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, env_->Client(promoted));
  ASSERT_OK_AND_ASSIGN(near::RedisReply got, c->Command({"GET", "s:after-failover"}));
  EXPECT_TRUE(got.IsString("written")) << got.Describe();
  // The old primary, a primary still or demoted by now.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> o, env_->Client(old));
  const bool still_primary = near::CheckPrimaryRole(*o).ok();
  ExpectNoFillFrom(old, still_primary ? old : promoted, "s:old", "served by the old primary");
}

}  // namespace
}  // namespace shmkv::neartest
