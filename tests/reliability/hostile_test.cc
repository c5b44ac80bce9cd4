// Bad inputs, limits and hostile situations not covered by the store
// suites: kernel limits, foreign or corrupt headers, another layout version,
// lock timeouts naming the holder, the segment or the semaphore set removed
// under live processes.
#include <sys/sem.h>
#include <sys/shm.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"
#include "kv/platform/ipc.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::ChildProcess;
using testutil::PipeEvent;
using testutil::RawSegment;
using testutil::ScopedStore;
using testutil::SmallOptions;

TEST(Limits, KernelRefusalNamesTheLimit) {
  // More than any host's shmall: the kernel refuses, and the error says which
  // setting to raise and its value.
  absl::StatusOr<int> id = platform::ShmCreate(testutil::UniqueKey(), uint64_t{1} << 60, 0600);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kResourceExhausted) << id.status();
  EXPECT_TRUE(absl::StrContains(id.status().message(), "kernel.shm")) << id.status();
}

TEST(Limits, CapacityOverTheLayoutLimit) {
  ScopedStore store;
  Options options = SmallOptions();
  options.capacity_bytes = uint64_t{64} << 30;
  absl::Status status = store.Open(options);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "32 GiB")) << status;
}

TEST(Hostile, OtherLayoutVersionIsRefused) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    raw.mutable_header()->layout_version = 99;
  }
  store.Detach();
  absl::StatusOr<std::unique_ptr<Store>> again =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(again.status().message(), "layout version 99")) << again.status();
}

TEST(Hostile, OtherAbiIsRefused) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    raw.mutable_header()->abi.mutex_size = 24;
  }
  store.Detach();
  absl::StatusOr<std::unique_ptr<Store>> again =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(again.status().message(), "ABI")) << again.status();
}

TEST(Hostile, CorruptHeaderIsDataLoss) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    raw.mutable_header()->max_value_size ^= 0x100;
  }
  store.Detach();
  absl::StatusOr<std::unique_ptr<Store>> again =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDataLoss) << again.status();
}

TEST(Hostile, ScribbledIndexIsReportedAndRepaired) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(store->Put(absl::StrCat("k", i), std::string(100, 'v')).ok());
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    internal::Header* h = raw.mutable_header();
    // Move every used index slot of k0's stripe one 8-byte unit off its
    // record (the slot's low bit is the low bit of the record's offset), so
    // each points into the middle of a record.
    const uint64_t stripe = internal::Hash64("k0", 2, h->hash_seed) & (h->stripe_count - 1);
    uint32_t* slots = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(h) + h->index_offset) +
                      stripe * h->slots_per_stripe;
    int scribbled = 0;
    for (uint32_t b = 0; b < h->slots_per_stripe; ++b) {
      if (slots[b] != 0) {
        slots[b] ^= 1;
        ++scribbled;
      }
    }
    ASSERT_GT(scribbled, 0) << "no index slot in use";
  }
  int data_loss = 0;
  std::string value;
  for (int i = 0; i < 200; ++i) {
    absl::Status s = store->Get(absl::StrCat("k", i), &value);
    if (s.code() == absl::StatusCode::kDataLoss)
      ++data_loss;
    else
      EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_GT(data_loss, 0);
  absl::StatusOr<CheckReport> report = store->Check(false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok);
  report = store->Check(true);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->repairs.empty());
  report = store->Check(false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << (report->problems.empty() ? "" : report->problems[0]);
  // The log was intact, so the rebuild brought every entry back.
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(store->Get(absl::StrCat("k", i), &value).ok()) << i;
}

TEST(Locks, TimeoutNamesTheHolder) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  ASSERT_TRUE(store->Put("held", "x").ok());
  PipeEvent holding;
  ChildProcess holder([&] {
    absl::StatusOr<std::unique_ptr<Store>> s =
        Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
    if (!s.ok()) return 1;
    (void)(*s)->View("held", [&](absl::string_view, const EntryMeta&) {
      holding.Notify();
      absl::SleepFor(absl::Seconds(3));
    });
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(10)));
  Options quick = SmallOptions();
  quick.lock_timeout = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<Store>> impatient =
      Store::Open(store.name(), quick, OpenMode::kAttach);
  ASSERT_TRUE(impatient.ok());
  std::string value;
  absl::Time start = absl::Now();
  absl::Status status = (*impatient)->Get("held", &value);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), absl::StrCat("pid ", holder.pid()))) << status;
  EXPECT_EQ(holder.Wait(), 0);
}

TEST(Removal, SegmentRemovedWhileAttachedFailsEveryOperation) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  ASSERT_TRUE(store->Put("before", "1").ok());
  ASSERT_TRUE(Store::Destroy(store.name()).ok());
  // The detached segment is marked destroyed: nothing pretends to work.
  std::string value;
  EXPECT_EQ(store->Put("after", "2").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->Get("before", &value).code(), absl::StatusCode::kFailedPrecondition);
  absl::Status cleared = store->Clear();
  EXPECT_EQ(cleared.code(), absl::StatusCode::kFailedPrecondition) << cleared;
  // New opens find no store.
  absl::StatusOr<std::unique_ptr<Store>> again =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound) << again.status();
}

TEST(Removal, SemaphoreRemovedUnderAWaiter) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  int sem_id = semget(store.key(), 0, 0);
  ASSERT_GE(sem_id, 0);
  // Hold the store-wide semaphore as another process would while it opens
  // or destroys the store.
  PipeEvent holding;
  ChildProcess holder([&] {
    if (!platform::SemLock(sem_id, absl::Seconds(5)).ok()) return 1;
    holding.Notify();
    absl::SleepFor(absl::Seconds(2));
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(10)));
  ChildProcess remover([&] {
    absl::SleepFor(absl::Milliseconds(300));
    return semctl(sem_id, 0, IPC_RMID) == 0 ? 0 : 1;
  });
  // The wait ends with the removal (EIDRM), said as such, not at its timeout.
  bool removed = false;
  const absl::Time start = absl::Now();
  absl::Status status = platform::SemLock(sem_id, absl::Seconds(5), &removed);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "removed")) << status;
  EXPECT_TRUE(removed);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_EQ(remover.Wait(), 0);
  holder.Wait();
  // The store's creator opens it again, with a new set.
  absl::StatusOr<std::unique_ptr<Store>> again =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  EXPECT_TRUE(again.ok()) << again.status();
}

}  // namespace
}  // namespace shmkv
