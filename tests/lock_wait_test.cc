// Options::lock_timeout is how long one holder may keep a stripe's lock, not
// how long a waiter may wait: glibc's mutexes are not fair, so a waiter can
// keep losing a lock that changes hands all the time. Such a waiter must wait
// on, and only a holder that keeps the lock for the whole timeout makes it
// fail (lock_clock_test has the stuck holder).
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::ChildProcess;
using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::RawSegment;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;

constexpr absl::Duration kTimeout = absl::Milliseconds(300);

// Pins the calling process to the first CPU it may use.
bool PinToFirstCpu() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return false;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  return false;
}

// A process takes the lock again and again, each hold short of the timeout,
// for four timeouts in all. The waiter shares its CPU under SCHED_IDLE, so a
// release that wakes it does not let it run before the hogger has taken the
// lock again: the waiter keeps losing (a waiter that fails on a timeout
// counted from the start of its wait fails here every time). It must still
// get the lock, not fail.
TEST(LockWait, ABusyLockIsNotAStuckOne) {
  ScopedStore store;
  Options o = SmallOptions();
  o.lock_timeout = kTimeout;
  ASSERT_OK(store.Open(o));
  ASSERT_OK(store->Put("hot", "v"));
  Store* s = store.get();
  PipeEvent holding;
  ChildProcess hogger([&] {
    if (!PinToFirstCpu()) return 2;
    const absl::Time end = absl::Now() + 4 * kTimeout;
    bool first = true;
    while (absl::Now() < end) {
      absl::Status viewed = s->View("hot", [&](absl::string_view, const EntryMeta&) {
        if (first) holding.Notify();
        first = false;
        absl::SleepFor(kTimeout / 6);
      });
      if (!viewed.ok()) return 1;
    }
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(20)));
  ChildProcess waiter([&] {
    struct sched_param idle = {};
    if (!PinToFirstCpu() || sched_setscheduler(0, SCHED_IDLE, &idle) != 0) return 2;
    std::string v;
    absl::Status got = s->Get("hot", &v);
    if (got.ok()) return 0;
    std::fprintf(stderr, "a waiter behind a lock that kept changing hands failed: %s\n",
                 got.ToString().c_str());
    return 1;
  });
  EXPECT_EQ(waiter.Wait(), 0);
  EXPECT_EQ(hogger.Wait(), 0) << "the hogging process's own waits failed";
}

Options OneStripe() {
  Options o = SmallOptions();
  o.lock_stripes = 1;
  o.lock_timeout = kTimeout;
  return o;
}

// A holder that keeps the lock while another process bumps the stripe's
// acquisition counter, as if the lock kept changing hands: the waiter's
// restarts are capped, and it fails within kMaxWaitTimeouts timeouts.
TEST(LockWait, EndsWhateverTheAcquisitionCounterDoes) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  ASSERT_OK(store->Put("hot", "v"));
  Store* s = store.get();
  PipeEvent holding, release;
  ChildProcess holder([&] {
    absl::Status viewed = s->View("hot", [&](absl::string_view, const EntryMeta&) {
      holding.Notify();
      release.WaitFor(absl::Seconds(40));
    });
    return viewed.ok() ? 0 : 1;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(20)));
  const key_t key = store.key();
  ChildProcess bumper([&] {
    RawSegment raw(key);
    CHILD_CHECK(raw.ok(), 1);
    for (;;) {
      __atomic_fetch_add(&raw.stripe(0)->acquisitions, 1, __ATOMIC_RELAXED);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  const absl::Time start = absl::Now();
  std::string v;
  const absl::Status got = s->Get("hot", &v);
  const absl::Duration waited = absl::Now() - start;
  release.Notify();
  EXPECT_EQ(got.code(), absl::StatusCode::kUnavailable) << got;
  EXPECT_TRUE(absl::StrContains(got.message(), "kept changing hands")) << got;
  EXPECT_GE(waited, 8 * kTimeout);
  EXPECT_LT(waited, 8 * kTimeout + absl::Seconds(2)) << "the wait was not capped";
  EXPECT_EQ(holder.Wait(), 0);
}

// A lock word that no lock operation wrote (a thread id that is not
// running, no holder recorded): the timeout says the lock word is invalid
// and what to do, not "held by pid 0 ... stop it".
TEST(LockWait, ForgedLockWordIsNamedAsSuch) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  ASSERT_OK(store->Put("k", "v"));
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_GT(gone, 0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  RawSegment raw(store.key());
  ASSERT_TRUE(raw.ok());
  pthread_mutex_t* mutex = &raw.stripe(0)->mutex;
  mutex->__data.__lock = static_cast<int>(gone);
  std::string v;
  const absl::Status got = store->Get("k", &v);
  mutex->__data.__lock = 0;
  EXPECT_EQ(got.code(), absl::StatusCode::kUnavailable) << got;
  EXPECT_TRUE(absl::StrContains(got.message(), "lock word is invalid")) << got;
  EXPECT_FALSE(absl::StrContains(got.message(), "stop it")) << got;
  EXPECT_OK(store->Get("k", &v));
}

}  // namespace
}  // namespace shmkv
