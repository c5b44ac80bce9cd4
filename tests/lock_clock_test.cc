// Lock waits are bounded on CLOCK_MONOTONIC: a step of the wall clock
// (NTP, an administrator, a VM resumed) neither ends a wait early nor
// stretches it. The wall clock cannot be stepped for one test, so this
// binary defines clock_gettime and, while a step is being simulated, shifts
// what CLOCK_REALTIME reads; the kernel's own clocks (which a timed wait
// uses) are untouched. A deadline computed on CLOCK_REALTIME then lands in
// the past and the wait ends at once; one on CLOCK_MONOTONIC does not.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kv/platform/ipc.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace {

// 0: no step. Otherwise every CLOCK_REALTIME read is shifted: by
// g_step_seconds (a constant step), and when g_step_each_read, by that much
// more on each read (a clock that keeps jumping).
std::atomic<int64_t> g_step_seconds{0};
std::atomic<bool> g_step_each_read{false};
std::atomic<int64_t> g_reads{0};

}  // namespace

extern "C" int clock_gettime(clockid_t clock, struct timespec* ts) {
  const int rc = static_cast<int>(syscall(SYS_clock_gettime, clock, ts));
  const int64_t step = g_step_seconds.load(std::memory_order_relaxed);
  if (rc == 0 && step != 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    int64_t shift = step;
    if (g_step_each_read.load(std::memory_order_relaxed)) shift *= 1 + g_reads.fetch_add(1);
    ts->tv_sec += shift;
  }
  return rc;
}

namespace shmkv {
namespace {

using ::shmkv::testutil::ChildProcess;
using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;

absl::Duration Monotonic() {
  timespec ts;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

constexpr absl::Duration kTimeout = absl::Milliseconds(400);

// A stripe held by another process: the wait lasts the whole timeout even
// though the wall clock reads an hour earlier than when the deadline was set.
TEST(LockClock, StripeWaitIgnoresAWallClockStep) {
  ScopedStore store;
  Options o = SmallOptions();
  o.lock_timeout = kTimeout;
  ASSERT_OK(store.Open(o));
  ASSERT_OK(store->Put("held", "v"));
  Store* s = store.get();
  PipeEvent holding, release;
  ChildProcess holder([&] {
    absl::Status viewed = s->View("held", [&](absl::string_view, const EntryMeta&) {
      holding.Notify();
      release.WaitFor(absl::Seconds(20));
    });
    return viewed.ok() ? 0 : 1;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(20)));
  const absl::Duration start = Monotonic();
  g_step_seconds = -3600;
  std::string v;
  absl::Status waited = s->Get("held", &v);
  g_step_seconds = 0;
  const absl::Duration took = Monotonic() - start;
  release.Notify();
  EXPECT_EQ(waited.code(), absl::StatusCode::kUnavailable) << waited;
  EXPECT_NE(waited.message().find(absl::StrCat("held by pid ", holder.pid(), " ")),
            absl::string_view::npos)
      << "the message must name the holder: " << waited;
  EXPECT_GE(took, kTimeout * 0.9) << "the wait ended early, at the wall clock's step";
  EXPECT_EQ(holder.Wait(), 0);
}

// The store-wide semaphore: its wait is not cut short by a wall clock that
// jumps forward between reads.
TEST(LockClock, SemaphoreWaitIgnoresAWallClockStep) {
  ScopedStore store;
  Options o = SmallOptions();
  o.lock_timeout = kTimeout;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  const int sem_id = info.sem_id;
  PipeEvent holding, release;
  ChildProcess holder([&] {
    if (!platform::SemLock(sem_id, absl::Seconds(5)).ok()) return 1;
    holding.Notify();
    release.WaitFor(absl::Seconds(20));
    platform::SemUnlock(sem_id);
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(20)));
  const absl::Duration start = Monotonic();
  g_reads = 0;
  g_step_each_read = true;
  g_step_seconds = 3600;
  absl::Status waited = Store::Open(store.name(), o, OpenMode::kAttach).status();
  g_step_seconds = 0;
  g_step_each_read = false;
  const absl::Duration took = Monotonic() - start;
  release.Notify();
  EXPECT_EQ(waited.code(), absl::StatusCode::kUnavailable) << waited;
  EXPECT_GE(took, kTimeout * 0.9) << "the wait ended early, at the wall clock's step";
  EXPECT_EQ(holder.Wait(), 0);
}

}  // namespace
}  // namespace shmkv
