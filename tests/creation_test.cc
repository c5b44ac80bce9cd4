// Creating a store: what a creator that died or stopped part way leaves
// (an empty or half-built segment, an uninitialised semaphore set) is
// replaced only when nobody can still be using it; an opener waits for the
// creator of a semaphore set to initialise it; a failed open removes what it
// made. Multi-process cases fork real processes; children report through
// their exit status.
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"
#include "kv/platform/ipc.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::ChildProcess;
using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::RawSegment;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SharedArray;
using ::shmkv::testutil::SmallOptions;
using ::testing::AllOf;
using ::testing::HasSubstr;

// ------------------------------------------------------------ creation ---

// What a creator killed between shmget and its first write leaves: an
// all-zero segment (and a semaphore set), nobody attached, creator gone.
void AbandonCreation(key_t key, uint64_t bytes) {
  const int rc = RunInChild([&] {
    bool created = false;
    auto sem = platform::SemOpenOrCreate(key, 0600, absl::Seconds(2), &created);
    CHILD_CHECK_OK(sem, 1);
    CHILD_CHECK_OK(platform::SemLock(*sem, absl::Seconds(2)), 2);
    CHILD_CHECK(shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600) >= 0, 3);
    return 0;  // dies holding the lock: SEM_UNDO releases it
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
}

TEST(Creation, AnEmptySegmentLeftByADeadCreatorIsReplaced) {
  ASSERT_OK_AND_ASSIGN(internal::Geometry planned, internal::PlanGeometry(SmallOptions()));
  for (OpenMode mode : {OpenMode::kCreate, OpenMode::kOpenOrCreate}) {
    SCOPED_TRACE(mode == OpenMode::kCreate ? "kCreate" : "kOpenOrCreate");
    ScopedStore store;
    AbandonCreation(store.key(), planned.segment_bytes);
    auto attach = Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
    EXPECT_THAT(std::string(attach.status().message()), HasSubstr("died before writing it"));
    ASSERT_OK(store.Open(SmallOptions(), mode));
    ASSERT_OK(store->Put("k", "v"));
    EXPECT_EQ(GetOrDie(&*store, "k"), "v");
  }
}

TEST(Creation, DestroyRemovesAnEmptySegmentLeftByADeadCreator) {
  ScopedStore store;
  AbandonCreation(store.key(), 3 * 4096);  // any size: the opener's options are unknown here
  ASSERT_OK(Store::Destroy(store.name()));
  EXPECT_LT(shmget(store.key(), 0, 0), 0);
  EXPECT_LT(semget(store.key(), 0, 0), 0);
}

TEST(Creation, AnEmptySegmentOfSomeoneAliveIsLeftAlone) {
  ASSERT_OK_AND_ASSIGN(internal::Geometry planned, internal::PlanGeometry(SmallOptions()));
  ScopedStore store;
  // Its creator (this process) is alive.
  const int id = shmget(store.key(), planned.segment_bytes, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(id, 0);
  auto open = Store::Open(store.name(), SmallOptions(), OpenMode::kOpenOrCreate);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kFailedPrecondition) << open.status();
  auto create = Store::Open(store.name(), SmallOptions(), OpenMode::kCreate);
  EXPECT_EQ(create.status().code(), absl::StatusCode::kAlreadyExists) << create.status();
  EXPECT_EQ(Store::Destroy(store.name()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(shmget(store.key(), 0, 0), id);
}

TEST(Creation, AnEmptySegmentOfAnotherSizeIsNotTakenForOurs) {
  ASSERT_OK_AND_ASSIGN(internal::Geometry planned, internal::PlanGeometry(SmallOptions()));
  ScopedStore store;
  AbandonCreation(store.key(), planned.segment_bytes + 4096);
  auto open = Store::Open(store.name(), SmallOptions(), OpenMode::kOpenOrCreate);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kFailedPrecondition) << open.status();
}

// An empty segment whose creator died is replaced only when nobody is
// attached: a live process still mapping it may be using it.
TEST(Creation, AnEmptySegmentSomeoneIsAttachedToIsLeftAlone) {
  ASSERT_OK_AND_ASSIGN(internal::Geometry planned, internal::PlanGeometry(SmallOptions()));
  ScopedStore store;
  AbandonCreation(store.key(), planned.segment_bytes);
  const int id = shmget(store.key(), 0, 0);
  ASSERT_GE(id, 0);
  PipeEvent attached, release;
  testutil::ChildProcess user([&]() -> int {
    CHILD_CHECK(shmat(id, nullptr, SHM_RDONLY) != reinterpret_cast<void*>(-1), 1);
    attached.Notify();
    return release.WaitFor(absl::Seconds(40)) ? 0 : 2;
  });
  ASSERT_TRUE(attached.WaitFor(absl::Seconds(20)));
  auto open = Store::Open(store.name(), SmallOptions(), OpenMode::kOpenOrCreate);
  EXPECT_EQ(open.status().code(), absl::StatusCode::kFailedPrecondition) << open.status();
  auto create = Store::Open(store.name(), SmallOptions(), OpenMode::kCreate);
  EXPECT_EQ(create.status().code(), absl::StatusCode::kAlreadyExists) << create.status();
  EXPECT_THAT(std::string(create.status().message()),
              AllOf(HasSubstr("attached"), HasSubstr(absl::StrCat("ipcrm -m ", id))));
  EXPECT_EQ(shmget(store.key(), 0, 0), id);
  release.Notify();
  EXPECT_EQ(user.Wait(), 0);
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kOpenOrCreate));
  EXPECT_NE(shmget(store.key(), 0, 0), id);
}

