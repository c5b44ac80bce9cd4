// A scan chunk's work under its stripe lock allocates no memory: its copies
// go to room prepared before the lock (kv/internal/scan_chunk.h), so the
// lock is never held across malloc or a first touch of new heap pages. This
// binary counts (tests/allocation_hook.h) the allocations a walking thread
// makes between the scan hook's "lock taken" and "lock released" calls, and
// the entries each hold copied.
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kv/internal/scan_hook.h"
#include "shmkv/store.h"
#include "tests/allocation_hook.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::ScopedStore;

thread_local bool in_hold = false;
thread_local uint64_t allocations_in_holds = 0;
thread_local uint64_t holds = 0;
thread_local uint64_t most_entries_in_a_hold = 0;

void CountAllocation() {
  if (in_hold) ++allocations_in_holds;
}

void LockTaken() { in_hold = true; }
void LockReleased(const internal::ScanHold& hold) {
  in_hold = false;
  ++holds;
  if (hold.entries > most_entries_in_a_hold) most_entries_in_a_hold = hold.entries;
}

// Counts the holds and the allocations in them while it lives.
class HoldAllocations {
 public:
  HoldAllocations() {
    allocations_in_holds = 0;
    holds = 0;
    most_entries_in_a_hold = 0;
    testutil::SetAllocationHook(&CountAllocation);
    internal::SetScanHoldObserver(&LockReleased, &LockTaken);
  }
  ~HoldAllocations() {
    internal::SetScanHoldObserver(nullptr);
    testutil::SetAllocationHook(nullptr);
  }
};

constexpr int kKeys = 5000;

// A store of kKeys entries, with keys longer than std::string keeps inline
// (15 bytes) and values of 100 bytes: each copy into a std::string of its
// own would allocate.
class ScanLockAllocation : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o = testutil::SmallOptions();
    o.capacity_bytes = size_t{8} << 20;
    o.lock_stripes = 4;
    o.expected_items = 6000;
    ASSERT_OK(store_.Open(o));
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_OK(store_->Put(absl::StrCat("scan/key/", 1000000 + i), std::string(100, 'v')));
    }
  }
  // The walk ran in many holds (at most 64 home slots each), and none of
  // them allocated.
  static void ExpectHoldsAllocatedNothing() {
    EXPECT_GT(holds, uint64_t{kKeys} / 64);
    EXPECT_EQ(allocations_in_holds, 0u) << "over " << holds << " holds";
  }

  ScopedStore store_;
};

TEST_F(ScanLockAllocation, ScanPagesOfKeys) {
  HoldAllocations counting;
  uint64_t cursor = 0, keys = 0;
  do {
    absl::StatusOr<uint64_t> next = store_->Scan(
        cursor, 256, {}, [&](absl::string_view, absl::string_view, const EntryMeta&) { ++keys; });
    ASSERT_OK(next);
    cursor = *next;
  } while (cursor != 0);
  EXPECT_EQ(keys, uint64_t{kKeys});
  ExpectHoldsAllocatedNothing();
}

TEST_F(ScanLockAllocation, ForEachWithValues) {
  HoldAllocations counting;
  uint64_t keys = 0;
  ASSERT_OK(
      store_->ForEach("scan/", [&](absl::string_view, absl::string_view value, const EntryMeta&) {
        EXPECT_EQ(value, std::string(100, 'v'));
        ++keys;
        return true;
      }));
  EXPECT_EQ(keys, uint64_t{kKeys});
  ExpectHoldsAllocatedNothing();
}

TEST_F(ScanLockAllocation, DeletePrefix) {
  HoldAllocations counting;
  absl::StatusOr<uint64_t> removed = store_->DeletePrefix("scan/key/");
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, uint64_t{kKeys});
  ExpectHoldsAllocatedNothing();
}

// A walk without values copies none: over values of 64 KiB, its holds
// take more entries than those of a walk with values, which end once they
// have copied about 256 KiB, and the room prepared for keys alone never has
// to grow under the lock.
TEST(ScanLargeValues, WalkWithoutValuesCopiesNoValue) {
  constexpr size_t kValueBytes = size_t{64} << 10;
  constexpr int kBigEntries = 60;
  Options o = testutil::SmallOptions();
  o.capacity_bytes = size_t{16} << 20;
  o.max_value_size = kValueBytes;
  o.lock_stripes = 1;
  o.expected_items = 100;
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  for (int i = 0; i < kBigEntries; ++i) {
    ASSERT_OK(store->Put(absl::StrCat("big/", i), std::string(kValueBytes, 'v')));
  }
  uint64_t most_with_values = 0;
  {
    HoldAllocations counting;
    int keys = 0;
    ASSERT_OK(store->Walk({"", "", true},
                          [&](absl::string_view, absl::string_view value, const EntryMeta&) {
                            EXPECT_EQ(value.size(), kValueBytes);
                            ++keys;
                            return true;
                          }));
    EXPECT_EQ(keys, kBigEntries);
    most_with_values = most_entries_in_a_hold;
  }
  HoldAllocations counting;
  int keys = 0;
  ASSERT_OK(store->Walk({}, [&](absl::string_view, absl::string_view value, const EntryMeta& m) {
    EXPECT_TRUE(value.empty());
    EXPECT_EQ(m.value_size, kValueBytes);
    ++keys;
    return true;
  }));
  EXPECT_EQ(keys, kBigEntries);
  EXPECT_GT(most_entries_in_a_hold, 2 * most_with_values) << "over " << holds << " holds";
  EXPECT_EQ(allocations_in_holds, 0u) << "over " << holds << " holds";
}

}  // namespace
}  // namespace shmkv
