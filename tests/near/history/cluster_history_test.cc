// The near cache in front of a Redis Cluster through its faults, checked as
// a history: reader threads read through NearCache (each its own) and a
// writer writes unique values through NearCache::Set while a slot is
// migrated (the CLUSTER SETSLOT steps of redis-cli --cluster reshard), a
// replica takes over with CLUSTER FAILOVER, and a primary is killed
// (SIGKILL), failed over and restarted at its address as a replica.
//
// After each fault, once kvsync says synced again: the writer pauses, the
// test waits until kvsync's heartbeat covers its last write (every
// invalidation applied), and every read that begins then (a hundred per
// reader) must return
// Redis's value, from the store or a primary kvsync tracks. The whole
// history is then checked (history.h) with the bound of near_history_test.
//
// One round of the three faults by default; SHMKV_CLUSTER_CHAOS_SECONDS
// runs rounds for that long (the chaos run in doc/near_cache.md).
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
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
#include "tests/near/redis_cluster_env.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::history {
namespace {

using near::NearCache;
using near::NearCacheOptions;
using neartest::RedisCluster;
using testutil::ScopedStore;
using testutil::TestRng;

// Half the keys share one slot (a hash tag): the slot every fault hits.
constexpr int kKeys = 24;
const absl::Duration kBound = NearCacheOptions().heartbeat_timeout + absl::Milliseconds(500);
constexpr int kReaders = 3;
constexpr int kWriter = kReaders;  // the writer's process number
// Reads each reader makes, after each fault, that must return Redis's value.
constexpr int kReadsAfterFault = 100;

std::string KeyName(int i) {
  return i % 2 == 0 ? absl::StrCat("c:{hot}", i) : absl::StrCat("c:", i);
}
int HotSlot() { return near::KeySlot(KeyName(0)); }

absl::Duration RunLength() {
  const char* env = getenv("SHMKV_CLUSTER_CHAOS_SECONDS");
  int seconds = 0;
  if (env != nullptr && absl::SimpleAtoi(env, &seconds) && seconds > 0) {
    return absl::Seconds(seconds);
  }
  return absl::ZeroDuration();  // one round
}

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
    ops_.resize(kReaders + 2);
  }
  void TearDown() override {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    if (HasFailure()) std::fprintf(stderr, "kvsync's log:\n%s", neartest::ReadFile(log_).c_str());
  }

  std::unique_ptr<NearCache> Cache() {
    NearCacheOptions o;
    o.redis = cluster_->target();
    absl::StatusOr<std::unique_ptr<NearCache>> cache = NearCache::Create(store_.get(), o);
    EXPECT_OK(cache.status());
    return cache.ok() ? *std::move(cache) : nullptr;
  }
  void Start();
  void ReadLoop(int process);
  void WriteLoop();
  // Pauses the writer, waits until kvsync is synced with a heartbeat after
  // its last write, checks that reads begun from then on return the keys'
  // last values, and lets the writer go on.
  void ExpectCurrentReads(const std::string& after);
  uint64_t Resyncs();
  void Fault(const std::string& name, int64_t start) {
    ops_[kReaders + 1].push_back(
        {OpKind::kFault, kReaders + 1, name, "-", true, "", start, MonotonicNs()});
  }
  void ExpectWindowsCurrent();
  void MigrateHotSlot();
  absl::StatusOr<int> ReplicaOfHotSlot();
  void ManualFailover();
  void KillPrimaryAndRestartIt();

  static RedisCluster* cluster_;
  ScopedStore store_;
  neartest::Kvsync kvsync_;
  std::string log_;
  std::vector<std::vector<Op>> ops_;  // per thread, then the faults
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false}, pause_writes_{false}, writer_paused_{false};
  std::atomic<uint64_t> completed_[kReaders] = {};  // reads each reader has logged
  // The spans in which every read must return Redis's value.
  struct Window {
    std::string after;
    int64_t from, to;
  };
  std::vector<Window> windows_;
};

RedisCluster* ClusterHistoryTest::cluster_ = nullptr;

