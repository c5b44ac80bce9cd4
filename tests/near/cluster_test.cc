// The near cache in front of a real Redis Cluster: three primaries started
// once for the suite (tests/near/redis_cluster_env.h).
#include <signal.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "kv/near/key_slot.h"
#include "kv/near/slot_map.h"
#include "shmkv/near.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"
#include "tests/near/near_c_api_steps.h"
#include "tests/near/redis_cluster_env.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::neartest {
namespace {

using testutil::ScopedStore;

// A started cluster for a suite, or nullptr after reporting why not.
RedisCluster* StartCluster(int primaries, int replicas_per_primary) {
  absl::StatusOr<std::unique_ptr<RedisCluster>> cluster =
      RedisCluster::Started(primaries, replicas_per_primary);
  if (!cluster.ok()) {
    ADD_FAILURE() << cluster.status();
    return nullptr;
  }
  return cluster->release();
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = StartCluster(3, 0); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(cluster_, nullptr) << "the cluster did not start"; }

  static RedisCluster* cluster_;
};

RedisCluster* ClusterTest::cluster_ = nullptr;

TEST_F(ClusterTest, KeySlotAgreesWithClusterKeyslot) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(0));
  std::mt19937 random(7);
  // Printable and binary keys, with and without braces in every place.
  const char kAlphabet[] = "{}{}ab:_\x00\xff\x7f";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  for (int i = 0; i < 3000; ++i) {
    std::string key;
    const int length = static_cast<int>(random() % 12);
    for (int j = 0; j < length; ++j) key.push_back(alphabet[random() % alphabet.size()]);
    if (i % 3 == 0) key += absl::StrCat("user:", random());
    ASSERT_OK_AND_ASSIGN(near::RedisReply slot, c->Command({"CLUSTER", "KEYSLOT", key}));
    ASSERT_EQ(slot.type, near::RedisReply::Type::kInteger) << slot.Describe();
    ASSERT_EQ(near::KeySlot(key), slot.integer) << "key \"" << key << "\"";
  }
}

TEST_F(ClusterTest, DiscoversEveryPrimaryFromAnySeed) {
  for (int seed = 0; seed < cluster_->node_count(); ++seed) {
    near::RedisAddress unreachable;  // refused first: the next seed answers
    unreachable.host = "127.0.0.1";
    unreachable.port = 1;
    ASSERT_OK_AND_ASSIGN(
        near::SlotMap map,
        near::DiscoverSlotMap({unreachable, cluster_->address(seed)}, absl::Seconds(2)));
    EXPECT_EQ(map.Primaries().size(), 3u) << map.ToString();
    for (int slot : {0, 5000, 5461, 10922, 10923, 16383}) {
      ASSERT_OK_AND_ASSIGN(int node, cluster_->PrimaryOfSlot(slot));
      ASSERT_NE(map.PrimaryOf(slot), nullptr);
      EXPECT_EQ(map.PrimaryOf(slot)->port, cluster_->port(node)) << "slot " << slot;
    }
  }
}

TEST_F(ClusterTest, AWrongNodeAnswersAMovedThatNamesTheOwner) {
  const std::string key = "user:moved";
  ASSERT_OK_AND_ASSIGN(int owner, cluster_->PrimaryOfSlot(near::KeySlot(key)));
  const int wrong = (owner + 1) % cluster_->node_count();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(wrong));
  ASSERT_OK_AND_ASSIGN(near::RedisReply reply, c->Command({"GET", key}));
  ASSERT_EQ(reply.type, near::RedisReply::Type::kError) << reply.Describe();
  std::optional<near::Redirect> redirect = near::ParseRedirect(reply.str);
  ASSERT_TRUE(redirect.has_value()) << reply.str;
  EXPECT_EQ(redirect->kind, near::Redirect::Kind::kMoved);
  EXPECT_EQ(redirect->slot, near::KeySlot(key));
  EXPECT_EQ(redirect->to.port, cluster_->port(owner));
}

// A key under `prefix` whose slot `node` serves.
std::string KeyOnNode(const RedisCluster& cluster, int node, const std::string& prefix) {
  for (int i = 0;; ++i) {
    std::string key = absl::StrCat(prefix, i);
    absl::StatusOr<int> owner = cluster.PrimaryOfSlot(near::KeySlot(key));
    if (owner.ok() && *owner == node) return key;
  }
}

