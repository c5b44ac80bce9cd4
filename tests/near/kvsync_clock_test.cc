// kvsync against a stepped wall clock (NTP, date -s, a resumed VM). kvsync
// runs with wall_clock_step_shim.so preloaded, which shifts what
// CLOCK_REALTIME reads in kvsync, and only there, by the seconds in a file
// the test rewrites. kvsync's heartbeat, PONG timeout and reconnect backoff
// run on CLOCK_BOOTTIME, so a step changes nothing readers see.
//
// Debian's Abseil reads CLOCK_REALTIME for absl::Now() only about every two
// seconds and extrapolates with the cycle counter in between, so a program
// timing itself with absl::Now() sees a step up to ~2.1 s late: each step is
// watched for that plus twice the heartbeat timeout.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::near {
namespace {

using neartest::PollUntil;

constexpr absl::Duration kWatch = absl::Milliseconds(4100);

class KvsyncClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(store_.Open());
    ASSERT_OK(redis_.Start());
    shift_file_ = redis_.dir() + "/wall_clock_shift";
    log_ = redis_.dir() + "/kvsync.log";
    const std::string shim = neartest::RunfilePath("tests/near/wall_clock_step_shim.so");
    ASSERT_OK(
        kvsync_.Start(testutil::KeyHex(store_.key()), redis_.address(), {"p:"}, log_,
                      {"LD_PRELOAD=" + shim, "SHMKV_TEST_WALL_CLOCK_SHIFT_FILE=" + shift_file_}));
    ASSERT_TRUE(neartest::WaitSynced(*store_, 0, absl::Seconds(10))) << Log();
    // Without the shim in kvsync the steps below would step nothing.
    ASSERT_NE(neartest::ReadFile(absl::StrCat("/proc/", kvsync_.pid(), "/maps"))
                  .find("wall_clock_step_shim.so"),
              std::string::npos)
        << "the shim is not loaded in kvsync; its log:\n"
        << Log();
  }

  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "kvsync's log:\n%s", Log().c_str());
    unlink(shift_file_.c_str());
    unlink(log_.c_str());
  }

  std::string Log() const { return neartest::ReadFile(log_); }

  // From now on kvsync's wall clock reads `seconds` off the real one. The
  // file is replaced whole, so kvsync never reads half of it.
  void StepWallClock(int seconds) {
    const std::string next = shift_file_ + ".next";
    std::ofstream(next) << seconds << "\n";
    ASSERT_EQ(rename(next.c_str(), shift_file_.c_str()), 0);
  }

  // The same 30 ms after a heartbeat, while kvsync waits for the next one:
  // it reads the stepped clock first when it wakes, not halfway through
  // scheduling a beat (a deadline set after the step would agree with the
  // stepped clock, whichever clock it was measured on).
  void StepWallClockBetweenBeats(int seconds) {
    absl::StatusOr<SyncState> last = ReadSyncState(*store_);
    ASSERT_OK(last.status());
    ASSERT_TRUE(PollUntil(
        [&] {
          absl::StatusOr<SyncState> now = ReadSyncState(*store_);
          return now.ok() && now->heartbeat_ms != last->heartbeat_ms;
        },
        absl::Seconds(1)))
        << "kvsync did not beat within 1 s";
    absl::SleepFor(absl::Milliseconds(30));
    StepWallClock(seconds);
  }

  testutil::ScopedStore store_;
  neartest::RedisServer redis_;
  neartest::Kvsync kvsync_;
  std::string shift_file_, log_;
};

// Back an hour, then forward an hour: the near cache keeps serving (kvsync
// keeps beating), and kvsync neither declares the connection lost nor
// resyncs.
TEST_F(KvsyncClockTest, WallClockStepsLeaveTheNearCacheServing) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NearCache> cache,
                       NearCache::Create(store_.get(), NearCacheOptions{redis_.address()}));
  ASSERT_OK_AND_ASSIGN(const SyncState before, ReadSyncState(*store_));
  std::string problem;
  // Whether something went wrong since the start (said in `problem`).
  auto went_wrong = [&] {
    const SyncHealth health = cache->Health("p:k");
    absl::StatusOr<SyncState> now = ReadSyncState(*store_);
    if (!health.serving) {
      problem = absl::StrCat("the near cache does not serve: ", health.reason);
    } else if (!now.ok()) {
      problem = absl::StrCat("reading the sync record: ", now.status().ToString());
    } else if (now->epoch != before.epoch || now->resyncs != before.resyncs) {
      problem = absl::StrCat("kvsync went from epoch ", before.epoch, " to ", now->epoch,
                             " and from ", before.resyncs, " resyncs to ", now->resyncs,
                             "; last error: ", now->last_error);
    }
    return !problem.empty();
  };

  StepWallClockBetweenBeats(-3600);
  EXPECT_FALSE(PollUntil(went_wrong, kWatch))
      << "after kvsync's wall clock stepped back an hour: " << problem;
  StepWallClockBetweenBeats(0);
  EXPECT_FALSE(PollUntil(went_wrong, kWatch))
      << "after kvsync's wall clock stepped forward an hour: " << problem;
}

// Redis goes away, kvsync's wall clock steps back an hour, Redis comes back:
// kvsync's next attempt is still a backoff (at most 1 s) away.
TEST_F(KvsyncClockTest, ReconnectsOnTimeAfterTheWallClockSteppedBack) {
  redis_.Kill(SIGKILL);
  // Its first attempt failed: the step comes after kvsync scheduled the next.
  ASSERT_TRUE(PollUntil([&] { return Log().find("still not synced") != std::string::npos; },
                        absl::Seconds(3)))
      << "kvsync should retry once Redis is gone";
  StepWallClock(-3600);
  absl::SleepFor(absl::Milliseconds(2500));  // Abseil's next CLOCK_REALTIME read (see the top)
  ASSERT_OK(redis_.Start());
  EXPECT_TRUE(neartest::WaitSynced(*store_, 1, absl::Seconds(3)))
      << "kvsync did not resync within 3 s of Redis coming back";
}

}  // namespace
}  // namespace shmkv::near