void ClusterHistoryTest::Start() {
  std::unique_ptr<NearCache> writer = Cache();
  ASSERT_NE(writer, nullptr);
  for (int i = 0; i < kKeys; ++i) {
    Op op{OpKind::kWrite, kWriter, KeyName(i),    absl::StrCat("v", kWriter, ".init", i),
          true,           "",      MonotonicNs(), 0};
    ASSERT_OK(writer->Set(op.key, op.value));
    op.end_ns = MonotonicNs();
    ops_[kWriter].push_back(op);
  }
  for (int r = 0; r < kReaders; ++r) threads_.emplace_back([this, r] { ReadLoop(r); });
  threads_.emplace_back([this] { WriteLoop(); });
}

void ClusterHistoryTest::ReadLoop(int process) {
  std::unique_ptr<NearCache> cache = Cache();
  if (cache == nullptr) return;
  TestRng rng(process);
  while (!stop_.load()) {
    Op op{OpKind::kRead, process, KeyName(rng.Uniform(0, kKeys)), kAbsent, true, "", 0, 0};
    near::ReadInfo info;
    op.start_ns = MonotonicNs();
    absl::StatusOr<std::string> v = cache->Get(op.key, &info);
    op.end_ns = MonotonicNs();
    if (v.ok()) op.value = *v;
    op.ok = v.ok() || absl::IsNotFound(v.status());
    op.detail = op.ok ? near::ReadPathName(info.path) : v.status().ToString();
    ops_[process].push_back(op);
    completed_[process].fetch_add(1);
    absl::SleepFor(absl::Microseconds(200));
  }
}

void ClusterHistoryTest::WriteLoop() {
  std::unique_ptr<NearCache> cache = Cache();
  if (cache == nullptr) return;
  TestRng rng(kWriter);
  for (int n = 0; !stop_.load(); ++n) {
    if (pause_writes_.load()) {
      writer_paused_ = true;
      absl::SleepFor(absl::Milliseconds(1));
      continue;
    }
    writer_paused_ = false;
    Op op{OpKind::kWrite,
          kWriter,
          KeyName(rng.Uniform(0, kKeys)),
          absl::StrCat("v", kWriter, ".", n),
          true,
          "",
          MonotonicNs(),
          0};
    absl::Status s = cache->Set(op.key, op.value);
    op.end_ns = MonotonicNs();
    op.ok = s.ok();
    op.detail = s.ok() ? "" : s.ToString();
    ops_[kWriter].push_back(op);
    absl::SleepFor(absl::Microseconds(500));
  }
}

uint64_t ClusterHistoryTest::Resyncs() {
  absl::StatusOr<near::SyncState> s = near::ReadSyncState(*store_);
  EXPECT_OK(s.status());
  return s.ok() ? s->resyncs : 0;
}

void ClusterHistoryTest::ExpectCurrentReads(const std::string& after) {
  writer_paused_ = false;
  pause_writes_ = true;
  ASSERT_TRUE(neartest::PollUntil([&] { return writer_paused_.load(); }, absl::Seconds(10)));
  const int64_t last_write_ms = near::MonotonicNowMs();
  ASSERT_TRUE(neartest::PollUntil(
      [&] {
        absl::StatusOr<near::SyncState> s = near::ReadSyncState(*store_);
        return s.ok() && s->synced() && s->heartbeat_ms > last_write_ms;
      },
      absl::Seconds(10)))
      << "kvsync did not cover the last write after " << after;
  const int64_t from = MonotonicNs();
  // Every reader completes reads begun from then on (the first may have
  // begun before).
  uint64_t before[kReaders];
  for (int r = 0; r < kReaders; ++r) before[r] = completed_[r].load();
  ASSERT_TRUE(neartest::PollUntil(
      [&] {
        for (int r = 0; r < kReaders; ++r) {
          if (completed_[r].load() < before[r] + kReadsAfterFault + 1) return false;
        }
        return true;
      },
      absl::Seconds(10)))
      << "a reader did not complete " << kReadsAfterFault << " reads in 10 s after " << after;
  windows_.push_back({after, from, MonotonicNs()});
  pause_writes_ = false;
}