// Options that cannot be planned: the open fails with the planning error
// and touches nothing, however abandoned the segment at the key looks.
TEST(Creation, OptionsThatFailToPlanRemoveNothing) {
  ScopedStore store;
  AbandonCreation(store.key(), 5 * 4096);
  const int id = shmget(store.key(), 0, 0);
  ASSERT_GE(id, 0);
  Options bad = SmallOptions();
  bad.capacity_bytes = kMaxSegmentBytes * 2;
  ASSERT_FALSE(internal::PlanGeometry(bad).ok());
  auto open = Store::Open(store.name(), bad, OpenMode::kOpenOrCreate);
  EXPECT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), internal::PlanGeometry(bad).status().code()) << open.status();
  EXPECT_EQ(shmget(store.key(), 0, 0), id) << "the segment was removed";
}

// A creator stopped (SIGSTOP) at each step of creation keeps what it made:
// only a creator that is provably gone loses it. Step 1: the semaphore set
// exists, its creator pid recorded (SETVAL), not yet initialised.
TEST(Creation, AStoppedCreatorsSemaphoreSetIsNotRemoved) {
  ScopedStore store;
  const key_t key = store.key();
  SharedArray<int> created_id(1);
  PipeEvent made;
  testutil::ChildProcess creator([&]() -> int {
    const int id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    CHILD_CHECK(id >= 0, 1);
    CHILD_CHECK(semctl(id, 0, SETVAL, 0) == 0, 2);
    created_id[0] = id;
    made.Notify();
    raise(SIGSTOP);
    sembuf op = {0, 1, 0};
    CHILD_CHECK(semop(id, &op, 1) == 0, 3);  // fails if the set was removed
    return 0;
  });
  ASSERT_TRUE(made.WaitFor(absl::Seconds(20)));
  auto refused = Store::Open(store.name(), SmallOptions(), OpenMode::kOpenOrCreate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr(absl::StrCat("pid ", creator.pid())));
  EXPECT_EQ(semget(key, 0, 0), created_id[0]) << "a stopped creator's set was removed";
  EXPECT_LT(shmget(key, 0, 0), 0);
  creator.Kill(SIGCONT);
  EXPECT_EQ(creator.Wait(), 0);
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kOpenOrCreate));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  EXPECT_EQ(info.sem_id, created_id[0]);
}

// The same set whose creator died: provably abandoned, so it is replaced.
TEST(Creation, ADeadCreatorsUninitialisedSemaphoreSetIsReplaced) {
  ScopedStore store;
  const key_t key = store.key();
  const int rc = RunInChild([&] {
    const int id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    CHILD_CHECK(id >= 0, 1);
    CHILD_CHECK(semctl(id, 0, SETVAL, 0) == 0, 2);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kOpenOrCreate));
  ASSERT_OK(store->Put("k", "v"));
}

