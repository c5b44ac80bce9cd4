// The near cache's pieces without Redis: address parsing, the sync record,
// the health rules, and what NearCache does when no kvsync runs.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "kv/near/redis_client.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::near {
namespace {

TEST(RedisAddress, ParsesBothForms) {
  ASSERT_OK_AND_ASSIGN(RedisAddress unix_socket, ParseRedisAddress("unix:/run/r.sock"));
  EXPECT_EQ(unix_socket.unix_path, "/run/r.sock");
  EXPECT_EQ(unix_socket.ToString(), "unix:/run/r.sock");
  ASSERT_OK_AND_ASSIGN(RedisAddress tcp, ParseRedisAddress("127.0.0.1:6379"));
  EXPECT_EQ(tcp.host, "127.0.0.1");
  EXPECT_EQ(tcp.port, 6379);
  ASSERT_OK_AND_ASSIGN(RedisAddress v6, ParseRedisAddress("[::1]:7000"));
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.ToString(), "[::1]:7000");
  for (const char* bad : {"", "unix:", "unix:relative.sock", "localhost", ":6379", "h:0", "h:65536",
                          "h:x", "[::1:6379"}) {
    absl::StatusOr<RedisAddress> a = ParseRedisAddress(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(a.status())) << bad;
    if (!a.ok()) EXPECT_NE(a.status().message().find("unix:/path"), std::string::npos) << bad;
  }
}

TEST(SyncRecord, RoundTrips) {
  SyncState s;
  s.pid = 1234;
  s.pid_start_time = 98765;
  s.pid_namespace = 4026531836u;
  s.boot_id = "6f0c1e5a-2b3d-4c5e-8f90-a1b2c3d4e5f6";
  s.phase = SyncPhase::kSynced;
  s.epoch = 4000000000u;
  s.heartbeat_ms = 987654321;
  s.heartbeat_interval_ms = 100;
  s.invalidations = 5;
  s.invalidations_skipped = 3;
  s.flushes = 1;
  s.resyncs = 2;
  s.keys_cleared = 7;
  s.redis = "unix:/tmp/r.sock";
  s.prefixes = {"user:", std::string("b\n\\x\0", 5)};
  s.last_error = "lost\nit";
  ASSERT_OK_AND_ASSIGN(SyncState t, ParseSyncState(FormatSyncState(s)));
  EXPECT_EQ(t.pid, s.pid);
  EXPECT_EQ(t.pid_start_time, s.pid_start_time);
  EXPECT_EQ(t.pid_namespace, s.pid_namespace);
  EXPECT_EQ(t.phase, s.phase);
  EXPECT_EQ(t.epoch, s.epoch);
  EXPECT_EQ(t.boot_id, s.boot_id);
  EXPECT_EQ(t.heartbeat_ms, s.heartbeat_ms);
  EXPECT_EQ(t.heartbeat_interval_ms, s.heartbeat_interval_ms);
  EXPECT_EQ(t.invalidations, s.invalidations);
  EXPECT_EQ(t.invalidations_skipped, s.invalidations_skipped);
  EXPECT_EQ(t.flushes, s.flushes);
  EXPECT_EQ(t.resyncs, s.resyncs);
  EXPECT_EQ(t.keys_cleared, s.keys_cleared);
  EXPECT_EQ(t.redis, s.redis);
  EXPECT_EQ(t.prefixes, s.prefixes);
  EXPECT_EQ(t.last_error, s.last_error);
  EXPECT_TRUE(t.Tracks("user:1"));
  EXPECT_FALSE(t.Tracks("use"));
  EXPECT_TRUE(absl::IsDataLoss(ParseSyncState("garbage").status()));
  EXPECT_TRUE(absl::IsDataLoss(ParseSyncState("format=2\nphase=synced\n").status()));
  EXPECT_TRUE(absl::IsDataLoss(ParseSyncState("format=1\nphase=sleeping\n").status()));
  EXPECT_EQ(kSyncStateKey.substr(0, kReservedKeyPrefix.size()), kReservedKeyPrefix);
  EXPECT_EQ(kSyncStateKey[0], '\0');
}

TEST(SyncHealth, NeedsSyncedFreshAndAlive) {
  SyncState s;
  s.pid = getpid();
  s.boot_id = HostBootId();
  s.phase = SyncPhase::kSynced;
  s.heartbeat_interval_ms = 100;
  s.heartbeat_ms = MonotonicNowMs();
  EXPECT_TRUE(EvaluateSync(s, absl::Seconds(1)).serving);
  s.phase = SyncPhase::kConnecting;
  EXPECT_FALSE(EvaluateSync(s, absl::Seconds(1)).serving);
  s.phase = SyncPhase::kSynced;
  s.heartbeat_ms = MonotonicNowMs() - 2000;
  SyncHealth old = EvaluateSync(s, absl::Seconds(1));
  EXPECT_FALSE(old.serving);
  EXPECT_NE(old.reason.find("last beat"), std::string::npos) << old.reason;
  // Beat 500 ms ago (within the timeout) by a process that is gone.
  s.pid = (1 << 22) + 1;  // above the largest pid_max: no such process
  s.heartbeat_ms = MonotonicNowMs() - 500;
  EXPECT_FALSE(EvaluateSync(s, absl::Seconds(1)).serving);
}