// The values each key may hold in Redis at `at`, the writes being paused:
// its last successful write before `at`, and the failed writes after that
// one (they may have applied). `writes` are in the order they were made.
std::map<std::string, std::set<std::string>> CurrentValues(const std::vector<Op>& writes,
                                                           int64_t at) {
  std::map<std::string, std::set<std::string>> current;
  for (const Op& w : writes) {
    if (w.start_ns >= at) break;
    if (w.ok) current[w.key].clear();
    current[w.key].insert(w.value);
  }
  return current;
}

void ClusterHistoryTest::ExpectWindowsCurrent() {
  for (const Window& w : windows_) {
    std::map<std::string, std::set<std::string>> current = CurrentValues(ops_[kWriter], w.from);
    for (int r = 0; r < kReaders; ++r) {
      int reads = 0, wrong = 0;
      for (const Op& op : ops_[r]) {
        if (op.start_ns < w.from || op.end_ns > w.to) continue;
        ++reads;
        if (op.ok && current[op.key].count(op.value) > 0) continue;
        if (++wrong <= 3) {
          ADD_FAILURE() << "after " << w.after << ", reader " << r << " read " << op.key << " = "
                        << op.value << " (" << op.detail << "), not Redis's value";
        }
      }
      EXPECT_GT(reads, 0) << "reader " << r << " read nothing after " << w.after;
      EXPECT_EQ(wrong, 0) << "reader " << r << " after " << w.after << ": " << reads << " reads";
    }
  }
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
  Fault("migration", start);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  ExpectCurrentReads("a slot migration");
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
  const int64_t start = MonotonicNs();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(*replica));
  ASSERT_OK_AND_ASSIGN(near::RedisReply failover, c->Command({"CLUSTER", "FAILOVER"}));
  ASSERT_TRUE(failover.IsString("OK")) << failover.Describe();
  ASSERT_OK(cluster_->WaitPrimaryOfSlot(HotSlot(), *replica));
  Fault("CLUSTER FAILOVER", start);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  ExpectCurrentReads("CLUSTER FAILOVER");
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
  Fault("primary killed", start);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  ExpectCurrentReads("a primary killed");

  // Back at its address, it rejoins as the new primary's replica; kvsync
  // does not track it (a new run_id), so nobody fills from it.
  start = MonotonicNs();
  ASSERT_OK(cluster_->Restart(*primary));
  ASSERT_OK(cluster_->WaitReplicaInStep(*primary));
  Fault("old primary back as a replica", start);
  ASSERT_TRUE(neartest::WaitSynced(*store_, resyncs + 1, absl::Seconds(10)));
  ExpectCurrentReads("the old primary came back as a replica");
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
  Start();
  const absl::Time end = absl::Now() + RunLength();
  int rounds = 0;
  do {
    absl::SleepFor(absl::Milliseconds(200));
    MigrateHotSlot();
    if (HasFatalFailure()) break;
    ManualFailover();
    if (HasFatalFailure()) break;
    KillPrimaryAndRestartIt();
    if (HasFatalFailure()) break;
    ++rounds;
  } while (absl::Now() < end);
  absl::SleepFor(absl::Milliseconds(200));
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  ExpectWindowsCurrent();
  std::vector<Op> all;
  for (const std::vector<Op>& ops : ops_) all.insert(all.end(), ops.begin(), ops.end());
  const CheckResult result = Check(all, absl::ToInt64Nanoseconds(kBound));
  std::printf("cluster history: %d rounds; %s\n", rounds, result.Summary().c_str());
  for (const std::string& v : result.violations) std::printf("  %s\n", v.c_str());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_GT(result.hits, 0u) << "nothing was served from the store: the check proves nothing";
}

// The window doc/near_cache.md states: a replica promoted by CLUSTER
// FAILOVER takes a write at once; a hit of the value it replaced may be
// served until kvsync applies an invalidation or sees the new slot map.
TEST_F(ClusterHistoryTest, AfterAFailoverAReplacedValueIsServedNoLongerThanAHeartbeatTimeout) {
  std::unique_ptr<NearCache> cache = Cache();
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