// kvsync following the suite's cluster for the prefix "c:", on a store of
// its own.
class ClusterKvsyncTest : public ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    ASSERT_OK(store_.Open());
    log_ = cluster_->dir() + absl::StrCat("/kvsync.", ++runs_, ".log");
    ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), cluster_->target(), {"c:"}, log_));
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s", LogTails(cluster_->dir()).c_str());
  }
  bool WaitSynced(uint64_t resyncs) {
    return neartest::WaitSynced(*store_, resyncs, absl::Seconds(10));
  }
  absl::StatusOr<near::SyncState> State() { return near::ReadSyncState(*store_); }
  // Sets `key` in Redis through the node that serves it.
  void RedisSet(const std::string& key, const std::string& value) {
    ASSERT_OK_AND_ASSIGN(int node, cluster_->PrimaryOfSlot(near::KeySlot(key)));
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(node));
    ASSERT_OK_AND_ASSIGN(near::RedisReply r, c->Command({"SET", key, value}));
    ASSERT_TRUE(r.IsString("OK")) << r.Describe();
  }
  void WaitInvalidationsApplied() {
    ASSERT_TRUE(neartest::WaitInvalidationsApplied(*store_, absl::Seconds(10))) << ReadFile(log_);
  }
  bool Gone(const std::string& key) { return WaitGone(*store_, key, absl::Seconds(5)); }

  static int runs_;
  ScopedStore store_;
  Kvsync kvsync_;
  std::string log_;
};

int ClusterKvsyncTest::runs_ = 0;

TEST_F(ClusterKvsyncTest, AWriteOnEachPrimaryInvalidates) {
  ASSERT_TRUE(WaitSynced(0)) << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState state, State());
  EXPECT_EQ(state.redis, cluster_->target());
  // One identity per primary.
  EXPECT_EQ(std::count(state.redis_run_id.begin(), state.redis_run_id.end(), ','), 2)
      << state.redis_run_id;
  for (int node = 0; node < cluster_->node_count(); ++node) {
    const std::string key = KeyOnNode(*cluster_, node, "c:write");
    ASSERT_OK(store_->Put(key, "cached"));
    RedisSet(key, "new");
    EXPECT_TRUE(Gone(key)) << key << " on node " << node;
  }
}

TEST_F(ClusterKvsyncTest, CApiGivesEveryPrimarysRunId) {
  ASSERT_TRUE(WaitSynced(0)) << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState state, State());
  // Three run_ids of 40 characters do not fit the sync state's field.
  ASSERT_GT(state.redis_run_id.size(), 63u) << state.redis_run_id;
  EXPECT_EQ(
      nearc_whole_run_ids(store_.key(), cluster_->target().c_str(), state.redis_run_id.c_str()), 0);
}

TEST_F(ClusterKvsyncTest, SyncedOnlyWhileEveryPrimaryTracks) {
  ASSERT_TRUE(WaitSynced(0)) << ReadFile(log_);
  // Drop kvsync's subscription on one primary only: a loss on every pair.
  const std::string cached = KeyOnNode(*cluster_, 0, "c:kept");
  ASSERT_OK(store_->Put(cached, "cached"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(2));
  ASSERT_OK_AND_ASSIGN(near::RedisReply killed, c->Command({"CLIENT", "KILL", "TYPE", "pubsub"}));
  ASSERT_GE(killed.integer, 1) << killed.Describe();
  ASSERT_TRUE(WaitSynced(1)) << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState state, State());
  EXPECT_NE(state.last_error.find(cluster_->address(2).ToString()), std::string::npos)
      << state.last_error;
  EXPECT_TRUE(Gone(cached)) << "the loss on one primary cleared what every primary serves";

  // A primary that does not answer: never synced until it does. The node
  // is stopped until the record names it, however long kvsync takes to
  // start and time out on it (its own timeout is 1 s); the bound below only
  // ends a test that would otherwise hang.
  ASSERT_EQ(kvsync_.Stop(SIGTERM), 0);
  cluster_->Pause(2);
  ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), cluster_->target(), {"c:"}, log_));
  bool named = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (!named && absl::Now() < give_up) {
    absl::StatusOr<near::SyncState> s = State();
    ASSERT_OK(s.status());
    EXPECT_FALSE(s->synced()) << "synced while " << cluster_->address(2).ToString()
                              << " is stopped";
    if (s->synced()) break;
    named = s->last_error.find(cluster_->address(2).ToString()) != std::string::npos;
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_OK(cluster_->Resume(2));
  EXPECT_TRUE(named) << "the record never said which primary is missing";
  EXPECT_TRUE(WaitSynced(0)) << ReadFile(log_);
}

