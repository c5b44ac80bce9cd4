// An allocation that fails while the store holds a lock (std::bad_alloc:
// what a Python MemoryError or the C API's guard catches, the process living
// on) leaves no lock held: the exception leaves through a guard that
// releases it, and what the interrupted operation left half done is
// finished by the next holder. This binary makes a chosen allocation of the
// calling thread fail (tests/allocation_hook.h).
#include <pthread.h>

#include <cstdint>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/allocation_hook.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::ChildProcess;
using testutil::PipeEvent;
using testutil::RawSegment;
using testutil::ScopedStore;

Options OneStripe() { return testutil::StripedOptions(1, absl::Milliseconds(300)); }

// The calling thread's next allocation fails once this is set.
thread_local bool fail_next_allocation = false;

void FailNextAllocation() {
  if (!fail_next_allocation) return;
  fail_next_allocation = false;
  throw std::bad_alloc();
}

// Runs `fn` in a child with the child's next allocation failing; the child
// expects std::bad_alloc, signals `failed`, and stays alive (holding
// whatever it failed to release) until `done`.
int FailAllocationIn(const std::function<void()>& fn, PipeEvent* failed, PipeEvent* done) {
  bool threw = false;
  testutil::SetAllocationHook(&FailNextAllocation);
  fail_next_allocation = true;
  try {
    fn();
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  fail_next_allocation = false;
  CHILD_CHECK(threw, 1);
  failed->Notify();
  done->WaitFor(absl::Seconds(40));
  return 0;
}

// Check's first allocation is under its locks (a problem found in a
// stripe). Afterwards another process opens the store and uses the stripe
// at once, while the failed process still lives.
TEST(AllocationFailure, InCheckReleasesItsLocks) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  RawSegment raw(store.key());
  ASSERT_TRUE(raw.ok());
  // A problem Check reports, allocating its description. (The stripe is
  // empty, so that Check's first allocation is that one.)
  raw.stripe(0)->index_entries += 1;
  Store* s = store.get();
  PipeEvent failed, done;
  ChildProcess checker(
      [&] { return FailAllocationIn([&] { (void)s->Check(false); }, &failed, &done); });
  ASSERT_TRUE(failed.WaitFor(absl::Seconds(20)));
  absl::StatusOr<std::unique_ptr<Store>> other =
      Store::Open(store.name(), OneStripe(), OpenMode::kAttach);
  ASSERT_OK(other);
  std::string v;
  EXPECT_OK((*other)->Put("k", "w"));
  EXPECT_OK((*other)->Get("k", &v));
  done.Notify();
  EXPECT_EQ(checker.Wait(), 0);
}

// The same on a populated stripe: Check's first allocation under the lock
// is then the room it keeps for the live records it walks, and a failure of
// it must leave the process alive and the lock released.
TEST(AllocationFailure, InCheckOfAPopulatedStripeReleasesItsLocks) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  for (int i = 0; i < 100; ++i) ASSERT_OK(store->Put(absl::StrCat("key", i), "v"));
  Store* s = store.get();
  PipeEvent failed, done;
  ChildProcess checker(
      [&] { return FailAllocationIn([&] { (void)s->Check(false); }, &failed, &done); });
  ASSERT_TRUE(failed.WaitFor(absl::Seconds(20))) << "the checker died: the allocation crashed it";
  absl::StatusOr<std::unique_ptr<Store>> other =
      Store::Open(store.name(), OneStripe(), OpenMode::kAttach);
  ASSERT_OK(other);
  EXPECT_OK((*other)->Put("key0", "w"));
  ASSERT_OK_AND_ASSIGN(CheckReport report, (*other)->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
  done.Notify();
  EXPECT_EQ(checker.Wait(), 0);
}

// A locker that finds the previous holder dead rebuilds the stripe under
// the lock; a rebuild that allocates (here: its note about a log out of
// range) and fails must still release the lock, and the next holder
// finishes the rebuild.
TEST(AllocationFailure, InARebuildReleasesTheLockAndTheNextHolderRebuilds) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  ASSERT_OK(store->Put("k", "v"));
  const key_t key = store.key();
  ChildProcess dies_holding([&] {
    // Not detached before the exit: the kernel finds a dead thread's robust
    // mutexes through its mapping.
    auto* raw = new RawSegment(key);
    CHILD_CHECK(raw->ok(), 1);
    CHILD_CHECK(pthread_mutex_lock(&raw->stripe(0)->mutex) == 0, 2);
    raw->stripe(0)->read_version |= 1;  // as a holder does: readers take the lock
    // A head past the log's slice makes the rebuild report it, allocating.
    raw->stripe(0)->head = raw->stripe(0)->tail + (uint64_t{1} << 40);
    return 0;  // dies holding the lock
  });
  ASSERT_EQ(dies_holding.Wait(), 0);
  Store* s = store.get();
  PipeEvent failed, done;
  ChildProcess locker([&] {
    return FailAllocationIn(
        [&] {
          std::string v;
          (void)s->Get("k", &v);
        },
        &failed, &done);
  });
  ASSERT_TRUE(failed.WaitFor(absl::Seconds(20)));
  ASSERT_OK(store->Put("k", "after"));
  std::string v;
  EXPECT_OK(store->Get("k", &v));
  EXPECT_EQ(v, "after");
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
  done.Notify();
  EXPECT_EQ(locker.Wait(), 0);
}

}  // namespace
}  // namespace shmkv
