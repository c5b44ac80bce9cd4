// The store's promises on opening and its edge cases, one test or more
// each: who may open a store, single flight never writing stale data or
// leaving a lease behind, saturated expiry arithmetic, abandoned creations,
// geometry every opener accepts, the per-store hash seed, settings that
// differ on kOpenOrCreate, and the integrity check's counts and messages.
// Multi-process cases fork real processes; children report through their
// exit status.
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/internal/geometry.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"
#include "kv/platform/ipc.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SharedArray;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::TestRng;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kStartMs = int64_t{1700000000000};
constexpr uid_t kOtherUid = 65534;  // nobody

std::string Read(Store& store, absl::string_view key) {
  std::string v;
  absl::Status s = store.Get(key, &v);
  return s.ok() ? v : "<" + s.ToString() + ">";
}

// In a forked child: become kOtherUid for good.
bool DropPrivileges() {
  return setgroups(0, nullptr) == 0 && setresgid(kOtherUid, kOtherUid, kOtherUid) == 0 &&
         setresuid(kOtherUid, kOtherUid, kOtherUid) == 0;
}

// ------------------------------------------------------ who may open ---

// User B builds a valid store (mode 0666) at A's key and IPC_SETs its owner
// to A: the owner uid is forgeable, the creator uid is not.
TEST(Ownership, StoreWhoseOwnerWasSetToUsIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another uid";
  ScopedStore store;
  const StoreName name = store.name();
  const int rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    Options o = SmallOptions();
    o.mode = 0666;
    auto s = Store::Open(name, o, OpenMode::kCreate);
    CHILD_CHECK_OK(s, 2);
    CHILD_CHECK_OK((*s)->Put("planted", "by another user"), 3);
    shmid_ds ds;
    const int shm_id = shmget(name.key(), 0, 0);
    CHILD_CHECK(shm_id >= 0 && shmctl(shm_id, IPC_STAT, &ds) == 0, 4);
    ds.shm_perm.uid = 0;
    CHILD_CHECK(shmctl(shm_id, IPC_SET, &ds) == 0, 5);
    semid_ds sds;
    const int sem_id = semget(name.key(), 0, 0);
    CHILD_CHECK(sem_id >= 0 && semctl(sem_id, 0, IPC_STAT, &sds) == 0, 6);
    sds.sem_perm.uid = 0;
    CHILD_CHECK(semctl(sem_id, 0, IPC_SET, &sds) == 0, 7);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);

  for (OpenMode mode : {OpenMode::kOpenOrCreate, OpenMode::kAttach}) {
    auto refused = Store::Open(name, SmallOptions(), mode);
    ASSERT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
    EXPECT_THAT(std::string(refused.status().message()),
                AllOf(HasSubstr(absl::StrCat("uid ", kOtherUid)), HasSubstr("uid 0"),
                      HasSubstr("set Options::allow_foreign_owner"),
                      Not(HasSubstr("--allow-foreign-owner"))));
  }
  Options trusting = SmallOptions();
  trusting.allow_foreign_owner = true;
  auto shared = Store::Open(name, trusting, OpenMode::kAttach);
  ASSERT_OK(shared.status());
  EXPECT_EQ(Read(**shared, "planted"), "by another user");
}

// B squats only the semaphore set at A's key (and sets its owner to A):
// whoever created the set holds A's store-wide lock at will.
TEST(Ownership, SemaphoreSetSquattedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another uid";
  ScopedStore store;
  const key_t key = store.key();
  const int rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    bool created = false;
    auto sem = platform::SemOpenOrCreate(key, 0666, absl::Seconds(2), &created);
    CHILD_CHECK_OK(sem, 2);
    semid_ds sds;
    CHILD_CHECK(semctl(*sem, 0, IPC_STAT, &sds) == 0, 3);
    sds.sem_perm.uid = 0;
    CHILD_CHECK(semctl(*sem, 0, IPC_SET, &sds) == 0, 4);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  auto refused = Store::Open(store.name(), SmallOptions(), OpenMode::kOpenOrCreate);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("semaphore set"), HasSubstr(absl::StrCat("uid ", kOtherUid)),
                    HasSubstr("set Options::allow_foreign_owner"),
                    Not(HasSubstr("--allow-foreign-owner"))));
  // Refusing created nothing.
  EXPECT_LT(shmget(key, 0, 0), 0);
}

