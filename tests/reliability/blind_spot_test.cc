// Tests for bugs that a mutation audit (tools/mutate.sh) found the rest of
// the suite blind to: each test names the mistake in kv/ it catches. They
// read and write the segment raw where a bug is only visible there.
#include <errno.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"
#include "kv/internal/segment_store.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using internal::EntryHeader;
using internal::Geometry;
using internal::IndexSlot;
using internal::RecordBytes;
using testutil::ChildProcess;
using testutil::MakeValue;
using testutil::PipeEvent;
using testutil::RawSegment;
using testutil::ScopedStore;
using testutil::SharedArray;

constexpr int64_t kStartMs = int64_t{1700000000000};

Options OneStripe() {
  Options o = testutil::SmallOptions();
  o.lock_stripes = 1;
  o.max_key_size = 64;
  return o;
}

// ------------------------------------------------------ record bounds ---

// A store image in private memory whose last slice ends exactly where a
// PROT_NONE page begins, so any read past the end of the arena faults
// (under ASan too: the image is not a heap block).
class GuardedImage {
 public:
  GuardedImage() {
    options_.capacity_bytes = 64 << 10;
    options_.max_key_size = 64;
    options_.max_value_size = 1024;
    options_.lock_stripes = 4;
    geometry_ = *internal::PlanGeometry(options_);
    const uint64_t arena_end =
        geometry_.arena_offset + uint64_t{geometry_.stripe_count} * geometry_.stripe_arena_bytes;
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    usable_ = (arena_end + page - 1) / page * page;
    bytes_ = usable_ + page;
    map_ = static_cast<char*>(
        mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      return;
    }
    char* guard = map_ + usable_;
    if (mprotect(guard, page, PROT_NONE) != 0) return;
    base_ = guard - arena_end;  // a multiple of 64 below a page boundary
    internal::CreatorRecord creator;
    creator.key = 0x1234;
    if (!internal::InitializeImage(base_, geometry_, creator).ok()) base_ = nullptr;
  }
  ~GuardedImage() {
    store_.reset();
    if (map_ != nullptr) munmap(map_, bytes_);
  }
  GuardedImage(const GuardedImage&) = delete;
  GuardedImage& operator=(const GuardedImage&) = delete;

  bool ok() const { return base_ != nullptr; }
  Store* store() {
    if (store_ == nullptr) {
      store_ =
          std::make_unique<internal::SegmentStore>(base_, geometry_, -1, -1, options_, nullptr);
    }
    return store_.get();
  }
  uint32_t last_stripe() const { return geometry_.stripe_count - 1; }
  uint64_t slice_bytes() const { return geometry_.stripe_arena_bytes; }
  IndexSlot* slots(uint32_t stripe) {
    return reinterpret_cast<IndexSlot*>(base_ + geometry_.index_offset) +
           uint64_t{stripe} * geometry_.slots_per_stripe;
  }
  uint32_t slot_count() const { return geometry_.slots_per_stripe; }
  char* slice(uint32_t stripe) {
    return base_ + geometry_.arena_offset + uint64_t{stripe} * geometry_.stripe_arena_bytes;
  }
  // The mask of a slot's offset bits.
  uint32_t ref_mask() const {
    return static_cast<uint32_t>(
        (uint64_t{1} << internal::IndexRefBits(geometry_.stripe_arena_bytes)) - 1);
  }

 private:
  Options options_;
  Geometry geometry_;
  char* map_ = nullptr;
  char* base_ = nullptr;
  size_t usable_ = 0, bytes_ = 0;
  std::unique_ptr<internal::SegmentStore> store_;
};

// Points every used slot of the last stripe at `offset` of its slice (keeping
// each slot's tag, so lookups of its key do read that record); returns how
// many it changed.
int PointLastStripeAt(GuardedImage* image, uint64_t offset) {
  IndexSlot* slots = image->slots(image->last_stripe());
  int changed = 0;
  for (uint32_t i = 0; i < image->slot_count(); ++i) {
    if (slots[i] == 0) continue;
    slots[i] =
        (slots[i] & ~image->ref_mask()) | static_cast<uint32_t>(offset / internal::kUnit + 1);
    ++changed;
  }
  return changed;
}

// Gets, ForEach and Check over a last stripe whose slots point at a record
// that would run past the end of the slice: DataLoss, never a read past it.
void ExpectBadRecordsRefused(GuardedImage* image, int keys) {
  std::string value;
  int data_loss = 0;
  for (int i = 0; i < keys; ++i) {
    absl::Status s = image->store()->Get(absl::StrCat("k", i), &value);
    if (s.code() == absl::StatusCode::kDataLoss) {
      ++data_loss;
    } else {
      EXPECT_TRUE(s.ok()) << s;
    }
  }
  EXPECT_GT(data_loss, 0);
  absl::Status each = image->store()->ForEach(
      "", [](absl::string_view, absl::string_view, const EntryMeta&) { return true; });
  EXPECT_EQ(each.code(), absl::StatusCode::kDataLoss) << each;
  ASSERT_OK_AND_ASSIGN(CheckReport report, image->store()->Check(false));
  EXPECT_FALSE(report.ok);
}