// A set whose creator recorded no pid (it stopped or died right after
// semget) cannot be told abandoned: it is left, and the message says how
// to remove it.
TEST(Creation, AnUninitialisedSemaphoreSetWithoutACreatorPidIsLeft) {
  ScopedStore store;
  const key_t key = store.key();
  const int id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(id, 0);
  auto refused = Store::Open(store.name(), SmallOptions(), OpenMode::kOpenOrCreate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr(absl::StrCat("ipcrm -s ", id)));
  EXPECT_EQ(semget(key, 0, 0), id);
  EXPECT_EQ(semctl(id, 0, IPC_RMID), 0);  // as the message says
}

// A semaphore set that keeps disappearing (each one removed while the
// opener waits for it, as by a store destroyed and re-created over and over)
// makes Open give up after the lock timeout, not loop for as long as it goes on.
// The churner runs real-time on the opener's CPU, so the opener, woken by a
// removal, runs only once the next set is there: it never wins the gap
// between two sets (and with it a set of its own), and only the deadline
// ends its loop.
TEST(Creation, OpenGivesUpOnASemaphoreSetThatKeepsDisappearing) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  store.Detach();
  const key_t key = store.key();
  cpu_set_t saved, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  SharedArray<int> stop(1);
  PipeEvent started, refused;
  testutil::ChildProcess churner([&]() -> int {
    const sched_param fifo = {1};
    if (sched_setscheduler(0, SCHED_FIFO, &fifo) != 0) {
      refused.Notify();
      return 0;
    }
    const absl::Time end = absl::Now() + absl::Seconds(8);
    bool notified = false;
    while (stop[0] == 0 && absl::Now() < end) {
      const int id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
      if (id < 0) {  // the store's set, or the opener's: remove it
        const int other = semget(key, 0, 0);
        if (other >= 0) semctl(other, 0, IPC_RMID);
        continue;
      }
      // Initialised (sem_otime set) and held (value 0) in one atomic semop,
      // so the opener never sees it free; then removed.
      sembuf up_down[2] = {{0, 1, 0}, {0, -1, 0}};
      if (semop(id, up_down, 2) == 0 && !notified) {
        started.Notify();
        notified = true;
      }
      absl::SleepFor(absl::Milliseconds(2));
      semctl(id, 0, IPC_RMID);
    }
    return 0;
  });
  if (refused.WaitFor(absl::Milliseconds(200))) {
    EXPECT_EQ(churner.Wait(), 0);
    sched_setaffinity(0, sizeof(saved), &saved);
    GTEST_SKIP() << "a real-time churner needs CAP_SYS_NICE";
  }
  ASSERT_TRUE(started.WaitFor(absl::Seconds(20)));
  Options o = SmallOptions();
  o.lock_timeout = absl::Milliseconds(500);
  const absl::Time t0 = absl::Now();
  auto opened = Store::Open(store.name(), o, OpenMode::kAttach);
  const absl::Duration took = absl::Now() - t0;
  stop[0] = 1;
  sched_setaffinity(0, sizeof(saved), &saved);
  EXPECT_EQ(churner.Wait(), 0);
  EXPECT_LT(took, absl::Seconds(2)) << "lock_timeout is 500ms";
  ASSERT_FALSE(opened.ok()) << "the opener took a set of its own";
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnavailable) << opened.status();
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("kept disappearing"));
}

// Step 2: a creator stopped while it builds the segment (magic written,
// not ready) and still attached. Its semaphore set was removed under it,
// so another opener gets the lock: it must not replace the segment.
TEST(Creation, AStoppedCreatorsHalfBuiltSegmentIsNotReplaced) {
  ScopedStore store;
  const StoreName name = store.name();
  SharedArray<int> shm_id(1);
  PipeEvent built;
  testutil::ChildProcess creator([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kCreate);
    CHILD_CHECK_OK(s, 1);
    absl::StatusOr<StoreInfo> info = (*s)->Info();
    CHILD_CHECK_OK(info, 2);
    shm_id[0] = info->shm_id;
    // As if stopped before kReady: take the flag back, lose the set.
    void* base = shmat(info->shm_id, nullptr, 0);
    CHILD_CHECK(base != reinterpret_cast<void*>(-1), 3);
    static_cast<internal::Header*>(base)->init_state = 0;
    CHILD_CHECK(semctl(info->sem_id, 0, IPC_RMID) == 0, 4);
    built.Notify();
    raise(SIGSTOP);
    return 0;
  });
  ASSERT_TRUE(built.WaitFor(absl::Seconds(20)));
  auto refused = Store::Open(name, SmallOptions(), OpenMode::kOpenOrCreate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("not fully built"));
  EXPECT_EQ(shmget(name.key(), 0, 0), shm_id[0]) << "a live creator's segment was replaced";
  creator.Kill(SIGKILL);
  creator.Wait();
  // Its creator gone and nobody attached: now it is abandoned.
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kOpenOrCreate));
  EXPECT_NE(shmget(name.key(), 0, 0), shm_id[0]);
}