// B made a semaphore set at A's key and never initialised it (as a creator
// that died would leave it). Even root must not remove what another user
// made: creating there fails, names the owner, and the set stays.
TEST(Ownership, UninitialisedSemaphoreSetOfAnotherUserIsLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another uid";
  ScopedStore store;
  const key_t key = store.key();
  const int rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    CHILD_CHECK(semget(key, 1, IPC_CREAT | IPC_EXCL | 0666) >= 0, 2);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  const int sem_id = semget(key, 0, 0);
  ASSERT_GE(sem_id, 0);
  auto refused = Store::Open(store.name(), SmallOptions(), OpenMode::kCreate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr(absl::StrCat("uid ", kOtherUid)), HasSubstr("someone else's"),
                    HasSubstr(absl::StrCat("ipcrm -s ", sem_id))));
  EXPECT_EQ(semget(key, 0, 0), sem_id) << "another user's semaphore set was removed";
  EXPECT_LT(shmget(key, 0, 0), 0);
  EXPECT_EQ(semctl(sem_id, 0, IPC_RMID), 0);
}

// ------------------------------------------------------- single flight ---

// A write by another process while `compute` runs wins over the computed
// value; the computing caller still gets its own value back.
struct Interference {
  const char* name;
  // Runs in a child while the parent computes; returns the child's status.
  std::function<int(Store&)> write;
  std::string expected;  // what the store holds afterwards; "" = nothing
};

TEST(SingleFlight, AWriteDuringTheComputationIsNotOverwritten) {
  const std::vector<Interference> cases = {
      {"Put",
       [](Store& s) {
         CHILD_CHECK_OK(s.Put("k", "newer"), 1);
         return 0;
       },
       "newer"},
      {"Delete",
       [](Store& s) {
         CHILD_CHECK_CODE(s.Delete("k"), absl::StatusCode::kNotFound, 1);
         return 0;
       },
       ""},
      {"Add",
       [](Store& s) {
         CHILD_CHECK_OK(s.Add("k", "added"), 1);
         return 0;
       },
       "added"},
      {"Put then CompareAndSwap",
       [](Store& s) {
         uint64_t version = 0;
         CHILD_CHECK_OK(s.Put("k", "first", {}, &version), 1);
         CHILD_CHECK_OK(s.CompareAndSwap("k", version, "swapped"), 2);
         return 0;
       },
       "swapped"},
      {"Increment",
       [](Store& s) {
         CHILD_CHECK_OK(s.Increment("k", 5), 1);
         return 0;
       },
       "5"},
  };
  for (const Interference& c : cases) {
    SCOPED_TRACE(c.name);
    ScopedStore store;
    ASSERT_OK(store.Open());
    Store& s = *store;
    int child_rc = -1;
    absl::StatusOr<std::string> got = s.GetOrCompute("k", [&]() -> absl::StatusOr<std::string> {
      child_rc = RunInChild([&] { return c.write(s); });
      return std::string("stale");
    });
    ASSERT_EQ(child_rc, 0) << testutil::DescribeExit(child_rc);
    ASSERT_OK(got.status());
    EXPECT_EQ(*got, "stale");
    if (c.expected.empty()) {
      std::string v;
      EXPECT_TRUE(absl::IsNotFound(s.Get("k", &v))) << v;
    } else {
      EXPECT_EQ(Read(s, "k"), c.expected);
    }
  }
}

// A caller whose lease expired and was taken over must not overwrite its
// successor's value (nor its successor's lease).
TEST(SingleFlight, ExpiredLeaseDoesNotOverwriteItsSuccessor) {
  ScopedStore store;
  ManualClock clock(kStartMs);
  Options o = SmallOptions();
  o.clock = &clock;
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  GetOrComputeOptions g;
  g.lease_timeout = absl::Seconds(1);
  int child_rc = -1;
  absl::StatusOr<std::string> got = s.GetOrCompute(
      "k",
      [&]() -> absl::StatusOr<std::string> {
        clock.Advance(2000);  // our lease has expired
        child_rc = RunInChild([&] {
          auto r = s.GetOrCompute(
              "k", [] { return absl::StatusOr<std::string>("successor"); }, g);
          CHILD_CHECK_OK(r, 1);
          CHILD_CHECK(*r == "successor", 2);
          return 0;
        });
        return std::string("slow");
      },
      g);
  ASSERT_EQ(child_rc, 0) << testutil::DescribeExit(child_rc);
  ASSERT_OK(got.status());
  EXPECT_EQ(*got, "slow");
  EXPECT_EQ(Read(s, "k"), "successor");
}