// Catches Resolve accepting a slot whose record header starts inside the
// slice but ends past it (`offset >= size` for `offset + header > size`).
TEST(RecordBounds, HeaderRunningPastTheSliceIsDataLoss) {
  GuardedImage image;
  ASSERT_TRUE(image.ok());
  constexpr int kKeys = 120;
  for (int i = 0; i < kKeys; ++i) ASSERT_OK(image.store()->Put(absl::StrCat("k", i), "value"));
  // The last 8 bytes of the slice: a header there would end 20 bytes into
  // the guard page.
  ASSERT_GT(PointLastStripeAt(&image, image.slice_bytes() - internal::kUnit), 0);
  ExpectBadRecordsRefused(&image, kKeys);
}

// Catches Resolve checking a record's sizes against the whole slice instead
// of the bytes left after its offset.
TEST(RecordBounds, RecordRunningPastTheSliceIsDataLoss) {
  GuardedImage image;
  ASSERT_TRUE(image.ok());
  constexpr int kKeys = 120;
  for (int i = 0; i < kKeys; ++i) ASSERT_OK(image.store()->Put(absl::StrCat("k", i), "value"));
  // A sane-looking live header 32 bytes before the slice's end, whose value
  // runs 100 bytes on.
  const uint64_t offset = image.slice_bytes() - 32;
  EntryHeader fake{};
  fake.version = 1;
  fake.key_size = 2;
  fake.value_size = 100;
  fake.state = internal::kLive;
  std::memcpy(image.slice(image.last_stripe()) + offset, &fake, sizeof(fake));
  ASSERT_GT(PointLastStripeAt(&image, offset), 0);
  ExpectBadRecordsRefused(&image, kKeys);
}

// ------------------------------------------------------------------ TTL ---

// Catches `expires_at_ms < now` for `<=` where a read decides: an entry
// written with a TTL of 5 s is gone 5000 ms later, not 5001.
TEST(TtlBoundary, ReadAtExactlyTheExpiryIsNotFound) {
  ManualClock clock(kStartMs);
  Options o = OneStripe();
  o.clock = &clock;
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  WriteOptions ttl;
  ttl.ttl = absl::Seconds(5);
  ASSERT_OK(store->Put("t", "v", ttl));
  clock.Advance(4999);
  std::string value;
  ASSERT_OK(store->Get("t", &value));
  clock.Advance(1);
  EXPECT_TRUE(absl::IsNotFound(store->Get("t", &value)));
}

// Catches the same mistake where the log's tail decides: an entry that
// expires exactly now is dropped there (counted as an expiration) instead of
// being moved forward.
TEST(TtlBoundary, TailDropsAnEntryAtExactlyItsExpiry) {
  ManualClock clock(kStartMs);
  Options o = OneStripe();
  o.clock = &clock;
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 1024;
  o.evict = false;  // a live entry at the tail is moved, never evicted
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  WriteOptions ttl;
  ttl.ttl = absl::Seconds(5);
  ASSERT_OK(store->Put("t", "v", ttl));  // the oldest record: the tail
  clock.Advance(5000);
  // Three laps of the 64 KiB log overwriting one other key: the tail passes
  // "t" (nothing reads it, so only the tail can expire it).
  for (int i = 0; i < 200; ++i) ASSERT_OK(store->Put("churn", std::string(1000, 'c'))) << i;
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.expirations, 1u);
  EXPECT_EQ(stats.items, 1u);
}

// ---------------------------------------------------------------- CLOCK ---

// Catches a record copied forward (second chance, or compaction) keeping
// its reference bit: it would then be copied forward for ever, never
// evicted. Every entry is read once; then several capacities of new keys
// are written and never read: each write succeeds and every old entry is
// evicted.
TEST(ClockAfterCompaction, CopiedRecordsLoseTheirReferenceBit) {
  Options o = OneStripe();
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 1024;
  ScopedStore store;
  ASSERT_OK(store.Open(o));
  constexpr int kOld = 40;
  std::string value;
  for (int i = 0; i < kOld; ++i) {
    const std::string k = absl::StrCat("old", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 1, 600)));
  }
  for (int i = 0; i < kOld; ++i) ASSERT_OK(store->Get(absl::StrCat("old", i), &value));
  // Five capacities of 600-byte values.
  const int fresh = 5 * (64 << 10) / 600;
  for (int i = 0; i < fresh; ++i) {
    const std::string k = absl::StrCat("new", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 1, 600))) << "new key " << i;
  }
  int survivors = 0;
  for (int i = 0; i < kOld; ++i) {
    ASSERT_OK_AND_ASSIGN(bool has, store->Contains(absl::StrCat("old", i)));
    survivors += has ? 1 : 0;
  }
  EXPECT_EQ(survivors, 0) << "entries read once before five capacities of writes survived them";
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok);
}