// Catches an opener that does not wait for the creator of the semaphore set
// to initialise it (its first semop) and instead removes it as abandoned:
// the creator's set must survive and the open must use it. The creator
// delays its first semop by 200 ms; the open waits up to 2 s.
TEST(SemaphoreStartup, OpenWaitsForTheCreatorsFirstSemop) {
  ScopedStore store;
  const key_t key = store.key();
  SharedArray<int> created_id(1);
  PipeEvent created;
  ChildProcess creator([&]() -> int {
    const int id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    CHILD_CHECK(id >= 0, 1);
    created_id[0] = id;
    created.Notify();
    absl::SleepFor(absl::Milliseconds(200));  // the scenario: a slow creator
    sembuf op = {0, 1, 0};
    CHILD_CHECK(semop(id, &op, 1) == 0, 2);  // fails if the set was removed
    return 0;
  });
  ASSERT_TRUE(created.WaitFor(absl::Seconds(20)));
  ASSERT_OK(store.Open(testutil::SmallOptions(), OpenMode::kOpenOrCreate));
  EXPECT_EQ(creator.Wait(), 0);
  EXPECT_EQ(semget(key, 0, 0), created_id[0]) << "the creator's semaphore set was replaced";
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  EXPECT_EQ(info.sem_id, created_id[0]);
}

// Catches a failed Open leaving behind the semaphore set it created (test
// cleanup would otherwise remove it silently): a foreign segment at the key
// makes the open fail after it created the set.
TEST(FailedOpen, RemovesTheSemaphoreSetItCreated) {
  ScopedStore store;
  const key_t key = store.key();
  const int foreign = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(foreign, 0) << strerror(errno);
  ASSERT_LT(semget(key, 0, 0), 0);
  for (OpenMode mode : {OpenMode::kOpenOrCreate, OpenMode::kAttach}) {
    absl::Status opened = store.Open(testutil::SmallOptions(), mode);
    EXPECT_EQ(opened.code(), absl::StatusCode::kFailedPrecondition) << opened;
    errno = 0;
    EXPECT_LT(semget(key, 0, 0), 0) << "the failed open left its semaphore set behind";
    EXPECT_EQ(errno, ENOENT);
  }
  ASSERT_EQ(shmctl(foreign, IPC_RMID, nullptr), 0);
}

// Its creator died while building it (the creator must be gone and nobody
// attached: a live creator's half-built segment is left alone).
TEST(Creation, AbandonedHalfBuiltStoreIsReplaced) {
  ScopedStore store;
  const StoreName name = store.name();
  const int rc = testutil::RunInChild([&]() -> int {
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(name, SmallOptions(), OpenMode::kCreate);
    CHILD_CHECK_OK(s, 1);
    CHILD_CHECK_OK((*s)->Put("k", "v"), 2);
    RawSegment raw(name.key());
    CHILD_CHECK(raw.ok(), 3);
    raw.mutable_header()->init_state = 0;  // as if it died while building it
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  absl::StatusOr<std::unique_ptr<Store>> attach =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  EXPECT_EQ(attach.status().code(), absl::StatusCode::kFailedPrecondition) << attach.status();
  EXPECT_TRUE(absl::StrContains(attach.status().message(), "never fully initialised"));
  ASSERT_TRUE(store.Open(SmallOptions(), OpenMode::kOpenOrCreate).ok());
  std::string value;
  EXPECT_TRUE(absl::IsNotFound(store->Get("k", &value)));
  EXPECT_TRUE(store->Put("k", "new").ok());
}

}  // namespace
}  // namespace shmkv