// After a failed final store (or a throwing compute) the lease is gone: the
// next caller computes at once instead of waiting out the lease.
TEST(SingleFlight, LeaseIsReleasedWhenTheValueCannotBeStored) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  Store& s = *store;
  GetOrComputeOptions impatient;
  impatient.wait_timeout = absl::ZeroDuration();  // a left-over lease: DeadlineExceeded
  impatient.lease_timeout = absl::Hours(1);
  auto computes_again = [&](absl::string_view key) {
    auto again = s.GetOrCompute(
        key, [] { return absl::StatusOr<std::string>("fine"); }, impatient);
    EXPECT_OK(again.status());
    EXPECT_EQ(Read(s, key), "fine");
  };

  // A value over the store's maximum.
  auto big = s.GetOrCompute(
      "big", [] { return absl::StatusOr<std::string>(std::string(8192, 'x')); }, impatient);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted) << big.status();
  computes_again("big");

  // A bad TTL for the value: refused before computing, no lease taken.
  GetOrComputeOptions bad_ttl = impatient;
  bad_ttl.write.ttl = -absl::Seconds(1);
  bool computed = false;
  auto ttl = s.GetOrCompute(
      "ttl",
      [&] {
        computed = true;
        return absl::StatusOr<std::string>("v");
      },
      bad_ttl);
  EXPECT_EQ(ttl.status().code(), absl::StatusCode::kInvalidArgument) << ttl.status();
  EXPECT_FALSE(computed);
  computes_again("ttl");

  // A compute function that throws: no exception leaves the API.
  absl::StatusOr<std::string> thrown = absl::InternalError("not run");
  EXPECT_NO_THROW(thrown = s.GetOrCompute(
                      "throws",
                      []() -> absl::StatusOr<std::string> { throw std::runtime_error("boom"); },
                      impatient));
  EXPECT_EQ(thrown.status().code(), absl::StatusCode::kUnknown) << thrown.status();
  EXPECT_THAT(std::string(thrown.status().message()), HasSubstr("boom"));
  computes_again("throws");

  ASSERT_OK_AND_ASSIGN(StoreStats st, s.Stats());
  EXPECT_EQ(st.index_entries, st.items) << "a lease was left behind";
}

TEST(SingleFlight, LeaseIsReleasedWhenANoEvictStripeIsFull) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 64 << 10;
  o.lock_stripes = 1;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  const std::string value(4000, 'v');
  int stored = 0;
  while (s.Put(absl::StrCat("fill", stored), value).ok()) ++stored;
  ASSERT_GT(stored, 4);
  GetOrComputeOptions impatient;
  impatient.wait_timeout = absl::ZeroDuration();
  impatient.lease_timeout = absl::Hours(1);
  uint64_t leases_seen = 0;
  auto full = s.GetOrCompute(
      "late",
      [&] {
        auto st = s.Stats();
        if (st.ok()) leases_seen = st->index_entries - st->items;
        return absl::StatusOr<std::string>(value);
      },
      impatient);
  ASSERT_EQ(leases_seen, 1u) << "the lease itself did not fit; the test needs another fill";
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted) << full.status();
  // The lease is gone: the next caller is refused for room, not kept waiting.
  auto again = s.GetOrCompute(
      "late", [&] { return absl::StatusOr<std::string>(value); }, impatient);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kResourceExhausted) << again.status();
  ASSERT_OK_AND_ASSIGN(StoreStats st, s.Stats());
  EXPECT_EQ(st.index_entries, st.items) << "a lease was left behind";
}

