// A walk maps a stripe's log pages into its process before taking the
// stripe's lock, and a later walk maps in the pages other processes have
// written since, so that reading them under the lock takes no page fault
// (a fault costs microseconds, tens on a busy VM, while every writer of the
// stripe waits). The scan hook reports each hold's minor faults.
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kv/internal/scan_hook.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::ScopedStore;

uint64_t faults_in_holds = 0;

void CountFaults(const internal::ScanHold& hold) { faults_in_holds += hold.minor_faults; }

// The minor faults taken while holding a lock in one walk of every entry.
uint64_t FaultsInAWalk(Store& store) {
  faults_in_holds = 0;
  internal::SetScanHoldObserver(&CountFaults);
  uint64_t entries = 0;
  absl::Status walked =
      store.ForEach("", [&](absl::string_view, absl::string_view, const EntryMeta&) {
        ++entries;
        return true;
      });
  internal::SetScanHoldObserver(nullptr);
  EXPECT_OK(walked);
  EXPECT_GT(entries, 0u);
  return faults_in_holds;
}

TEST(ScanMapIn, PagesWrittenByAnotherProcessSinceTheLastWalkAreMappedInBeforeTheLock) {
  Options o = testutil::SmallOptions();
  o.capacity_bytes = size_t{32} << 20;
  o.lock_stripes = 4;
  o.expected_items = 8000;
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  for (int i = 0; i < 100; ++i) ASSERT_OK(store->Put(absl::StrCat("before/", i), "v"));
  FaultsInAWalk(*store);  // maps in what the log holds now

  // Another process writes about 4 MiB of new records: pages this process
  // has never touched, so each first read of one here would fault.
  constexpr int kNewEntries = 4000;
  constexpr size_t kValueBytes = 1000;
  const int child = testutil::RunInChild([&] {
    absl::StatusOr<std::unique_ptr<Store>> other = Store::Open(store.name(), o, OpenMode::kAttach);
    if (!other.ok()) return 1;
    for (int i = 0; i < kNewEntries; ++i) {
      if (!(*other)->Put(absl::StrCat("after/", i), std::string(kValueBytes, 'w')).ok()) return 2;
    }
    return 0;
  });
  ASSERT_EQ(child, 0) << testutil::DescribeExit(child);

  // Walking them once more maps them in first. (Under AddressSanitizer its
  // shadow of those pages, an eighth of their size, may still fault.)
  const uint64_t new_pages = kNewEntries * kValueBytes / 4096;
  const uint64_t faults = FaultsInAWalk(*store);
  EXPECT_LT(faults, new_pages / 4) << "of about " << new_pages << " new pages";
}

}  // namespace
}  // namespace shmkv
