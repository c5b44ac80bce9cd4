// The near cache in front of a Redis Cluster through its faults, checked as
// a history: reader threads read through NearCache (each its own) and a
// writer writes unique values through NearCache::Set while a slot is
// migrated (the CLUSTER SETSLOT steps of redis-cli --cluster reshard), a
// replica takes over with CLUSTER FAILOVER, and a primary is killed
// (SIGKILL), failed over and restarted at its address as a replica.
//
// After each fault, once kvsync says synced again, every read that begins
// once kvsync covers the writer's last write must return Redis's value
// (workload.h). The whole history is then checked (history.h) with the
// bound of near_history_test.
//
// One round of the three faults by default; SHMKV_CLUSTER_CHAOS_SECONDS
// runs rounds for that long (the chaos run in doc/near_cache.md).
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kv/near/key_slot.h"
#include "kv/near/redis_client.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"
#include "tests/near/history/history.h"
#include "tests/near/history/op_log.h"
#include "tests/near/history/workload.h"
#include "tests/near/redis_cluster_env.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::history {
namespace {

using near::NearCache;
using near::NearCacheOptions;
using neartest::RedisCluster;
using testutil::ScopedStore;

// Half the keys share one slot (a hash tag): the slot every fault hits.
constexpr int kKeys = 24;
const absl::Duration kBound = NearCacheOptions().heartbeat_timeout + absl::Milliseconds(500);

std::string KeyName(int i) {
  return i % 2 == 0 ? absl::StrCat("c:{hot}", i) : absl::StrCat("c:", i);
}
int HotSlot() { return near::KeySlot(KeyName(0)); }

class ClusterHistoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<RedisCluster>> cluster = RedisCluster::Started(3, 1);
    EXPECT_OK(cluster.status());
    cluster_ = cluster.ok() ? cluster->release() : nullptr;
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the cluster did not start";
    ASSERT_OK(store_.Open());
    log_ = cluster_->dir() + "/kvsync.history.log";
    ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), cluster_->target(), {"c:"}, log_));
    ASSERT_TRUE(neartest::WaitSynced(*store_, 0, absl::Seconds(10))) << neartest::ReadFile(log_);
    // The windows expect the writer's last values (Redis's are not read).
    work_ = std::make_unique<Workload>(
        Workload::Config{store_.get(), cluster_->target(), kKeys, KeyName, nullptr});
  }
  void TearDown() override {
    if (work_ != nullptr) work_->Stop();
    if (HasFailure()) std::fprintf(stderr, "%s", neartest::LogTails(cluster_->dir()).c_str());
  }

  uint64_t Resyncs();
  void MigrateHotSlot();
  absl::StatusOr<int> ReplicaOfHotSlot();
  void ManualFailover();
  void KillPrimaryAndRestartIt();

  static RedisCluster* cluster_;
  ScopedStore store_;
  neartest::Kvsync kvsync_;
  std::string log_;
  std::unique_ptr<Workload> work_;
};

RedisCluster* ClusterHistoryTest::cluster_ = nullptr;

uint64_t ClusterHistoryTest::Resyncs() {
  absl::StatusOr<near::SyncState> s = near::ReadSyncState(*store_);
  EXPECT_OK(s.status());
  return s.ok() ? s->resyncs : 0;
}

void ClusterHistoryTest::MigrateHotSlot() {
  absl::StatusOr<int> from = cluster_->PrimaryOfSlot(HotSlot());
  ASSERT_OK(from.status());
  // Another primary: the first node that serves some other slot.
  int to = -1;
  for (int slot : {0, 8000, 16383}) {
    absl::StatusOr<int> p = cluster_->PrimaryOfSlot(slot);
    ASSERT_OK(p.status());
    if (*p != *from) to = *p;
  }
  ASSERT_NE(to, -1);
  const uint64_t resyncs = Resyncs();
  const int64_t start = MonotonicNs();
  ASSERT_OK(cluster_->MoveSlot(HotSlot(), to));
  work_->Fault("migration", start, /*writes_may_be_lost=*/false);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  work_->ExpectCurrentReads("a slot migration");
}

absl::StatusOr<int> ClusterHistoryTest::ReplicaOfHotSlot() {
  // A replica is listed a moment after a failover made it one.
  absl::StatusOr<int> replica = absl::NotFoundError("not asked yet");
  neartest::PollUntil(
      [&] {
        replica = cluster_->ReplicaOfSlot(HotSlot());
        return replica.ok();
      },
      absl::Seconds(10));
  return replica;
}

void ClusterHistoryTest::ManualFailover() {
  absl::StatusOr<int> replica = ReplicaOfHotSlot();
  ASSERT_OK(replica.status());
  const uint64_t resyncs = Resyncs();
  // A replica that restarted in the previous round may not be linked to its
  // primary yet, and would drop the request (WaitReplicaInStep).
  ASSERT_OK(cluster_->WaitReplicaInStep(*replica));
  const int64_t start = MonotonicNs();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(*replica));
  ASSERT_OK_AND_ASSIGN(near::RedisReply failover, c->Command({"CLUSTER", "FAILOVER"}));
  ASSERT_TRUE(failover.IsString("OK")) << failover.Describe();
  ASSERT_OK(cluster_->WaitPrimaryOfSlot(HotSlot(), *replica));
  work_->Fault("CLUSTER FAILOVER", start, /*writes_may_be_lost=*/false);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  work_->ExpectCurrentReads("CLUSTER FAILOVER");
}