// ------------------------------------------------------------ semaphore ---

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

// -------------------------------------------------------------- rebuild ---

// Returns the version Put gave.
uint64_t PutVersion(Store* store, const std::string& key, const std::string& value) {
  uint64_t version = 0;
  absl::Status s = store->Put(key, value, WriteOptions(), &version);
  EXPECT_TRUE(s.ok()) << key << ": " << s;
  return version;
}

// Kills a child while it holds the stripe mutex (inside a View callback), so
// the next locker rebuilds the stripe.
void DieHoldingTheLock(const StoreName& name, const std::string& key) {
  const int status = testutil::RunInChild([&]() -> int {
    auto s = Store::Open(name, OneStripe(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    CHILD_CHECK_OK((*s)->View(key, [](absl::string_view, const EntryMeta&) { _exit(42); }), 2);
    return 3;
  });
  ASSERT_EQ(status, 42) << testutil::DescribeExit(status);
}

// Catches a rebuild that keeps the wrong one of two live records of a key
// (the lower version, or always the later one in the log). The older
// record is flipped back to live, as a crash between publishing the new
// slot and marking the old record dead leaves it.
TEST(RebuildDuplicates, RepairKeepsTheHigherVersion) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  const std::string older = MakeValue("dup", 1, 100), newer = MakeValue("dup", 2, 100);
  PutVersion(store.get(), "dup", older);  // at offset 0 of the only slice
  PutVersion(store.get(), "dup", newer);
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    EntryHeader* first = raw.record(0, 0);
    ASSERT_EQ(first->state, internal::kDead);
    first->state = internal::kLive;
  }
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_FALSE(report.ok) << "a second live record of a key went unnoticed";
  ASSERT_OK(store->Check(true).status());
  std::string value;
  ASSERT_OK(store->Get("dup", &value));
  EXPECT_EQ(value, newer) << "the rebuild kept the older version";
  ASSERT_OK_AND_ASSIGN(report, store->Check(false));
  EXPECT_TRUE(report.ok);
}

// The same with the higher version earlier in the log, rebuilt after an
// owner death: the version decides, not the position.
TEST(RebuildDuplicates, OwnerDeathRebuildKeepsTheHigherVersionEvenIfEarlier) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  const std::string first_value = MakeValue("dup", 1, 100);
  const uint64_t v1 = PutVersion(store.get(), "dup", first_value);
  const uint64_t v2 = PutVersion(store.get(), "dup", MakeValue("dup", 2, 100));
  ASSERT_GT(v2, v1);
  ASSERT_OK(store->Put("other", "x"));
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    EntryHeader* first = raw.record(0, 0);
    ASSERT_EQ(first->state, internal::kDead);
    first->version = v2 + 1;  // as if written later than the second
    first->state = internal::kLive;
  }
  ASSERT_NO_FATAL_FAILURE(DieHoldingTheLock(store.name(), "other"));
  std::string value;
  ASSERT_OK(store->Get("dup", &value));
  EXPECT_EQ(value, first_value) << "the rebuild kept the later record, of a lower version";
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
}

// Catches a rebuild that does not raise next_version above every version in
// its stripe: versions would be issued twice, and a stale CompareAndSwap
// token could match again.
TEST(RebuildVersions, RepairRestoresNextVersion) {
  ScopedStore store;
  ASSERT_OK(store.Open(OneStripe()));
  uint64_t stale = 0;
  for (int i = 0; i < 10; ++i) {
    const uint64_t v = PutVersion(store.get(), absl::StrCat("k", i), "v");
    if (i == 5) stale = v;
  }
  // k5 moves on: `stale` is now a stale token of k5.
  const uint64_t highest = PutVersion(store.get(), "k5", "newer");
  ASSERT_GT(highest, stale);
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    internal::Stripe* s = raw.stripe(0);
    s->next_version = 1;
    s->index_entries += 1;  // something Check notices, so repair rebuilds
  }
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(true));
  EXPECT_FALSE(report.repairs.empty());
  for (int i = 0; i < 12; ++i) {
    const uint64_t v = PutVersion(store.get(), "k5", absl::StrCat("after", i));
    EXPECT_GT(v, highest) << "write " << i << " after the repair reused a version";
    absl::Status cas = store->CompareAndSwap("k5", stale, "stale");
    EXPECT_EQ(cas.code(), absl::StatusCode::kFailedPrecondition)
        << "a stale CompareAndSwap token matched again: " << cas;
  }
}

// ----------------------------------------------------------- failed open ---

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

}  // namespace
}  // namespace shmkv