TEST_F(ClusterKvsyncTest, ASlotMigrationIsALossOnEveryPair) {
  ASSERT_TRUE(WaitSynced(0)) << ReadFile(log_);
  const std::string moved = KeyOnNode(*cluster_, 0, "c:moved");
  const std::string elsewhere = KeyOnNode(*cluster_, 1, "c:elsewhere");
  RedisSet(moved, "v1");
  ASSERT_OK(store_->Put(moved, "v1"));
  ASSERT_OK(store_->Put(elsewhere, "cached"));
  ASSERT_OK_AND_ASSIGN(near::SyncState before, State());
  ASSERT_OK(cluster_->MoveSlot(near::KeySlot(moved), 2));
  ASSERT_TRUE(WaitSynced(before.resyncs + 1)) << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState after, State());
  EXPECT_NE(after.last_error.find("slot map changed"), std::string::npos) << after.last_error;
  EXPECT_TRUE(Gone(moved));
  EXPECT_TRUE(Gone(elsewhere));
  // The slot's new primary is tracked: a write there invalidates.
  ASSERT_OK(store_->Put(moved, "v1"));
  RedisSet(moved, "v2");
  EXPECT_TRUE(Gone(moved));
}

// NearCache through the suite's cluster, kvsync running.
class ClusterNearCacheTest : public ClusterKvsyncTest {
 protected:
  void SetUp() override {
    ClusterKvsyncTest::SetUp();
    ASSERT_TRUE(WaitSynced(0)) << ReadFile(log_);
    near::NearCacheOptions options;
    options.redis = cluster_->target();
    ASSERT_OK_AND_ASSIGN(cache_, near::NearCache::Create(store_.get(), options));
  }
  // Get through the cache: the value, and how it was read.
  std::string Read(const std::string& key, near::ReadPath* path) {
    near::ReadInfo info;
    absl::StatusOr<std::string> v = cache_->Get(key, &info);
    *path = info.path;
    EXPECT_OK(v.status()) << key;
    if (info.path == near::ReadPath::kDirect)
      std::fprintf(stderr, "%s\n", info.bypass_reason.c_str());
    return v.ok() ? *v : "<error>";
  }

  std::unique_ptr<near::NearCache> cache_;
};