void ClusterHistoryTest::KillPrimaryAndRestartIt() {
  absl::StatusOr<int> primary = cluster_->PrimaryOfSlot(HotSlot());
  absl::StatusOr<int> replica = ReplicaOfHotSlot();
  ASSERT_OK(primary.status());
  ASSERT_OK(replica.status());
  const uint64_t resyncs = Resyncs();
  int64_t start = MonotonicNs();
  cluster_->Kill(*primary, SIGKILL);
  // The replica takes over once the others mark the primary failed
  // (cluster-node-timeout 1 s).
  ASSERT_OK(cluster_->WaitPrimaryOfSlot(HotSlot(), *replica));
  work_->Fault("primary killed", start, /*writes_may_be_lost=*/false);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  work_->ExpectCurrentReads("a primary killed");

  // Back at its address, it rejoins as the new primary's replica; kvsync
  // does not track it (a new run_id), so nobody fills from it.
  start = MonotonicNs();
  ASSERT_OK(cluster_->Restart(*primary));
  ASSERT_OK(cluster_->WaitReplicaInStep(*primary));
  work_->Fault("old primary back as a replica", start, /*writes_may_be_lost=*/false);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  work_->ExpectCurrentReads("the old primary came back as a replica");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(*primary));
  ASSERT_OK_AND_ASSIGN(std::string run_id, near::ServerRunId(*c));
  ASSERT_OK_AND_ASSIGN(near::SyncState state, near::ReadSyncState(*store_));
  EXPECT_EQ(state.redis_run_id.find(run_id), std::string::npos) << state.redis_run_id;
  for (const char* command : {"eval", "get"}) {
    ASSERT_OK_AND_ASSIGN(long long calls, neartest::CommandCalls(*c, command));
    EXPECT_EQ(calls, 0) << "the replica ran " << command << ": a reader read from it";
  }
}

TEST_F(ClusterHistoryTest, NoReplacedValueIsServedAcrossMigrationFailoverAndAKilledPrimary) {
  work_->Start();
  const int rounds = work_->RunRounds("SHMKV_CLUSTER_CHAOS_SECONDS",
                                      {[this] { MigrateHotSlot(); }, [this] { ManualFailover(); },
                                       [this] { KillPrimaryAndRestartIt(); }});
  work_->ExpectHistoryOk(absl::StrCat("cluster history: ", rounds, " rounds"), kBound);
}

// The window doc/near_cache.md states: a replica promoted by CLUSTER
// FAILOVER takes a write at once; a hit of the value it replaced may be
// served until kvsync applies an invalidation or sees the new slot map.
TEST_F(ClusterHistoryTest, AfterAFailoverAReplacedValueIsServedNoLongerThanAHeartbeatTimeout) {
  std::unique_ptr<NearCache> cache = work_->Cache();
  ASSERT_NE(cache, nullptr);
  const std::string key = KeyName(0);
  ASSERT_OK(cache->Set(key, "before"));
  near::ReadInfo info;
  ASSERT_TRUE(neartest::PollUntil(
      [&] {
        return cache->Get(key, &info).value_or("") == "before" && info.path == near::ReadPath::kHit;
      },
      absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(int replica, ReplicaOfHotSlot());
  ASSERT_OK(cluster_->WaitReplicaInStep(replica));  // as ManualFailover
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(replica));
  ASSERT_OK_AND_ASSIGN(near::RedisReply failover, c->Command({"CLUSTER", "FAILOVER"}));
  ASSERT_TRUE(failover.IsString("OK")) << failover.Describe();
  // Write on the new primary the moment it is one.
  absl::StatusOr<near::RedisReply> set;
  ASSERT_TRUE(neartest::PollUntil(
      [&] {
        set = c->Command({"SET", key, "after"});
        return set.ok() && set->IsString("OK");
      },
      absl::Seconds(10)));
  const int64_t written = MonotonicNs();
  int stale = 0;
  int64_t last_stale = written;
  for (;;) {
    const int64_t start = MonotonicNs();
    absl::StatusOr<std::string> v = cache->Get(key, &info);
    if (v.ok() && *v == "after") break;
    ASSERT_OK(v.status());
    ASSERT_EQ(*v, "before");
    ++stale;
    last_stale = start;
    ASSERT_LT(start - written, absl::ToInt64Nanoseconds(NearCacheOptions().heartbeat_timeout))
        << "the replaced value is still served";
  }
  std::printf(
      "after CLUSTER FAILOVER: %d reads of the replaced value, the last %.3f ms after the "
      "write on the new primary\n",
      stale, (last_stale - written) / 1e6);
}

}  // namespace
}  // namespace shmkv::history