// lease_timeout = InfiniteDuration must mean "never expires", not "born
// expired" (now + INT64_MAX overflowed).
TEST(SingleFlight, InfiniteLeaseTimeoutIsNotBornExpired) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  Store& s = *store;
  GetOrComputeOptions forever;
  forever.lease_timeout = absl::InfiniteDuration();
  bool inner_ran = false;
  absl::Status inner_status;
  auto outer = s.GetOrCompute(
      "k",
      [&]() -> absl::StatusOr<std::string> {
        // Our lease is live and we are alive: another caller must wait.
        GetOrComputeOptions no_wait;
        no_wait.wait_timeout = absl::ZeroDuration();
        auto inner = s.GetOrCompute(
            "k",
            [&] {
              inner_ran = true;
              return absl::StatusOr<std::string>("inner");
            },
            no_wait);
        inner_status = inner.status();
        return std::string("outer");
      },
      forever);
  ASSERT_OK(outer.status());
  EXPECT_FALSE(inner_ran) << "the infinite lease was taken over as expired";
  EXPECT_EQ(inner_status.code(), absl::StatusCode::kDeadlineExceeded) << inner_status;
  EXPECT_EQ(Read(s, "k"), "outer");
}

TEST(Expiry, HugeTtlsSaturateInsteadOfOverflowing) {
  ScopedStore store;
  ManualClock clock(kStartMs);
  Options o = SmallOptions();
  o.clock = &clock;
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  for (int shift : {53, 62}) {
    SCOPED_TRACE(absl::StrCat("TTL 2^", shift, " s"));
    const absl::Duration ttl = absl::Seconds(int64_t{1} << shift);
    const std::string key = absl::StrCat("k", shift);
    WriteOptions w;
    w.ttl = ttl;
    ASSERT_OK(s.Put(key, "v", w));
    std::string v;
    EntryMeta meta;
    ASSERT_OK(s.Get(key, &v, &meta));
    EXPECT_GT(meta.expires_at_ms, kStartMs);
    ASSERT_OK(s.Touch(key, ttl));
    EXPECT_OK(s.Get(key, &v));
    GetOrComputeOptions g;
    g.write.ttl = ttl;
    const std::string computed = absl::StrCat("c", shift);
    ASSERT_OK(s.GetOrCompute(
                   computed, [] { return absl::StatusOr<std::string>("x"); }, g)
                  .status());
    EXPECT_EQ(Read(s, computed), "x");
  }
  // The store's default TTL too.
  ScopedStore other;
  Options d = o;
  d.default_ttl = absl::Seconds(int64_t{1} << 62);
  ASSERT_OK(other.Open(d));
  ASSERT_OK(other->Put("k", "v"));
  EXPECT_EQ(Read(*other, "k"), "v");
}

// Options of a store every user may attach read-write (mode 0666).
Options WorldWritable() {
  Options o = SmallOptions();
  o.mode = 0666;
  return o;
}

// Trust rests on the segment's creator uid even when the semaphore set is
// genuinely ours: B (root here) builds a store at our key, removes its set
// and IPC_SETs the segment's owner to us; we make the set ourselves. Only
// the segment's own check (shm_perm.cuid) can refuse it now.
TEST(Ownership, SegmentOwnerSetToUsBesideOurOwnSemaphoreSetIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another uid";
  ScopedStore store;
  const StoreName name = store.name();
  ASSERT_OK(store.Open(WorldWritable(), OpenMode::kCreate));
  ASSERT_OK(store->Put("planted", "by root"));
  const int sem_id = semget(name.key(), 0, 0);
  ASSERT_GE(sem_id, 0);
  ASSERT_EQ(semctl(sem_id, 0, IPC_RMID), 0);
  const int shm_id = shmget(name.key(), 0, 0);
  shmid_ds ds;
  ASSERT_EQ(shmctl(shm_id, IPC_STAT, &ds), 0);
  ds.shm_perm.uid = kOtherUid;
  ASSERT_EQ(shmctl(shm_id, IPC_SET, &ds), 0);
  const int rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    bool created = false;
    auto sem = platform::SemOpenOrCreate(name.key(), 0600, absl::Seconds(2), &created);
    CHILD_CHECK_OK(sem, 2);
    CHILD_CHECK(created, 3);
    auto refused = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK(refused.status().code() == absl::StatusCode::kPermissionDenied, 4);
    CHILD_CHECK(absl::StrContains(refused.status().message(), "created by uid 0"), 5);
    CHILD_CHECK(absl::StrContains(refused.status().message(), "shm id"), 6);
    return 0;
  });
  EXPECT_EQ(rc, 0) << testutil::DescribeExit(rc);
}