TEST_F(ClusterNearCacheTest, FillsAndHitsAcrossSlotsAndEachPrimaryInvalidates) {
  for (int node = 0; node < cluster_->node_count(); ++node) {
    const std::string key = KeyOnNode(*cluster_, node, "c:fill");
    RedisSet(key, absl::StrCat("v1 on ", node));
    WaitInvalidationsApplied();
    near::ReadPath path;
    EXPECT_EQ(Read(key, &path), absl::StrCat("v1 on ", node));
    EXPECT_EQ(path, near::ReadPath::kFilled) << "node " << node;
    EXPECT_EQ(Read(key, &path), absl::StrCat("v1 on ", node));
    EXPECT_EQ(path, near::ReadPath::kHit) << "node " << node;
    RedisSet(key, absl::StrCat("v2 on ", node));
    ASSERT_TRUE(Gone(key)) << "node " << node;
    EXPECT_EQ(Read(key, &path), absl::StrCat("v2 on ", node));
    EXPECT_EQ(path, near::ReadPath::kFilled) << "node " << node;
  }
  EXPECT_EQ(cache_->Stats().redirects, 0u);
  // Writes through the cache go to the key's primary too.
  const std::string key = KeyOnNode(*cluster_, 2, "c:written");
  ASSERT_OK(cache_->Set(key, "through the cache"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(2));
  ASSERT_OK_AND_ASSIGN(near::RedisReply got, c->Command({"GET", key}));
  EXPECT_TRUE(got.IsString("through the cache")) << got.Describe();
}

TEST_F(ClusterNearCacheTest, AfterASlotMigrationReadersFollowMovedAndReadRedisValue) {
  const std::string key = KeyOnNode(*cluster_, 0, "c:migrating");
  RedisSet(key, "before");
  near::ReadPath path;
  ASSERT_EQ(Read(key, &path), "before");
  ASSERT_EQ(path, near::ReadPath::kFilled);
  ASSERT_OK_AND_ASSIGN(near::SyncState before, State());
  ASSERT_OK(cluster_->MoveSlot(near::KeySlot(key), 1));
  RedisSet(key, "after");  // on its new primary
  ASSERT_TRUE(WaitSynced(before.resyncs + 1)) << ReadFile(log_);
  // The reader's slot map still names the old primary: it answers MOVED.
  EXPECT_EQ(Read(key, &path), "after");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  EXPECT_EQ(cache_->Stats().redirects, 1u);
  EXPECT_EQ(Read(key, &path), "after");
  EXPECT_EQ(path, near::ReadPath::kHit);
  EXPECT_EQ(cache_->Stats().redirects, 1u) << "the slot map was not read again after MOVED";
}

TEST_F(ClusterNearCacheTest, DuringAMigrationReadersFollowAsk) {
  const std::string key = KeyOnNode(*cluster_, 2, "c:asked");
  RedisSet(key, "moving");
  const int slot = near::KeySlot(key);
  ASSERT_OK(cluster_->BeginSlotMove(slot, 0));
  near::ReadPath path;
  // The old primary no longer has the key: ASK, then ASKING on the target,
  // a primary kvsync tracks, so the value may be filled.
  EXPECT_EQ(Read(key, &path), "moving");
  EXPECT_EQ(path, near::ReadPath::kFilled);
  EXPECT_EQ(cache_->Stats().redirects, 1u);
  // A write on the target (as a cluster client sends it: ASKING first)
  // invalidates what was filled.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(0));
  ASSERT_OK_AND_ASSIGN(near::RedisReply asking, c->Command({"ASKING"}));
  ASSERT_OK_AND_ASSIGN(near::RedisReply set, c->Command({"SET", key, "moved"}));
  ASSERT_TRUE(set.IsString("OK")) << set.Describe();
  ASSERT_TRUE(Gone(key));
  EXPECT_EQ(Read(key, &path), "moved");
  ASSERT_OK(cluster_->FinishSlotMove(slot, 0));
}

TEST_F(ClusterNearCacheTest, NeverFillsFromAPrimaryKvsyncDoesNotTrack) {
  // A record naming only two of the three primaries (as after a failover
  // kvsync has not resynced to yet): reads on the third go direct.
  ASSERT_EQ(kvsync_.Stop(SIGTERM), 0);
  std::vector<std::string> run_ids;
  for (int node = 0; node < 2; ++node) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(node));
    ASSERT_OK_AND_ASSIGN(std::string run_id, near::ServerRunId(*c));
    run_ids.push_back(run_id);
  }
  ASSERT_OK(WriteSyncRecord(*store_, near::SyncPhase::kSynced, 7, absl::StrJoin(run_ids, ",")));
  const std::string tracked = KeyOnNode(*cluster_, 0, "p:tracked");
  const std::string untracked = KeyOnNode(*cluster_, 2, "p:untracked");
  RedisSet(tracked, "a");
  RedisSet(untracked, "b");
  near::ReadInfo info;
  EXPECT_EQ(cache_->Get(tracked, &info).value_or(""), "a");
  EXPECT_EQ(info.path, near::ReadPath::kFilled);
  EXPECT_EQ(cache_->Get(untracked, &info).value_or(""), "b");
  EXPECT_EQ(info.path, near::ReadPath::kDirect);
  EXPECT_NE(info.bypass_reason.find("not one kvsync tracks"), std::string::npos)
      << info.bypass_reason;
  ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains(untracked));
  EXPECT_FALSE(cached);
  EXPECT_EQ(cache_->Stats().wrong_server, 1u);
}

// The C API and kvcli take the same cluster:... address.
TEST_F(ClusterNearCacheTest, CApiAndKvcliReadThroughTheCluster) {
  for (int node = 0; node < cluster_->node_count(); ++node) {
    const std::string key = KeyOnNode(*cluster_, node, "c:other");
    RedisSet(key, absl::StrCat("from ", node));
    WaitInvalidationsApplied();
    const std::string value = absl::StrCat("from ", node);
    const std::string target = cluster_->target();
    EXPECT_EQ(nearc_expect_read(store_.key(), target.c_str(), key.c_str(), value.c_str(),
                                SHMKV_NEAR_FILLED),
              0);
    EXPECT_EQ(
        nearc_expect_read(store_.key(), target.c_str(), key.c_str(), value.c_str(), SHMKV_NEAR_HIT),
        0);
    RedisSet(key, "changed");
    ASSERT_TRUE(Gone(key));
    ASSERT_OK_AND_ASSIGN(std::string printed,
                         KvcliOutput(absl::StrCat("get --key=", testutil::KeyHex(store_.key()),
                                                  " --through=", target, " ", key, " --json")));
    EXPECT_NE(printed.find("filled"), std::string::npos) << printed;
    ASSERT_OK_AND_ASSIGN(bool cached, store_->Contains(key));
    EXPECT_TRUE(cached) << "kvcli did not fill " << key << ": " << printed;
  }
}

