// Runs the C steps of near_c_api_steps.c (the near cache's C API, from C)
// against Debian's redis-server and the kvsync of this build, following the
// prefix "p:". Between steps it writes to Redis from outside and waits for
// kvsync to apply the invalidations (neartest::Drain).
#include <signal.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "shmkv/near.h"
#include "tests/near/near_c_api_steps.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::near {
namespace {

class NearCApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(store_.Open());
    ASSERT_OK(redis_.Start());
    ASSERT_OK_AND_ASSIGN(client_, redis_.Client());
    log_ = redis_.dir() + "/kvsync.log";
    ASSERT_OK(kvsync_.Start(testutil::KeyHex(store_.key()), redis_.address(), {"p:"}, log_));
    ASSERT_TRUE(neartest::WaitSynced(*store_, 0, absl::Seconds(10))) << Log();
  }

  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "kvsync's log:\n%s", Log().c_str());
  }

  std::string Log() const { return neartest::ReadFile(log_); }

  // SET from outside, then wait until kvsync has applied its invalidation.
  void RedisSet(const std::string& key, const std::string& value) {
    absl::StatusOr<RedisReply> r = client_->Command({"SET", key, value});
    ASSERT_TRUE(r.ok() && r->IsString("OK")) << r.status();
    ASSERT_OK(neartest::Drain(*store_, *client_, "p:~drain", ++drains_));
  }

  key_t key() const { return store_.key(); }
  const char* redis() const { return address_.c_str(); }

  testutil::ScopedStore store_;
  neartest::RedisServer redis_;
  const std::string address_ = redis_.address();
  std::unique_ptr<RedisConnection> client_;
  neartest::Kvsync kvsync_;
  std::string log_;
  int drains_ = 0;
};

TEST_F(NearCApiTest, FillThenHit) {
  RedisSet("p:a", "alpha");
  EXPECT_EQ(nearc_fill_then_hit(key(), redis(), "p:a", "alpha"), 0);
}

TEST_F(NearCApiTest, WritesThroughRedisAreSeen) {
  RedisSet("p:a", "alpha");
  ASSERT_EQ(nearc_fill_then_hit(key(), redis(), "p:a", "alpha"), 0);
  // Another process writes through the C API; this one then reads the new
  // value from Redis and fills the store with it.
  EXPECT_EQ(nearc_set_in_child(key(), redis(), "p:a", "beta"), 0);
  ASSERT_OK(neartest::Drain(*store_, *client_, "p:~drain", ++drains_));
  absl::StatusOr<RedisReply> in_redis = client_->Command({"GET", "p:a"});
  ASSERT_TRUE(in_redis.ok()) << in_redis.status();
  EXPECT_EQ(in_redis->str, "beta");
  EXPECT_EQ(nearc_expect_read(key(), redis(), "p:a", "beta", SHMKV_NEAR_FILLED), 0);
  EXPECT_EQ(nearc_expect_read(key(), redis(), "p:a", "beta", SHMKV_NEAR_HIT), 0);
  // A write from outside (not through a near cache) reaches the store only
  // through kvsync's invalidation.
  RedisSet("p:a", "gamma");
  EXPECT_EQ(nearc_expect_read(key(), redis(), "p:a", "gamma", SHMKV_NEAR_FILLED), 0);
}

TEST_F(NearCApiTest, AbsentKeyIsNotFound) { EXPECT_EQ(nearc_absent(key(), redis(), "p:none"), 0); }

TEST_F(NearCApiTest, BufferTooSmallSaysTheSizeNeeded) {
  RedisSet("p:long", std::string(100, 'x'));
  EXPECT_EQ(nearc_buffer_too_small(key(), redis(), "p:long", std::string(100, 'x').c_str()), 0);
}

TEST_F(NearCApiTest, BadInputIsInvalidArgument) {
  const std::string unreachable = "unix:" + redis_.dir() + "/nothing-listens.sock";
  EXPECT_EQ(nearc_bad_input(key(), redis(), unreachable.c_str()), 0);
}

TEST_F(NearCApiTest, DirectReadsOnceKvsyncStopped) {
  RedisSet("p:d", "delta");
  ASSERT_EQ(kvsync_.Stop(SIGTERM), 0);
  EXPECT_EQ(nearc_direct_after_stop(key(), redis(), "p:d", "delta"), 0);
}

// A handle used before fork() is used by parent and child at once: each
// must read every key's own value, and leave only those in the store.
TEST_F(NearCApiTest, ForkedChildReadsOnItsOwnConnection) {
  constexpr int kPerProcess = 8000;
  ASSERT_OK(neartest::SetNumberedKeys(*client_, "p:fork", 2 * kPerProcess));
  ASSERT_OK(neartest::Drain(*store_, *client_, "p:~drain", ++drains_));
  EXPECT_EQ(nearc_fork_reads(key(), redis(), "p:fork", kPerProcess), 0);
  ASSERT_OK(neartest::Drain(*store_, *client_, "p:~drain", ++drains_));
  ASSERT_OK_AND_ASSIGN(neartest::CachedComparison cached,
                       neartest::CompareCachedWithRedis(*store_, *client_, "p:fork"));
  EXPECT_EQ(cached.wrong, 0) << "of " << cached.cached << " entries cached";
  EXPECT_GT(cached.cached, kPerProcess);
}

}  // namespace
}  // namespace shmkv::near