// A user who may attach read-write (mode 0666) but may not remove the
// segment (not its owner, creator or root) is refused by Destroy before it
// writes anything: the store keeps working for everyone.
TEST(Ownership, DestroyByAUserWhoMayNotRemoveChangesNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another uid";
  ScopedStore store;
  const StoreName name = store.name();
  const Options o = WorldWritable();
  ASSERT_OK(store.Open(o, OpenMode::kCreate));
  ASSERT_OK(store->Put("k", "v"));
  const int rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    absl::Status refused = Store::Destroy(name);
    CHILD_CHECK(absl::IsPermissionDenied(refused), 2);
    CHILD_CHECK(absl::StrContains(refused.message(), "nothing was changed"), 3);
    Options trusting = SmallOptions();
    trusting.allow_foreign_owner = true;
    auto mine = Store::Open(name, trusting, OpenMode::kAttach);
    CHILD_CHECK_OK(mine, 4);
    CHILD_CHECK(Read(**mine, "k") == "v", 5);
    CHILD_CHECK_OK((*mine)->Put("k2", "from another user"), 6);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  EXPECT_EQ(Read(*store, "k"), "v");
  EXPECT_EQ(Read(*store, "k2"), "from another user");
  EXPECT_OK(store->Put("k3", "still writable"));
  ASSERT_OK(store.Open(o, OpenMode::kAttach));
  EXPECT_EQ(Read(*store, "k3"), "still writable");
}

// The owner (another uid) lost the store's semaphore set (ipcrm -s); root
// then lists the host and attaches as kvcli ls and info do. Root creates no
// set (one made by root would lock the owner out for good); the owner's
// next open recreates it with the segment's owner and mode.
TEST(Ownership, MissingSemaphoreSetIsNotRecreatedByAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run a child as another uid";
  ScopedStore store;
  const StoreName name = store.name();
  int rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    auto s = Store::Open(name, WorldWritable(), OpenMode::kCreate);
    CHILD_CHECK_OK(s, 2);
    CHILD_CHECK_OK((*s)->Put("k", "v"), 3);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  const int sem_id = semget(name.key(), 0, 0);
  ASSERT_GE(sem_id, 0);
  ASSERT_EQ(semctl(sem_id, 0, IPC_RMID), 0);

  Options reader = SmallOptions();
  reader.allow_foreign_owner = true;
  auto refused = Store::Open(name, reader, OpenMode::kAttach);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_THAT(
      std::string(refused.status().message()),
      AllOf(HasSubstr("no semaphore set"), HasSubstr(absl::StrCat("uid ", kOtherUid)),
            HasSubstr("open the store from a process of that user"), Not(HasSubstr("kvcli"))));
  EXPECT_LT(semget(name.key(), 0, 0), 0) << "an opener of another uid created the set";

  rc = RunInChild([&] {
    if (!DropPrivileges()) return 1;
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 2);
    CHILD_CHECK(Read(**s, "k") == "v", 3);
    CHILD_CHECK_OK((*s)->Put("k2", "v2"), 4);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  const int recreated = semget(name.key(), 0, 0);
  ASSERT_GE(recreated, 0);
  semid_ds ds;
  ASSERT_EQ(semctl(recreated, 0, IPC_STAT, &ds), 0);
  EXPECT_EQ(ds.sem_perm.cuid, kOtherUid);
  EXPECT_EQ(ds.sem_perm.uid, kOtherUid);
  EXPECT_EQ(ds.sem_perm.mode & 0777, 0666);
  // Root may use the store again (with allow_foreign_owner), as before.
  auto shared = Store::Open(name, reader, OpenMode::kAttach);
  ASSERT_OK(shared.status());
  EXPECT_EQ(Read(**shared, "k2"), "v2");
}

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
    EXPECT_EQ(Read(*store, "k"), "v");
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

// ------------------------------------------------------------ geometry ---

// The creator once chose the stripe count on the unrounded slice and then
// rounded the slice below 4 maximal records: every other opener refused it.
TEST(Geometry, TheCreatorsStoreIsAcceptedByASecondProcess) {
  ScopedStore store;
  Options o;
  o.capacity_bytes = 8421696;
  o.max_value_size = 1048588;
  ASSERT_OK(store.Open(o, OpenMode::kCreate));
  const StoreName name = store.name();
  const int rc = RunInChild([&] {
    CHILD_CHECK_OK(Store::Open(name, Options(), OpenMode::kAttach), 1);
    return 0;
  });
  EXPECT_EQ(rc, 0) << testutil::DescribeExit(rc);
}

Options RandomOptions(TestRng& rng, uint64_t max_capacity) {
  Options o;
  o.capacity_bytes = rng.Uniform<uint64_t>(1024, max_capacity);
  o.max_key_size = rng.Bernoulli(0.5) ? 4096 : rng.Uniform<size_t>(1, 4097);
  o.max_value_size =
      rng.Bernoulli(0.3) ? rng.Uniform<size_t>(0, 4096) : rng.Uniform<size_t>(0, size_t{2} << 20);
  o.lock_stripes = static_cast<uint32_t>(rng.Uniform<uint64_t>(1, 300));
  o.expected_items = rng.Bernoulli(0.5) ? 0 : rng.Uniform<size_t>(1, 200000);
  o.evict = rng.Bernoulli(0.5);
  o.default_ttl = absl::Milliseconds(rng.Uniform<int64_t>(0, 100000));
  return o;
}

std::string Describe(const Options& o) {
  return absl::StrCat("capacity_bytes=", o.capacity_bytes, " max_key_size=", o.max_key_size,
                      " max_value_size=", o.max_value_size, " lock_stripes=", o.lock_stripes,
                      " expected_items=", o.expected_items);
}

// Property: every geometry the planner gives passes the check every opener
// makes of a header.
TEST(Geometry, EveryPlannedGeometryPassesTheOpenersCheck) {
  TestRng rng(14);
  int planned_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    const Options o = RandomOptions(rng, uint64_t{1} << 34);
    absl::StatusOr<internal::Geometry> g = internal::PlanGeometry(o);
    if (!g.ok()) {
      ASSERT_NE(g.status().code(), absl::StatusCode::kInternal) << Describe(o) << g.status();
      continue;
    }
    ++planned_ok;
    internal::Header h{};
    internal::WriteGeometry(*g, &h);
    absl::StatusOr<internal::Geometry> read = internal::GeometryFromHeader(h, g->segment_bytes);
    ASSERT_OK(read.status()) << Describe(o);
  }
  EXPECT_GT(planned_ok, 10000);
}

