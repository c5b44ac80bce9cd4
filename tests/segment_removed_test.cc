// A segment removed from under its users (ipcrm -M, or another program's
// IPC_RMID): the attached processes find out within a bounded time and
// their calls fail from then on, instead of reporting success for writes
// into a copy nobody will open again. Info reports the removal.
#include <sys/ipc.h>
#include <sys/shm.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::RunInChild;
using testutil::ScopedStore;

TEST(SegmentRemoved, CallsFailWithinABoundedTime) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  EXPECT_FALSE(info.removed);
  const int shm_id = info.shm_id;
  // Another process removes the segment, as ipcrm -M does.
  ASSERT_EQ(RunInChild([&] { return shmctl(shm_id, IPC_RMID, nullptr) == 0 ? 0 : 1; }), 0);
  const absl::Time removed_at = absl::Now();
  absl::Status put;
  while ((put = store->Put("k", "lost")).ok() && absl::Now() - removed_at < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Duration noticed = absl::Now() - removed_at;
  EXPECT_EQ(put.code(), absl::StatusCode::kFailedPrecondition) << put;
  EXPECT_TRUE(absl::StrContains(put.message(), "was removed")) << put;
  EXPECT_LT(noticed, absl::Seconds(1)) << "the removal went unnoticed";
  // From then on every call fails, reads too, and Stats; Info says why.
  std::string v;
  EXPECT_EQ(store->Get("k", &v).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Stats().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Size().status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(StoreInfo after, store->Info());
  EXPECT_TRUE(after.removed);
  // A new store at the name is a new, empty one.
  store.Detach();
  ASSERT_OK(store.Open());
  EXPECT_EQ(store->Get("k", &v).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace shmkv