// A cluster of three primaries, each with a replica, for failovers: its own
// suite, started once.
class ClusterFailoverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = StartCluster(3, 1); }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the cluster did not start";
    ASSERT_OK(store_.Open());
    log_ = cluster_->dir() + "/kvsync.failover.log";
    ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), cluster_->target(), {"c:"}, log_));
  }
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "%s", LogTails(cluster_->dir()).c_str());
  }
  absl::Status Set(int node, const std::string& key, const std::string& value) {
    absl::StatusOr<std::unique_ptr<near::RedisConnection>> c = cluster_->Client(node);
    if (!c.ok()) return c.status();
    absl::StatusOr<near::RedisReply> r = (*c)->Command({"SET", key, value});
    if (!r.ok()) return r.status();
    if (!r->IsString("OK")) return absl::InternalError("SET: " + r->Describe());
    return absl::OkStatus();
  }

  static RedisCluster* cluster_;
  ScopedStore store_;
  Kvsync kvsync_;
  std::string log_;
};

RedisCluster* ClusterFailoverTest::cluster_ = nullptr;

TEST_F(ClusterFailoverTest, AFailoverIsALossAndReadersThenReadTheNewPrimary) {
  ASSERT_TRUE(neartest::WaitSynced(*store_, 0, absl::Seconds(10))) << ReadFile(log_);
  near::NearCacheOptions options;
  options.redis = cluster_->target();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::NearCache> cache,
                       near::NearCache::Create(store_.get(), options));
  const std::string key = "c:failover";
  const int slot = near::KeySlot(key);
  ASSERT_OK_AND_ASSIGN(int primary, cluster_->PrimaryOfSlot(slot));
  ASSERT_OK_AND_ASSIGN(int replica, cluster_->ReplicaOfSlot(slot));
  ASSERT_OK(Set(primary, key, "before"));
  near::ReadInfo info;
  ASSERT_EQ(cache->Get(key, &info).value_or(""), "before");
  ASSERT_EQ(info.path, near::ReadPath::kFilled);
  ASSERT_OK_AND_ASSIGN(near::SyncState before, near::ReadSyncState(*store_));

  // The replica waits for its primary's writes, then takes over (once it
  // can ask its primary: WaitReplicaInStep).
  ASSERT_OK(cluster_->WaitReplicaInStep(replica));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> r, cluster_->Client(replica));
  ASSERT_OK_AND_ASSIGN(near::RedisReply failover, r->Command({"CLUSTER", "FAILOVER"}));
  ASSERT_TRUE(failover.IsString("OK")) << failover.Describe();
  ASSERT_OK(cluster_->WaitPrimaryOfSlot(slot, replica));
  ASSERT_OK(Set(replica, key, "after"));
  ASSERT_TRUE(neartest::WaitSynced(*store_, before.resyncs + 1, absl::Seconds(10)))
      << ReadFile(log_);
  ASSERT_OK_AND_ASSIGN(near::SyncState after, near::ReadSyncState(*store_));
  ASSERT_OK_AND_ASSIGN(std::string new_primary, near::ServerRunId(*r));
  EXPECT_NE(after.redis_run_id.find(new_primary), std::string::npos) << after.redis_run_id;
  // Once synced again, the reader reads Redis's value, filled from the new
  // primary: its slot map named the old one (now a replica, which kvsync
  // does not track), so it read the map again.
  EXPECT_EQ(cache->Get(key, &info).value_or(""), "after");
  EXPECT_EQ(info.path, near::ReadPath::kFilled) << info.bypass_reason;
  EXPECT_EQ(cache->Get(key, &info).value_or(""), "after");
  EXPECT_EQ(info.path, near::ReadPath::kHit) << info.bypass_reason;
  EXPECT_EQ(cache->Stats().wrong_server, 0u);
}

TEST(ClusterDiscovery, ANodeOutsideAClusterIsNamed) {
  near::RedisAddress nobody;
  nobody.host = "127.0.0.1";
  nobody.port = 1;
  absl::StatusOr<near::SlotMap> map = near::DiscoverSlotMap({nobody}, absl::Seconds(1));
  EXPECT_TRUE(absl::IsUnavailable(map.status()));
  EXPECT_NE(map.status().message().find("127.0.0.1:1"), std::string::npos) << map.status();
}

}  // namespace
}  // namespace shmkv::neartest