// Property: every store Open creates, a second Open accepts.
TEST(Geometry, EveryStoreOpenCreatesASecondOpenAccepts) {
  TestRng rng(1414);
  int created = 0;
  for (int i = 0; i < 200 && created < 40; ++i) {
    const Options o = RandomOptions(rng, uint64_t{24} << 20);
    ScopedStore store;
    absl::Status made = store.Open(o, OpenMode::kCreate);
    if (absl::IsInvalidArgument(made) || absl::IsResourceExhausted(made)) continue;
    ASSERT_OK(made) << Describe(o);
    ++created;
    auto second = Store::Open(store.name(), Options(), OpenMode::kAttach);
    ASSERT_OK(second.status()) << Describe(o);
  }
  EXPECT_GE(created, 40);
}

// ---------------------------------------------------------- hash seed ---

// Keys crafted against the public, unseeded hash pile into one stripe; with
// a per-store seed they spread. (A no-evict store refuses a new key when
// its stripe's index is full, which makes the pile-up visible.)
TEST(HashSeed, KeysCraftedForTheUnseededHashDoNotPileUp) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = size_t{4} << 20;
  o.expected_items = 6400;
  o.lock_stripes = 64;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_EQ(info.lock_stripes, 64u);
  std::vector<std::string> crafted;
  for (int i = 0; crafted.size() < 400; ++i) {
    const std::string key = absl::StrCat("crafted:", i);
    if ((internal::Hash64(key.data(), key.size()) & 63) == 0) crafted.push_back(key);
  }
  for (const std::string& key : crafted) ASSERT_OK(store->Put(key, "v")) << key;
}

TEST(HashSeed, EachStoreGetsItsOwnSeed) {
  ScopedStore a, b;
  ASSERT_OK(a.Open());
  ASSERT_OK(b.Open());
  auto seed_of = [](key_t key) {
    const int id = shmget(key, 0, 0);
    void* p = shmat(id, nullptr, SHM_RDONLY);
    uint64_t seed = static_cast<const internal::Header*>(p)->hash_seed;
    shmdt(p);
    return seed;
  };
  EXPECT_NE(seed_of(a.key()), seed_of(b.key()));
}

