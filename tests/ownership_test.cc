// Who may open a store: the segment's and the semaphore set's creator uid
// decide, never an owner uid (which its owner may set to anyone); a store of
// another user is refused or left alone, and the mode decides who else may
// attach. Children drop to another uid as root.
#include <grp.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/platform/ipc.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::KeyHex;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uid_t kOtherUid = 65534;  // nobody

// In a forked child: become kOtherUid for good.
bool DropPrivileges() {
  return setgroups(0, nullptr) == 0 && setresgid(kOtherUid, kOtherUid, kOtherUid) == 0 &&
         setresuid(kOtherUid, kOtherUid, kOtherUid) == 0;
}

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
  EXPECT_EQ(GetOrDie(&**shared, "planted"), "by another user");
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
    CHILD_CHECK(GetOrDie(&**mine, "k") == "v", 5);
    CHILD_CHECK_OK((*mine)->Put("k2", "from another user"), 6);
    return 0;
  });
  ASSERT_EQ(rc, 0) << testutil::DescribeExit(rc);
  EXPECT_EQ(GetOrDie(&*store, "k"), "v");
  EXPECT_EQ(GetOrDie(&*store, "k2"), "from another user");
  EXPECT_OK(store->Put("k3", "still writable"));
  ASSERT_OK(store.Open(o, OpenMode::kAttach));
  EXPECT_EQ(GetOrDie(&*store, "k3"), "still writable");
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
    CHILD_CHECK(GetOrDie(&**s, "k") == "v", 3);
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
  EXPECT_EQ(GetOrDie(&**shared, "k2"), "v2");
}

TEST(StoreErrors, ModeRefusesOtherUsers) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another uid";
  constexpr uid_t kNobody = 65534;

  ScopedStore closed;  // 0600: only the owner
  ASSERT_OK(closed.Open());
  ASSERT_OK(closed->Put("secret", "v"));
  Options open_mode = SmallOptions();
  open_mode.mode = 0666;
  ScopedStore open;  // 0666, but created by root
  ASSERT_OK(open.Open(open_mode));
  ASSERT_OK(open->Put("shared", "v"));

  const StoreName closed_name = closed.name(), open_name = open.name();
  const int status = RunInChild([&]() -> int {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) return 90;
    Options o = SmallOptions();
    o.allow_foreign_owner = true;
    // The kernel refuses the 0600 segment to another uid.
    auto r = Store::Open(closed_name, o, OpenMode::kAttach);
    CHILD_CHECK_CODE(r, absl::StatusCode::kPermissionDenied, 1);
    const std::string msg(r.status().message());
    CHILD_CHECK(msg.find(KeyHex(closed_name.key())) != std::string::npos, 2);
    r = Store::Open(closed_name, o, OpenMode::kOpenOrCreate);
    CHILD_CHECK_CODE(r, absl::StatusCode::kPermissionDenied, 3);

    // A 0666 segment created by root is refused unless allow_foreign_owner.
    o.allow_foreign_owner = false;
    r = Store::Open(open_name, o, OpenMode::kAttach);
    CHILD_CHECK_CODE(r, absl::StatusCode::kPermissionDenied, 4);
    CHILD_CHECK(
        std::string(r.status().message()).find("allow_foreign_owner") != std::string::npos ||
            std::string(r.status().message()).find("uid") != std::string::npos,
        5);
    o.allow_foreign_owner = true;
    r = Store::Open(open_name, o, OpenMode::kAttach);
    CHILD_CHECK_OK(r, 6);
    std::string v;
    CHILD_CHECK_OK((*r)->Get("shared", &v), 7);
    CHILD_CHECK(v == "v", 8);
    CHILD_CHECK_OK((*r)->Put("from-nobody", "hi"), 9);
    // Destroy by a process that may not remove it.
    CHILD_CHECK_CODE(Store::Destroy(closed_name), absl::StatusCode::kPermissionDenied, 10);
    return 0;
  });
  EXPECT_EQ(status, 0) << testutil::DescribeExit(status);
  EXPECT_EQ(GetOrDie(open.get(), "from-nobody"), "hi");
  EXPECT_EQ(GetOrDie(closed.get(), "secret"), "v");
}

}  // namespace
}  // namespace shmkv
