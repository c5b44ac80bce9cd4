// The admin API (kv/admin.h): listing and probing segments without side
// effects, and destroying stores with the owner check.
#include "shmkv/admin.h"

#include <errno.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/internal/layout.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;

bool SemaphoreSetAt(key_t key) { return semget(key, 0, 0) >= 0 || errno != ENOENT; }

// A segment that is not a store, at `cleanup`'s key: the ScopedStore removes
// it at the end of the test. Returns its shm id, or -1.
int MakeSegment(const ScopedStore& cleanup, size_t bytes, int mode) {
  return shmget(cleanup.key(), bytes, IPC_CREAT | IPC_EXCL | mode);
}

// Writes the first fields of a shmkv header into segment `shm_id`.
bool WriteHeaderStart(int shm_id, uint64_t magic, uint32_t layout_version) {
  void* base = shmat(shm_id, nullptr, 0);
  if (base == reinterpret_cast<void*>(-1)) return false;
  internal::Header* h = static_cast<internal::Header*>(base);
  h->magic = magic;
  h->layout_version = layout_version;
  shmdt(base);
  return true;
}

const SegmentInfo* FindById(const std::vector<SegmentInfo>& list, int shm_id) {
  for (const SegmentInfo& s : list) {
    if (s.shm_id == shm_id) return &s;
  }
  return nullptr;
}

TEST(ProbeSegment, DescribesAStore) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_OK_AND_ASSIGN(SegmentInfo probe, ProbeSegment(store.name()));
  EXPECT_EQ(probe.kind, SegmentKind::kStore);
  EXPECT_EQ(probe.key, store.key());
  EXPECT_EQ(probe.shm_id, info.shm_id);
  EXPECT_EQ(probe.segment_bytes, info.segment_bytes);
  EXPECT_EQ(probe.layout_version, info.layout_version);
  EXPECT_EQ(probe.layout_version, SupportedLayoutVersion());
  EXPECT_EQ(probe.owner_uid, geteuid());
  EXPECT_EQ(probe.creator_uid, geteuid());
  EXPECT_EQ(probe.mode, 0600);
  EXPECT_EQ(probe.attached_processes, 1u);  // this test's attachment, not the probe's
  EXPECT_FALSE(probe.removed);
  EXPECT_EQ(probe.detail, "");
}

TEST(ProbeSegment, NothingAtTheKeyIsNotFound) {
  const StoreName name = testutil::UniqueStoreName();
  absl::StatusOr<SegmentInfo> probe = ProbeSegment(name);
  EXPECT_EQ(probe.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(probe.status().message()), HasSubstr(testutil::KeyHex(name.key())));
  EXPECT_FALSE(SemaphoreSetAt(name.key()));
}

TEST(ProbeSegment, ForeignSegmentIsNotAStoreAndIsLeftUntouched) {
  ScopedStore cleanup;
  const int shm_id = MakeSegment(cleanup, 8192, 0640);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);
  ASSERT_OK_AND_ASSIGN(SegmentInfo probe, ProbeSegment(cleanup.name()));
  EXPECT_EQ(probe.kind, SegmentKind::kNotStore);
  EXPECT_EQ(probe.shm_id, shm_id);
  EXPECT_EQ(probe.segment_bytes, 8192u);
  EXPECT_EQ(probe.mode, 0640);
  EXPECT_EQ(probe.attached_processes, 0u);
  EXPECT_NE(probe.detail, "");
  // Probing created no semaphore set and left the segment in place.
  EXPECT_FALSE(SemaphoreSetAt(cleanup.key()));
  EXPECT_EQ(shmget(cleanup.key(), 0, 0), shm_id);
}

TEST(ProbeSegment, MagicInASegmentTooSmallForAHeaderIsNotAStore) {
  ScopedStore cleanup;
  const int shm_id = MakeSegment(cleanup, internal::kHeaderRegionBytes - 8, 0600);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);
  ASSERT_TRUE(WriteHeaderStart(shm_id, internal::kMagic, SupportedLayoutVersion()));
  ASSERT_OK_AND_ASSIGN(SegmentInfo probe, ProbeSegment(cleanup.name()));
  EXPECT_EQ(probe.kind, SegmentKind::kNotStore);
}