// ----------------------------------------------------------- settings ---

TEST(Settings, OpenOrCreateReportsEveryDifferentSetting) {
  ScopedStore store;
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kCreate));
  Options other = SmallOptions();
  other.capacity_bytes = size_t{8} << 20;
  other.max_value_size = 2048;
  other.evict = false;
  other.default_ttl = absl::Seconds(60);
  other.lock_stripes = 4;
  auto attached = Store::Open(store.name(), other, OpenMode::kOpenOrCreate);
  ASSERT_OK(attached.status());
  ASSERT_OK_AND_ASSIGN(StoreInfo info, (*attached)->Info());
  const std::string warnings = absl::StrJoin(info.warnings, "\n");
  for (const char* setting :
       {"capacity", "max value size", "evict", "default TTL", "lock stripes"}) {
    EXPECT_THAT(warnings, HasSubstr(setting));
  }

  other.require_same_settings = true;
  auto strict = Store::Open(store.name(), other, OpenMode::kOpenOrCreate);
  ASSERT_EQ(strict.status().code(), absl::StatusCode::kFailedPrecondition) << strict.status();
  for (const char* setting :
       {"capacity", "max value size", "evict", "default TTL", "lock stripes"}) {
    EXPECT_THAT(std::string(strict.status().message()), HasSubstr(setting));
  }

  Options same = SmallOptions();
  same.require_same_settings = true;
  auto agreeing = Store::Open(store.name(), same, OpenMode::kOpenOrCreate);
  ASSERT_OK(agreeing.status());
  ASSERT_OK_AND_ASSIGN(StoreInfo quiet, (*agreeing)->Info());
  EXPECT_THAT(absl::StrJoin(quiet.warnings, "\n"), Not(HasSubstr("other settings")));
}

// --------------------------------------------------------- small ones ---

// entries_dropped counts entries, not stripes.
TEST(Check, EntriesDroppedCountsEntries) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 1 << 20;
  o.lock_stripes = 1;
  ASSERT_OK(store.Open(o));
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK(store->Put(absl::StrCat("k", i < 10 ? "0" : "", i), std::string(100, 'v')));
  }
  {
    const int id = shmget(store.key(), 0, 0);
    char* base = static_cast<char*>(shmat(id, nullptr, 0));
    ASSERT_NE(base, reinterpret_cast<char*>(-1));
    const auto* h = reinterpret_cast<const internal::Header*>(base);
    // Records of "kNN" with 100-byte values are 136 bytes, laid out from the
    // slice's start: make the 26th unreadable (a bad state byte).
    const uint64_t record = internal::RecordBytes(3, 100);
    char* entry = base + h->arena_offset + 25 * record;
    entry[offsetof(internal::EntryHeader, state)] = 0x11;
    shmdt(base);
  }
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(/*repair=*/true));
  EXPECT_FALSE(report.ok);
  // Repair keeps every record that verifies: only the damaged one goes.
  ASSERT_OK_AND_ASSIGN(uint64_t left, store->Size());
  EXPECT_EQ(left, 49u);
  EXPECT_EQ(report.entries_dropped, 1u);
}

// An evicting store that cannot make room (its index holds only leases of
// running computations) must not say that eviction is off.
TEST(Eviction, NoRoomMessageOfAnEvictingStoreIsTrue) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 1024;
  o.lock_stripes = 1;
  o.expected_items = 16;  // an index of 23 slots, 21 entries
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  absl::Status innermost;
  std::function<absl::StatusOr<std::string>(int)> level =
      [&](int depth) -> absl::StatusOr<std::string> {
    return s.GetOrCompute(absl::StrCat("lease", depth), [&]() -> absl::StatusOr<std::string> {
      if (depth < 40) {
        absl::StatusOr<std::string> inner = level(depth + 1);
        if (!inner.ok() && innermost.ok()) innermost = inner.status();
      }
      return std::string("x");
    });
  };
  (void)level(0);
  ASSERT_EQ(innermost.code(), absl::StatusCode::kResourceExhausted) << innermost;
  EXPECT_THAT(std::string(innermost.message()), Not(HasSubstr("eviction is off")));
  EXPECT_THAT(std::string(innermost.message()), HasSubstr("GetOrCompute"));
}

}  // namespace
}  // namespace shmkv
