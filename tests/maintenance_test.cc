// Whole-store maintenance (Store::Check, Store::Clear) with other processes
// at work: it takes one stripe's lock at a time, so opening the store never
// waits for it, and a lock it cannot take stops it with that lock's own
// error (a destroy, an unusable mutex), never as damage to the stripes that
// follow.
#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::ChildProcess;
using testutil::PipeEvent;
using testutil::RawSegment;
using testutil::ScopedStore;

Options FourStripes() { return testutil::StripedOptions(4, absl::Seconds(20)); }

// Whether `pid` is asleep in the kernel (state S in /proc/PID/stat).
bool Sleeping(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'S';
}

// Waits until `pid` sleeps (here: in a lock wait), up to 20 s.
bool WaitUntilSleeping(pid_t pid) {
  const absl::Time end = absl::Now() + absl::Seconds(20);
  while (absl::Now() < end) {
    if (Sleeping(pid)) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

// A store of four stripes, one of whose locks a child holds (inside a
// View callback) until the test ends or calls Release().
class HeldStripe {
 public:
  HeldStripe() {
    if (store_.Open(FourStripes()).ok() && store_->Put("held", "v").ok()) {
      Store* s = store_.get();
      holder_ = std::make_unique<ChildProcess>([this, s] {
        absl::Status viewed = s->View("held", [&](absl::string_view, const EntryMeta&) {
          holding_.Notify();
          release_.WaitFor(absl::Seconds(40));
        });
        CHILD_CHECK_OK(viewed, 1);
        return 0;
      });
      held_ = holding_.WaitFor(absl::Seconds(20));
    }
  }
  bool held() const { return held_; }
  ScopedStore& store() { return store_; }
  // Lets the holder go; true if it ended well.
  bool Release() {
    release_.Notify();
    return holder_->Wait() == 0;
  }

 private:
  ScopedStore store_;
  PipeEvent holding_, release_;
  std::unique_ptr<ChildProcess> holder_;
  bool held_ = false;
};

enum class Maintenance { kCheck, kRepair, kClear };

absl::Status RunMaintenance(Store* store, Maintenance what) {
  switch (what) {
    case Maintenance::kCheck:
      return testutil::ToStatus(store->Check(false));
    case Maintenance::kRepair:
      return testutil::ToStatus(store->Check(true));
    case Maintenance::kClear:
      return store->Clear();
  }
  return absl::OkStatus();
}

class OpenDuringMaintenance : public ::testing::TestWithParam<Maintenance> {};

// A check (or flush) waiting on a busy stripe, as one of a big store does
// for a long time, must not keep new processes from opening the store (nor
// from using the stripes it is not in).
TEST_P(OpenDuringMaintenance, OpensAtOnce) {
  HeldStripe held;
  ASSERT_TRUE(held.held());
  ScopedStore& store = held.store();
  Store* s = store.get();
  const Maintenance what = GetParam();
  ChildProcess maintainer([&] {
    CHILD_CHECK_OK(RunMaintenance(s, what), 1);
    return 0;
  });
  // Asleep: waiting for the held stripe, part-way through its walk.
  ASSERT_TRUE(WaitUntilSleeping(maintainer.pid()));
  const StoreName name = store.name();
  ChildProcess opener([&] {
    Options o = FourStripes();
    o.lock_timeout = absl::Milliseconds(300);
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(name, o, OpenMode::kAttach);
    CHILD_CHECK_OK(opened, 1);
    CHILD_CHECK(absl::Now() - start < absl::Seconds(2), 2);
    return 0;
  });
  EXPECT_EQ(opener.Wait(), 0) << "a process could not open the store while maintenance ran";
  EXPECT_TRUE(held.Release());
  EXPECT_EQ(maintainer.Wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(CheckRepairFlush, OpenDuringMaintenance,
                         ::testing::Values(Maintenance::kCheck, Maintenance::kRepair,
                                           Maintenance::kClear));

// A destroy while a check waits on a stripe: the check fails with the
// destroyed-store error (as any call would), not with a "problem" for each
// stripe it had not reached.
TEST(CheckStops, AtADestroyWithTheDestroyedError) {
  HeldStripe held;
  ASSERT_TRUE(held.held());
  ScopedStore& store = held.store();
  Store* s = store.get();
  ChildProcess checker([&] {
    absl::StatusOr<CheckReport> report = s->Check(false);
    if (report.ok()) {
      std::fprintf(stderr, "check of a destroyed store passed with %zu problems: %s\n",
                   report->problems.size(),
                   report->problems.empty() ? "" : report->problems[0].c_str());
      return 1;
    }
    std::string v;
    const absl::Status after = s->Get("held", &v);
    CHILD_CHECK_CODE(report, after.code(), 2);
    CHILD_CHECK(absl::StrContains(report.status().message(), "destroyed"), 3);
    return 0;
  });
  ASSERT_TRUE(WaitUntilSleeping(checker.pid()));
  (void)Store::Destroy(store.name());
  EXPECT_TRUE(held.Release());
  EXPECT_EQ(checker.Wait(), 0);
}

// A mutex pthread refuses (its kind overwritten) stops the check with
// DataLoss naming that stripe, instead of a report of every stripe left.
TEST(CheckStops, AtAnUnusableMutexWithItsError) {
  ScopedStore store;
  ASSERT_OK(store.Open(FourStripes()));
  RawSegment raw(store.key());
  ASSERT_TRUE(raw.ok());
  pthread_mutex_t* mutex = &raw.stripe(1)->mutex;
  pthread_mutex_t saved;
  std::memcpy(&saved, mutex, sizeof(saved));
  mutex->__data.__kind = 0x7f;  // no kind glibc knows
  absl::StatusOr<CheckReport> report = store->Check(false);
  std::memcpy(mutex, &saved, sizeof(saved));
  ASSERT_FALSE(report.ok()) << "the check passed with " << report->problems.size() << " problems";
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss) << report.status();
  EXPECT_TRUE(absl::StrContains(report.status().message(), "check stopped at stripe 1 of 4"))
      << report.status();
}

}  // namespace
}  // namespace shmkv