// A record restored from a dump (another boot's or host's monotonic clock)
// or forged is never trusted: a heartbeat ahead of the clock is not fresh,
// and a record of another boot is not this boot's kvsync.
TEST(SyncHealth, RestoredOrForgedRecordIsNotTrusted) {
  SyncState s;
  s.pid = getpid();  // a pid that exists here
  s.boot_id = HostBootId();
  s.phase = SyncPhase::kSynced;
  s.heartbeat_interval_ms = 100;
  s.heartbeat_ms = MonotonicNowMs() + 3600 * 1000;  // an hour ahead
  SyncHealth ahead = EvaluateSync(s, absl::Seconds(1));
  EXPECT_FALSE(ahead.serving);
  EXPECT_NE(ahead.reason.find("ahead"), std::string::npos) << ahead.reason;
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));

  s.heartbeat_ms = MonotonicNowMs();
  s.boot_id = "00000000-0000-0000-0000-000000000000";  // another boot
  SyncHealth other = EvaluateSync(s, absl::Seconds(1));
  EXPECT_FALSE(other.serving);
  EXPECT_NE(other.reason.find("this boot"), std::string::npos) << other.reason;
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));
  s.boot_id = "";  // a record that does not say
  EXPECT_FALSE(EvaluateSync(s, absl::Seconds(1)).serving);
  ASSERT_FALSE(HostBootId().empty());  // Linux has it
}

// A kvsync killed but not yet waited for by its parent (a zombie) is dead:
// readers stop serving once its heartbeat is three intervals old, as for a
// process that is gone.
TEST(SyncHealth, ZombieKvsyncIsDead) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  // Wait for the zombie without reaping it.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  SyncState s;
  s.pid = child;
  s.boot_id = HostBootId();
  s.phase = SyncPhase::kSynced;
  s.heartbeat_interval_ms = 100;
  s.heartbeat_ms = MonotonicNowMs() - 400;  // within the timeout, past 3 beats
  SyncHealth health = EvaluateSync(s, absl::Seconds(1));
  EXPECT_FALSE(health.serving);
  EXPECT_NE(health.reason.find("gone"), std::string::npos) << health.reason;
  s.heartbeat_ms = MonotonicNowMs();
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
}

// What a second kvsync for the store checks before it refuses to start.
TEST(SyncHealth, KvsyncMayBeRunning) {
  SyncState s;
  s.pid = getpid();
  s.boot_id = HostBootId();
  s.phase = SyncPhase::kConnecting;  // any phase but stopped
  s.heartbeat_ms = MonotonicNowMs();
  EXPECT_TRUE(KvsyncMayBeRunning(s, absl::Seconds(3)));
  s.phase = SyncPhase::kStopped;
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));
  s.phase = SyncPhase::kSynced;
  s.heartbeat_ms = MonotonicNowMs() - 4000;
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));
  s.heartbeat_ms = MonotonicNowMs();
  s.pid = (1 << 22) + 1;  // above the largest pid_max: no such process
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));
  s.pid = 0;
  EXPECT_FALSE(KvsyncMayBeRunning(s, absl::Seconds(3)));
}

// kvsync is known by its pid, start time and PID namespace. A live process
// with its pid but another start time is a later one (the pid was reused):
// kvsync is gone. One of another PID namespace cannot be checked here (its
// pid names another process): only the heartbeat's age counts.
TEST(SyncHealth, KvsyncIsKnownByPidStartTimeAndNamespace) {
  SyncState s;
  SetThisProcess(&s);
  ASSERT_EQ(s.pid, getpid());
  ASSERT_NE(s.pid_start_time, 0u);
  ASSERT_NE(s.pid_namespace, 0u);
  EXPECT_TRUE(WrittenByThisProcess(s));
  s.boot_id = HostBootId();
  s.phase = SyncPhase::kSynced;
  s.heartbeat_interval_ms = 100;
  s.heartbeat_ms = MonotonicNowMs() - 500;  // within the timeout, past 3 beats
  EXPECT_TRUE(EvaluateSync(s, absl::Seconds(1)).serving);

  SyncState reused = s;
  reused.pid_start_time += 1;  // this pid, but another process's start
  EXPECT_FALSE(WrittenByThisProcess(reused));
  SyncHealth health = EvaluateSync(reused, absl::Seconds(1));
  EXPECT_FALSE(health.serving);
  EXPECT_NE(health.reason.find("gone"), std::string::npos) << health.reason;
  reused.heartbeat_ms = MonotonicNowMs();
  EXPECT_FALSE(KvsyncMayBeRunning(reused, absl::Seconds(3)));

  SyncState other_namespace = s;
  other_namespace.pid_namespace += 1;  // the same pid in another namespace
  EXPECT_FALSE(WrittenByThisProcess(other_namespace));
  EXPECT_TRUE(EvaluateSync(other_namespace, absl::Seconds(1)).serving);
  other_namespace.pid = (1 << 22) + 1;  // no such pid here: still unknown there
  EXPECT_TRUE(EvaluateSync(other_namespace, absl::Seconds(1)).serving);
  other_namespace.heartbeat_ms = MonotonicNowMs() - 2000;
  EXPECT_FALSE(EvaluateSync(other_namespace, absl::Seconds(1)).serving);
  other_namespace.heartbeat_ms = MonotonicNowMs();
  EXPECT_TRUE(KvsyncMayBeRunning(other_namespace, absl::Seconds(3)));
  other_namespace.heartbeat_ms = MonotonicNowMs() - 4000;
  EXPECT_FALSE(KvsyncMayBeRunning(other_namespace, absl::Seconds(3)));
}

