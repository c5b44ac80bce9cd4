// Recovery (doc/recovery.md): the rebuild of a stripe after its lock holder
// died or after a repair keeps the right record of a key and restores the
// stripe's next version, and the integrity check's counts; a repair of a
// damaged record, head word or log position keeps every record that
// verifies. The segment is damaged raw, where the damage is only visible
// there.
#include <sys/shm.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using internal::EntryHeader;
using internal::RecordBytes;
using testutil::MakeValue;
using testutil::OneStripe;
using testutil::RawSegment;
using testutil::ScopedStore;
using testutil::SmallOptions;

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

// The log of the stripe that holds `key`, mapped raw: its head and tail
// words and its records, to damage them byte-wise.
struct RawStripe {
  internal::Stripe* stripe = nullptr;
  char* slice = nullptr;
  uint64_t slice_bytes = 0;
  RawStripe(internal::Header* h, absl::string_view key) {
    const uint64_t s =
        internal::Hash64(key.data(), key.size(), h->hash_seed) & (h->stripe_count - 1);
    char* base = reinterpret_cast<char*>(h);
    stripe = reinterpret_cast<internal::Stripe*>(base + h->stripe_table_offset) + s;
    slice_bytes = h->stripe_arena_bytes;
    slice = base + h->arena_offset + s * slice_bytes;
  }
  // The header of the n-th live record from the tail (the log has not
  // wrapped in these tests).
  internal::EntryHeader* LiveRecord(int n) {
    for (uint64_t pos = stripe->tail; pos < stripe->head;) {
      auto* e = reinterpret_cast<internal::EntryHeader*>(slice + pos % slice_bytes);
      if (e->state == internal::kLive && n-- == 0) return e;
      pos += e->state == internal::kPad ? e->value_size
                                        : internal::RecordBytes(e->key_size, e->value_size);
    }
    return nullptr;
  }
};

enum class Damage { kStateByte, kWholeHeader, kHeadWord, kPositionsNearTheWrap };

// Damages one stripe of a store of 200 entries as `damage` says, repairs
// it, and checks that only the damaged record's entry (if any) was lost.
void RepairKeepsWhatVerifies(Damage damage) {
  ScopedStore store;
  Options options = SmallOptions();
  options.lock_stripes = 4;  // some 50 entries a stripe
  ASSERT_TRUE(store.Open(options).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store->Put(absl::StrCat("k", i), absl::StrCat("value of k", i)).ok());
  }
  std::string damaged_key;
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    RawStripe stripe(raw.mutable_header(), "k0");
    internal::EntryHeader* record = stripe.LiveRecord(3);
    ASSERT_NE(record, nullptr);
    ASSERT_NE(stripe.LiveRecord(6), nullptr) << "too few records after the damaged one";
    switch (damage) {
      case Damage::kStateByte:
        damaged_key.assign(reinterpret_cast<char*>(record + 1), record->key_size);
        record->state = 0;
        break;
      case Damage::kWholeHeader:
        damaged_key.assign(reinterpret_cast<char*>(record + 1), record->key_size);
        std::memset(record, 0xff, sizeof(*record));
        break;
      case Damage::kHeadWord:
        stripe.stripe->head = ~uint64_t{0} - 7;
        break;
      case Damage::kPositionsNearTheWrap: {
        // Consistent, each record in its place, but the head less than a
        // slice from 2^64: the next appends would wrap it.
        const uint64_t head = stripe.stripe->head, tail = stripe.stripe->tail;
        const uint64_t slices = (~uint64_t{0} - head) / stripe.slice_bytes * stripe.slice_bytes;
        stripe.stripe->tail = tail + slices;
        stripe.stripe->head = head + slices;
        break;
      }
    }
  }
  absl::StatusOr<CheckReport> report = store->Check(false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok);
  report = store->Check(true);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries_dropped, damaged_key.empty() ? 0u : 1u)
      << absl::StrJoin(report->repairs, "\n");
  report = store->Check(false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << absl::StrJoin(report->problems, "\n");
  std::string value;
  for (int i = 0; i < 200; ++i) {
    const std::string key = absl::StrCat("k", i);
    absl::Status s = store->Get(key, &value);
    if (key == damaged_key) {
      EXPECT_TRUE(absl::IsNotFound(s)) << s;
    } else {
      ASSERT_TRUE(s.ok()) << key << ": " << s;
      EXPECT_EQ(value, absl::StrCat("value of ", key));
    }
  }
  // The repaired stripe takes writes again, through its whole log.
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(store->Put(absl::StrCat("k", i % 200), std::string(100 + i % 50, 'w')).ok()) << i;
  }
  report = store->Check(false);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << absl::StrJoin(report->problems, "\n");
}

TEST(Repair, DamagedStateByteCostsOnlyItsRecord) { RepairKeepsWhatVerifies(Damage::kStateByte); }
TEST(Repair, DamagedRecordHeaderCostsOnlyItsRecord) {
  RepairKeepsWhatVerifies(Damage::kWholeHeader);
}
TEST(Repair, DamagedHeadWordCostsNoEntry) { RepairKeepsWhatVerifies(Damage::kHeadWord); }
TEST(Repair, LogPositionsNearTheWrapAreMovedBackAndCostNoEntry) {
  RepairKeepsWhatVerifies(Damage::kPositionsNearTheWrap);
}

// A head of 2^64-1 with nothing indexed: the repair empties the stripe, and
// its log starts again at position 0, not at the wrapping head.
TEST(Repair, AnEmptiedLogStartsFarFromTheWrap) {
  ScopedStore store;
  Options options = SmallOptions();
  options.lock_stripes = 1;
  ASSERT_TRUE(store.Open(options).ok());
  {
    RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    RawStripe stripe(raw.mutable_header(), "any");
    stripe.stripe->head = ~uint64_t{0};
  }
  absl::StatusOr<CheckReport> report = store->Check(true);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->repairs.empty());
  // Writes go on where the old head would have wrapped at once.
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(store->Put(absl::StrCat("k", i % 200), std::string(100 + i % 50, 'w')).ok()) << i;
  }
  report = store->Check(false);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << absl::StrJoin(report->problems, "\n");
}

}  // namespace
}  // namespace shmkv