TEST(ProbeSegment, ReportsTheHeadersLayoutVersion) {
  ScopedStore cleanup;
  const int shm_id = MakeSegment(cleanup, 2 * internal::kHeaderRegionBytes, 0600);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);
  const uint32_t other = SupportedLayoutVersion() + 7;
  ASSERT_TRUE(WriteHeaderStart(shm_id, internal::kMagic, other));
  ASSERT_OK_AND_ASSIGN(SegmentInfo probe, ProbeSegment(cleanup.name()));
  EXPECT_EQ(probe.kind, SegmentKind::kStore);
  EXPECT_EQ(probe.layout_version, other);
  // Opening it is what tells that this build cannot use it.
  Options o = SmallOptions();
  EXPECT_EQ(Store::Open(cleanup.name(), o, OpenMode::kAttach).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ListSegments, ShowsStoresAndOtherSegmentsSortedByKey) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ScopedStore cleanup;
  const int foreign_id = MakeSegment(cleanup, 8192, 0600);
  ASSERT_GE(foreign_id, 0) << std::strerror(errno);
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());

  ASSERT_OK_AND_ASSIGN(std::vector<SegmentInfo> list, ListSegments());
  const SegmentInfo* listed_store = FindById(list, info.shm_id);
  ASSERT_NE(listed_store, nullptr);
  EXPECT_EQ(listed_store->kind, SegmentKind::kStore);
  EXPECT_EQ(listed_store->key, store.key());
  EXPECT_EQ(listed_store->segment_bytes, info.segment_bytes);
  EXPECT_EQ(listed_store->creator_uid, geteuid());
  EXPECT_EQ(listed_store->layout_version, SupportedLayoutVersion());
  const SegmentInfo* listed_foreign = FindById(list, foreign_id);
  ASSERT_NE(listed_foreign, nullptr);
  EXPECT_EQ(listed_foreign->kind, SegmentKind::kNotStore);
  EXPECT_EQ(listed_foreign->key, cleanup.key());
  for (size_t i = 1; i < list.size(); ++i) {
    const uint32_t a = static_cast<uint32_t>(list[i - 1].key);
    const uint32_t b = static_cast<uint32_t>(list[i].key);
    EXPECT_TRUE(a < b || (a == b && list[i - 1].shm_id < list[i].shm_id))
        << "entries " << i - 1 << " and " << i << " out of order";
  }
  EXPECT_FALSE(SemaphoreSetAt(cleanup.key()));
}

TEST(ListSegments, SegmentRemovedWhileAttachedIsPrivate) {
  ScopedStore cleanup;
  const int shm_id = MakeSegment(cleanup, 8192, 0600);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);
  void* base = shmat(shm_id, nullptr, 0);
  ASSERT_NE(base, reinterpret_cast<void*>(-1)) << std::strerror(errno);
  // After IPC_RMID the kernel keeps the segment for its attachments and
  // forgets its key.
  ASSERT_EQ(shmctl(shm_id, IPC_RMID, nullptr), 0) << std::strerror(errno);
  absl::StatusOr<std::vector<SegmentInfo>> list = ListSegments();
  const SegmentInfo* listed = list.ok() ? FindById(*list, shm_id) : nullptr;
  shmdt(base);
  ASSERT_OK(list);
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->kind, SegmentKind::kPrivate);
  EXPECT_EQ(listed->key, 0);
  EXPECT_TRUE(listed->removed);
  EXPECT_EQ(listed->attached_processes, 1u);
  EXPECT_NE(listed->detail, "");
}

// A store removed (ipcrm -m) while another process is attached has lost its
// key, but is still listed as a store, removed, with that attachment.
TEST(ListSegments, StoreRemovedWhileAnotherProcessIsAttachedIsAStore) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  store.Detach();  // before the fork: the child inherits no attachment
  const StoreName name = store.name();
  testutil::PipeEvent attached, release;
  testutil::ChildProcess user([&] {
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    attached.Notify();
    release.WaitFor(absl::Seconds(40));
    return 0;
  });
  ASSERT_TRUE(attached.WaitFor(absl::Seconds(20)));
  ASSERT_EQ(shmctl(info.shm_id, IPC_RMID, nullptr), 0) << std::strerror(errno);
  absl::StatusOr<std::vector<SegmentInfo>> list = ListSegments();
  const SegmentInfo* listed = list.ok() ? FindById(*list, info.shm_id) : nullptr;
  release.Notify();
  EXPECT_EQ(user.Wait(), 0);
  ASSERT_OK(list);
  ASSERT_NE(listed, nullptr);
  EXPECT_EQ(listed->kind, SegmentKind::kStore) << listed->detail;
  EXPECT_EQ(listed->key, 0);
  EXPECT_TRUE(listed->removed);
  EXPECT_EQ(listed->attached_processes, 1u);
  EXPECT_EQ(listed->layout_version, SupportedLayoutVersion());
  EXPECT_FALSE(listed->semaphore_missing);
}