TEST(NearCacheWithoutKvsync, ReadsRedisDirectlyAndSaysWhy) {
  testutil::ScopedStore store;
  ASSERT_OK(store.Open());
  NearCacheOptions options;
  options.redis = "unix:/nonexistent/redis.sock";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> cache, NearCache::Create(store.get(), options));
  ReadInfo info;
  absl::StatusOr<std::string> v = cache->Get("p:1", &info);
  EXPECT_TRUE(absl::IsUnavailable(v.status())) << v.status();
  EXPECT_NE(v.status().message().find("check that redis-server runs"), std::string::npos);
  EXPECT_EQ(info.path, ReadPath::kDirect);
  EXPECT_NE(info.bypass_reason.find("no kvsync"), std::string::npos) << info.bypass_reason;
  EXPECT_TRUE(absl::IsNotFound(cache->SyncStatus().status()));
  options.redis = "nowhere";
  EXPECT_TRUE(absl::IsInvalidArgument(NearCache::Create(store.get(), options).status()));
}

// A Get trusts the record it read for sync_check_interval, then reads it
// again; Health always reads it. Redis lacks the key here, so a read that
// is not a hit fails with NotFound and says it went direct.
TEST(NearCacheSyncRecord, IsReadAgainOnlyAfterTheCheckInterval) {
  testutil::ScopedStore store;
  ASSERT_OK(store.Open());
  neartest::RedisServer redis;
  ASSERT_OK(redis.Start());
  ASSERT_OK_AND_ASSIGN(const std::string run_id, redis.RunId());
  auto WriteRecord = [&](Store& store, SyncPhase phase, uint32_t epoch) {
    ASSERT_OK(neartest::WriteSyncRecord(store, phase, epoch, run_id));
  };
  WriteRecord(*store, SyncPhase::kSynced, 7);
  WriteOptions filled;
  filled.flags = 7;  // as a fill under epoch 7 leaves it, with fill_ttl
  filled.ttl = NearCacheOptions().fill_ttl;
  ASSERT_OK(store->Put("p:a", "cached", filled));

  NearCacheOptions options;
  options.redis = redis.address();
  options.heartbeat_timeout = absl::Hours(1);
  options.sync_check_interval = absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> trusting,
                       NearCache::Create(store.get(), options));
  options.sync_check_interval = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> every_get,
                       NearCache::Create(store.get(), options));
  ReadInfo info;
  EXPECT_EQ(*trusting->Get("p:a", &info), "cached");
  EXPECT_EQ(info.path, ReadPath::kHit);
  EXPECT_EQ(*every_get->Get("p:a", &info), "cached");
  EXPECT_EQ(info.path, ReadPath::kHit);

  WriteRecord(*store, SyncPhase::kConnecting, 8);  // kvsync lost Redis
  EXPECT_EQ(*trusting->Get("p:a", &info), "cached") << "the record read an hour ago is trusted";
  EXPECT_EQ(info.path, ReadPath::kHit);
  absl::StatusOr<std::string> v = every_get->Get("p:a", &info);
  EXPECT_TRUE(absl::IsNotFound(v.status())) << v.status();
  EXPECT_EQ(info.path, ReadPath::kDirect);
  EXPECT_NE(info.bypass_reason.find("connecting"), std::string::npos) << info.bypass_reason;

  SyncHealth health = trusting->Health("p:a");
  EXPECT_FALSE(health.serving);
  EXPECT_NE(health.reason.find("connecting"), std::string::npos) << health.reason;
  v = trusting->Get("p:a", &info);  // Health's reading is the one it trusts now
  EXPECT_TRUE(absl::IsNotFound(v.status())) << v.status();
  EXPECT_EQ(info.path, ReadPath::kDirect);

  WriteRecord(*store, SyncPhase::kSynced, 9);  // resynced: epoch 7's value is not served
  v = every_get->Get("p:a", &info);
  EXPECT_TRUE(absl::IsNotFound(v.status())) << v.status();
  EXPECT_NE(info.path, ReadPath::kHit);
}

TEST(NearCacheSyncRecord, NegativeCheckIntervalIsRefused) {
  testutil::ScopedStore store;
  ASSERT_OK(store.Open());
  NearCacheOptions options;
  options.redis = "unix:/nonexistent/redis.sock";
  options.sync_check_interval = absl::Milliseconds(-1);
  absl::Status s = NearCache::Create(store.get(), options).status();
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("sync_check_interval"), std::string::npos) << s;
}

}  // namespace
}  // namespace shmkv::near