TEST(DestroyStore, RemovesTheStoreAndCountsWhoIsStillAttached) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK_AND_ASSIGN(DestroyResult result, DestroyStore(store.name()));
  EXPECT_EQ(result.attached_processes, 1u);
  EXPECT_EQ(ProbeSegment(store.name()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(SemaphoreSetAt(store.key()));
  // The attachment learns that the store is gone instead of writing into it.
  EXPECT_EQ(store->Put("still", "here").code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<DestroyResult> again = DestroyStore(store.name());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("nothing to destroy"));
}

TEST(DestroyStore, LeavesASegmentThatIsNotAStoreAlone) {
  ScopedStore cleanup;
  const int shm_id = MakeSegment(cleanup, 8192, 0600);
  ASSERT_GE(shm_id, 0) << std::strerror(errno);
  DestroyOptions options;
  options.allow_foreign_owner = true;
  absl::StatusOr<DestroyResult> result = DestroyStore(cleanup.name(), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("not a shmkv store"));
  EXPECT_EQ(shmget(cleanup.key(), 0, 0), shm_id);
}

TEST(DestroyStore, AnotherUsersStoreNeedsAllowForeignOwner) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create a store as another uid";
  ScopedStore store;
  const StoreName name = store.name();
  const int status = testutil::RunInChild([&]() -> int {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) return 90;
    Options o = SmallOptions();
    o.mode = 0666;
    CHILD_CHECK_OK(Store::Open(name, o, OpenMode::kCreate), 1);
    return 0;
  });
  ASSERT_EQ(status, 0) << testutil::DescribeExit(status);

  ASSERT_OK_AND_ASSIGN(SegmentInfo probe, ProbeSegment(name));
  EXPECT_EQ(probe.owner_uid, kNobody);
  EXPECT_EQ(probe.creator_uid, kNobody);
  absl::StatusOr<DestroyResult> refused = DestroyStore(name);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("allow_foreign_owner"));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("uid 65534"));
  EXPECT_OK(ProbeSegment(name));  // still there

  DestroyOptions options;
  options.allow_foreign_owner = true;
  EXPECT_OK(DestroyStore(name, options));
  EXPECT_EQ(ProbeSegment(name).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(SemaphoreSetAt(name.key()));
}

TEST(ProbeSegment, StoreWhoseModeRefusesThisUserIsUnreadable) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another uid";
  ScopedStore store;  // 0600, root's
  ASSERT_OK(store.Open());
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  const StoreName name = store.name();
  const int shm_id = info.shm_id;
  const int status = testutil::RunInChild([&]() -> int {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) return 90;
    absl::StatusOr<SegmentInfo> probe = ProbeSegment(name);
    CHILD_CHECK_OK(probe, 1);
    CHILD_CHECK(probe->kind == SegmentKind::kUnreadable, 2);
    CHILD_CHECK(probe->owner_uid == 0 && probe->mode == 0600, 3);
    absl::StatusOr<std::vector<SegmentInfo>> list = ListSegments();
    CHILD_CHECK_OK(list, 4);
    const SegmentInfo* listed = FindById(*list, shm_id);
    CHILD_CHECK(listed != nullptr && listed->kind == SegmentKind::kUnreadable, 5);
    DestroyOptions options;
    options.allow_foreign_owner = true;
    CHILD_CHECK_CODE(DestroyStore(name, options), absl::StatusCode::kPermissionDenied, 6);
    return 0;
  });
  EXPECT_EQ(status, 0) << testutil::DescribeExit(status);
  EXPECT_OK(store->Put("survived", "yes"));
  EXPECT_OK(ProbeSegment(name));
}

}  // namespace
}  // namespace shmkv
