// A store's statistics (shmkv/store_stats.h and the Store interface): entry
// size histograms, the largest entries, per-stripe counters and resetting
// the counters.
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_stats.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::DescribeExit;
using ::shmkv::testutil::RawSegment;
using ::shmkv::testutil::RunChildren;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::TestRng;

TEST(SizeBucketOf, PowersOfTwo) {
  EXPECT_EQ(SizeBucketOf(0), 0u);
  EXPECT_EQ(SizeBucketOf(1), 1u);
  EXPECT_EQ(SizeBucketOf(2), 2u);
  EXPECT_EQ(SizeBucketOf(3), 2u);
  EXPECT_EQ(SizeBucketOf(4), 3u);
  EXPECT_EQ(SizeBucketOf(4095), 12u);
  EXPECT_EQ(SizeBucketOf(4096), 13u);
  EXPECT_EQ(SizeBucketOf(UINT64_MAX), 64u);
}

TEST(EntrySizes, CountsKnownSizes) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  // Keys of 2 bytes ("a0".."a5") and one of 9; values of 0, 1, 3, 4, 7, 100
  // and 4096 bytes.
  const size_t value_sizes[] = {0, 1, 3, 4, 7, 100};
  for (size_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(store->Put(absl::StrCat("a", i), std::string(value_sizes[i], 'v')).ok());
  }
  ASSERT_TRUE(store->Put("long:key1", std::string(4096, 'w')).ok());

  absl::StatusOr<EntrySizes> sizes = MeasureEntrySizes(*store);
  ASSERT_TRUE(sizes.ok()) << sizes.status();
  const SizeHistogram& v = sizes->values;
  EXPECT_EQ(v.count, 7u);
  EXPECT_EQ(v.bytes, 0u + 1 + 3 + 4 + 7 + 100 + 4096);
  EXPECT_EQ(v.largest, 4096u);
  ASSERT_EQ(v.buckets.size(), 14u);  // 0 .. bucket of 4096
  const uint64_t want_count[14] = {1, 1, 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  const uint64_t want_bytes[14] = {0, 1, 3, 11, 0, 0, 0, 100, 0, 0, 0, 0, 0, 4096};
  for (size_t i = 0; i < 14; ++i) {
    EXPECT_EQ(v.buckets[i].count, want_count[i]) << "bucket " << i;
    EXPECT_EQ(v.buckets[i].bytes, want_bytes[i]) << "bucket " << i;
    EXPECT_LE(v.buckets[i].min_size, v.buckets[i].max_size);
    EXPECT_EQ(SizeBucketOf(v.buckets[i].min_size), i);
    EXPECT_EQ(SizeBucketOf(v.buckets[i].max_size), i);
  }
  const SizeHistogram& k = sizes->keys;
  EXPECT_EQ(k.count, 7u);
  EXPECT_EQ(k.bytes, 6u * 2 + 9);
  ASSERT_EQ(k.buckets.size(), 5u);  // 9 is in 8..15
  EXPECT_EQ(k.buckets[2].count, 6u);
  EXPECT_EQ(k.buckets[4].count, 1u);
  EXPECT_EQ(k.buckets[4].bytes, 9u);

  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(k.bytes, stats->key_bytes);
  EXPECT_EQ(v.bytes, stats->value_bytes);

  absl::StatusOr<EntrySizes> only_long = MeasureEntrySizes(*store, "long:");
  ASSERT_TRUE(only_long.ok());
  EXPECT_EQ(only_long->values.count, 1u);
  EXPECT_EQ(only_long->values.bytes, 4096u);
}

TEST(EntrySizes, EmptyStoreHasNoBuckets) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  absl::StatusOr<EntrySizes> sizes = MeasureEntrySizes(*store);
  ASSERT_TRUE(sizes.ok());
  EXPECT_TRUE(sizes->values.buckets.empty());
  EXPECT_EQ(sizes->keys.count, 0u);
}

TEST(WalkWithoutValues, SeesEveryEntryOnceWithItsSize) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  TestRng rng(18);
  std::vector<size_t> sizes(300);
  for (size_t i = 0; i < sizes.size(); ++i) {
    sizes[i] = rng.Uniform<size_t>(0, 2000);
    ASSERT_TRUE(store->Put(absl::StrCat("k", i), std::string(sizes[i], 'x')).ok());
  }
  std::vector<int> seen(sizes.size(), 0);
  ScanOptions keys;
  keys.prefix = "k";
  absl::Status walk =
      store->Walk(keys, [&](absl::string_view key, absl::string_view, const EntryMeta& meta) {
        const size_t i = std::stoul(std::string(key.substr(1)));
        EXPECT_LT(i, sizes.size());
        if (i < sizes.size()) {
          ++seen[i];
          EXPECT_EQ(meta.value_size, sizes[i]) << key;
        }
        return true;
      });
  ASSERT_TRUE(walk.ok()) << walk;
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "k" << i;

  int visits = 0;
  ASSERT_TRUE(store
                  ->Walk({}, [&](absl::string_view, absl::string_view,
                                 const EntryMeta&) { return ++visits < 5; })
                  .ok());
  EXPECT_EQ(visits, 5);
}

TEST(LargestEntries, LargestFirstWithTies) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  ASSERT_TRUE(store->Put("small", "x").ok());
  ASSERT_TRUE(store->Put("big", std::string(3000, 'b')).ok());
  ASSERT_TRUE(store->Put("mid", std::string(500, 'm')).ok());
  ASSERT_TRUE(store->Put("tie-b", std::string(200, 't')).ok());
  ASSERT_TRUE(store->Put("tie-a", std::string(200, 't')).ok());
  ASSERT_TRUE(store->Put("tie-longer", std::string(200, 't')).ok());
  WriteOptions ttl;
  ttl.ttl = absl::Hours(1);
  ASSERT_TRUE(store->Put("expiring", std::string(1000, 'e'), ttl).ok());

  absl::StatusOr<std::vector<LargeEntry>> top = LargestEntries(*store, 5);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 5u);
  const char* want[] = {"big", "expiring", "mid", "tie-longer", "tie-a"};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*top)[i].key, want[i]) << i;
  EXPECT_EQ((*top)[0].value_size, 3000u);
  EXPECT_EQ((*top)[0].key_size, 3u);
  EXPECT_EQ((*top)[0].ttl_remaining, absl::InfiniteDuration());
  EXPECT_GT((*top)[1].ttl_remaining, absl::Minutes(59));
  EXPECT_LE((*top)[1].ttl_remaining, absl::Hours(1));

  absl::StatusOr<std::vector<LargeEntry>> all = LargestEntries(*store, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 7u);
  EXPECT_EQ(all->back().key, "small");

  absl::StatusOr<std::vector<LargeEntry>> ties = LargestEntries(*store, 10, "tie-");
  ASSERT_TRUE(ties.ok());
  ASSERT_EQ(ties->size(), 3u);
  EXPECT_EQ((*ties)[0].key, "tie-longer");
  EXPECT_EQ((*ties)[1].key, "tie-a");
  EXPECT_EQ((*ties)[2].key, "tie-b");

  EXPECT_TRUE(absl::IsInvalidArgument(LargestEntries(*store, 0).status()));
}

TEST(LargestEntries, MatchesASortOfRandomSizes) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  TestRng rng(1818);
  std::vector<std::pair<size_t, std::string>> entries;
  for (int i = 0; i < 400; ++i) {
    std::string key = absl::StrCat("r", i);
    const size_t size = rng.Uniform<size_t>(0, 4000);
    ASSERT_TRUE(store->Put(key, std::string(size, 'r')).ok());
    entries.emplace_back(size, key);
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    if (a.second.size() != b.second.size()) return a.second.size() > b.second.size();
    return a.second < b.second;
  });
  absl::StatusOr<std::vector<LargeEntry>> top = LargestEntries(*store, 25);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 25u);
  for (size_t i = 0; i < 25; ++i) {
    EXPECT_EQ((*top)[i].key, entries[i].second) << i;
    EXPECT_EQ((*top)[i].value_size, entries[i].first) << i;
  }
}

TEST(StatsByStripe, SumsToTheStoreTotals) {
  ScopedStore store;
  Options options = SmallOptions();
  options.lock_stripes = 8;
  ASSERT_TRUE(store.Open(options).ok());
  TestRng rng(7);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(store->Put(absl::StrCat("s", i), std::string(rng.Uniform(1, 300), 's')).ok());
  }
  std::string value;
  for (int i = 0; i < 600; ++i) (void)store->Get(absl::StrCat("s", i), &value);
  ASSERT_TRUE(store->Delete("s1").ok());

  absl::StatusOr<std::vector<StripeStats>> stripes = store->StatsByStripe();
  ASSERT_TRUE(stripes.ok()) << stripes.status();
  absl::StatusOr<StoreInfo> info = store->Info();
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(stripes->size(), info->lock_stripes);
  EXPECT_GT(stripes->size(), 1u);
  StoreStats sum;
  uint32_t with_entries = 0;
  for (size_t i = 0; i < stripes->size(); ++i) {
    const StripeStats& s = (*stripes)[i];
    EXPECT_EQ(s.stripe, i);
    sum.items += s.stats.items;
    sum.hits += s.stats.hits;
    sum.misses += s.stats.misses;
    sum.puts += s.stats.puts;
    sum.deletes += s.stats.deletes;
    sum.value_bytes += s.stats.value_bytes;
    sum.bytes_used += s.stats.bytes_used;
    sum.capacity += s.stats.capacity;
    sum.index_limit += s.stats.index_limit;
    if (s.stats.items > 0) ++with_entries;
  }
  EXPECT_GT(with_entries, 1u);
  absl::StatusOr<uint64_t> size = store->Size();
  absl::StatusOr<StoreStats> total = store->Stats();
  ASSERT_TRUE(size.ok() && total.ok());
  EXPECT_EQ(sum.items, *size);
  EXPECT_EQ(sum.items, 499u);
  // Reads are counted per CPU, not per stripe: in the totals only.
  EXPECT_EQ(sum.hits, 0u);
  EXPECT_EQ(sum.misses, 0u);
  EXPECT_EQ(total->hits, 500u);
  EXPECT_EQ(total->misses, 100u);
  EXPECT_EQ(sum.puts, 500u);
  EXPECT_EQ(sum.deletes, 1u);
  EXPECT_EQ(sum.puts, total->puts);
  EXPECT_EQ(sum.value_bytes, total->value_bytes);
  EXPECT_EQ(sum.bytes_used, total->bytes_used);
  EXPECT_EQ(sum.capacity, total->capacity);
  EXPECT_EQ(sum.index_limit, total->index_limit);
}

TEST(ResetCounters, ZeroesCountersButNotEntries) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store->Put(absl::StrCat("e", i), "value").ok());
  std::string value;
  ASSERT_TRUE(store->Get("e1", &value).ok());
  EXPECT_TRUE(absl::IsNotFound(store->Get("nope", &value)));
  ASSERT_TRUE(store->Delete("e2").ok());
  absl::StatusOr<StoreStats> before = store->Stats();
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->puts, 50u);

  ASSERT_TRUE(store->ResetCounters().ok());
  absl::StatusOr<StoreStats> after = store->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->hits, 0u);
  EXPECT_EQ(after->misses, 0u);
  EXPECT_EQ(after->puts, 0u);
  EXPECT_EQ(after->deletes, 0u);
  EXPECT_EQ(after->evictions, 0u);
  EXPECT_EQ(after->expirations, 0u);
  EXPECT_EQ(after->lock_waits, 0u);
  EXPECT_EQ(after->owner_deaths_recovered, 0u);
  EXPECT_EQ(after->items, 49u);
  EXPECT_EQ(after->items, before->items);
  EXPECT_EQ(after->key_bytes, before->key_bytes);
  EXPECT_EQ(after->value_bytes, before->value_bytes);
  EXPECT_EQ(after->bytes_used, before->bytes_used);
  EXPECT_EQ(after->index_entries, before->index_entries);
  ASSERT_TRUE(store->Get("e1", &value).ok());
  EXPECT_EQ(value, "value");

  // Counting goes on from zero.
  ASSERT_TRUE(store->Get("e3", &value).ok());
  ASSERT_TRUE(store->Put("new", "v").ok());
  after = store->Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->hits, 2u);
  EXPECT_EQ(after->puts, 1u);
  EXPECT_EQ(after->items, 50u);
}

TEST(ResetCounters, SafeAgainstConcurrentWriters) {
  ScopedStore store;
  Options options = SmallOptions();
  options.lock_stripes = 4;
  ASSERT_TRUE(store.Open(options).ok());
  constexpr int kWriters = 2, kPutsEach = 3000, kKeys = 200;
  std::atomic<bool> failed{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPutsEach; ++i) {
        if (!store->Put(absl::StrCat("w", (i * 7 + w) % kKeys), "payload").ok()) failed = true;
      }
    });
  }
  int resets = 0;
  for (; resets < 200; ++resets) {
    if (!store->ResetCounters().ok()) failed = true;
  }
  for (std::thread& t : writers) t.join();
  EXPECT_FALSE(failed);
  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LE(stats->puts, uint64_t{kWriters} * kPutsEach);
  EXPECT_EQ(stats->items, uint64_t{kKeys});
  absl::StatusOr<uint64_t> size = store->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, uint64_t{kKeys});
  absl::StatusOr<CheckReport> check = store->Check(false);
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->ok) << (check->problems.empty() ? "" : check->problems[0]);

  // After the writers, one more reset leaves exactly zero.
  ASSERT_TRUE(store->ResetCounters().ok());
  stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->puts, 0u);
  EXPECT_EQ(stats->items, uint64_t{kKeys});
}

// Each child's reads: hits and misses through Get, View, GetMany and
// GetOrCompute; the last child dies by SIGKILL once it has read.
constexpr int kReaders = 4, kRounds = 50;
constexpr uint64_t kHitsPerRound = 8 + 1 + 4 + 1, kMissesPerRound = 2 + 1 + 2;

int ReadAndCount(const ScopedStore& store, int index) {
  absl::StatusOr<std::unique_ptr<Store>> opened =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  CHILD_CHECK_OK(opened, 1);
  Store* own = opened->get();
  // Pinned to a CPU of its own where there are several, so the reads count
  // in more than one slot.
  cpu_set_t allowed;
  CHILD_CHECK(sched_getaffinity(0, sizeof(allowed), &allowed) == 0, 2);
  const int cpus = CPU_COUNT(&allowed);
  for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || seen++ != index % cpus) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHILD_CHECK(sched_setaffinity(0, sizeof(one), &one) == 0, 3);
    break;
  }
  std::string value;
  std::vector<GetResult> results;
  const std::vector<absl::string_view> batch = {"k0", "nope1", "k1", "k2", "nope2", "k3"};
  for (int round = 0; round < kRounds; ++round) {
    for (int k = 0; k < 8; ++k) CHILD_CHECK_OK(own->Get(absl::StrCat("k", k), &value), 4);
    CHILD_CHECK(absl::IsNotFound(own->Get("missing", &value)), 5);
    CHILD_CHECK(absl::IsNotFound(own->Get("missing2", &value)), 5);
    CHILD_CHECK_OK(own->View("k4", [](absl::string_view, const EntryMeta&) {}), 6);
    CHILD_CHECK(absl::IsNotFound(own->View("gone", [](absl::string_view, const EntryMeta&) {})), 6);
    CHILD_CHECK_OK(own->GetMany(batch, &results), 7);
    CHILD_CHECK_OK(own->GetOrCompute("k5", []() -> absl::StatusOr<std::string> { return "x"; }), 8);
  }
  if (index == kReaders - 1) raise(SIGKILL);
  return 0;
}

// Hits and misses are counted per CPU: exact over several processes on
// several CPUs, a dead process's counts included, and not in any stripe (a
// read writes no counter that readers of the same stripe on other CPUs
// write).
TEST(ReadCounters, ExactAcrossProcessesAndCpus) {
  ScopedStore store;
  Options options = SmallOptions();
  options.lock_stripes = 4;
  ASSERT_OK(store.Open(options));
  for (int k = 0; k < 8; ++k) ASSERT_OK(store->Put(absl::StrCat("k", k), "value"));

  const std::vector<int> exits =
      RunChildren(kReaders, [&](int index) { return ReadAndCount(store, index); });
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_EQ(exits[i], i == kReaders - 1 ? 128 + SIGKILL : 0) << DescribeExit(exits[i]);
  }
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.hits, uint64_t{kReaders} * kRounds * kHitsPerRound);
  EXPECT_EQ(stats.misses, uint64_t{kReaders} * kRounds * kMissesPerRound);

  RawSegment raw(store.key());
  ASSERT_TRUE(raw.ok());
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(raw.stripe(i)->unused_misses, 0u) << "stripe " << i;
  }
  const auto* slots = reinterpret_cast<const internal::ReadCounters*>(
      reinterpret_cast<const char*>(&raw.header()) + internal::kReadCountersOffset);
  uint64_t hits = 0;
  uint32_t used = 0;
  for (uint32_t i = 0; i < internal::kReadCounterSlots; ++i) {
    hits += slots[i].hits;
    used += slots[i].hits != 0;
  }
  EXPECT_EQ(hits, stats.hits);
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
  EXPECT_EQ(used, std::min<uint32_t>(CPU_COUNT(&allowed), kReaders)) << "slots with hits";

  ASSERT_OK(store->ResetCounters());
  ASSERT_OK_AND_ASSIGN(const StoreStats after, store->Stats());
  EXPECT_EQ(after.hits, 0u);
  EXPECT_EQ(after.misses, 0u);
}

// A hit on an entry already marked referenced writes nothing in the stripe
// but its lock's own fields, and nothing in the record.
TEST(ReadCounters, AHitWritesNoStripeCounterNorRecord) {
  ScopedStore store;
  ASSERT_OK(store.Open(testutil::OneStripe()));
  ASSERT_OK(store->Put("hot", "value"));
  std::string value;
  ASSERT_OK(store->Get("hot", &value));  // sets the reference bit
  RawSegment raw(store.key());
  ASSERT_TRUE(raw.ok());
  internal::Stripe* stripe = raw.stripe(0);
  const internal::EntryHeader* record = raw.record(0, 0);
  ASSERT_EQ(record->bits & internal::kReferenced, internal::kReferenced);
  // The stripe's fields from head up to holder_pid, and from the counters up
  // to acquisitions: what a locked read must leave alone.
  const auto copy = [&](std::string* fields) {
    const char* s = reinterpret_cast<const char*>(stripe);
    fields->assign(s + offsetof(internal::Stripe, head),
                   s + offsetof(internal::Stripe, holder_pid));
    fields->append(s + offsetof(internal::Stripe, read_version),
                   s + offsetof(internal::Stripe, acquisitions));
    fields->append(reinterpret_cast<const char*>(record), internal::kEntryHeaderBytes);
  };
  std::string before, after;
  copy(&before);
  for (int i = 0; i < 10; ++i) ASSERT_OK(store->Get("hot", &value));
  copy(&after);
  EXPECT_TRUE(before == after) << "a hit changed the stripe's fields or the record's header";
  ASSERT_OK_AND_ASSIGN(const StoreStats stats, store->Stats());
  EXPECT_EQ(stats.hits, 11u);
}

TEST(AdminStats, DestroyedStoreIsAnError) {
  ScopedStore store;
  ASSERT_TRUE(store.Open().ok());
  ASSERT_TRUE(Store::Destroy(store.name()).ok());
  EXPECT_FALSE(store->StatsByStripe().ok());
  EXPECT_FALSE(store->ResetCounters().ok());
  EXPECT_FALSE(MeasureEntrySizes(*store).ok());
}

}  // namespace
}  // namespace shmkv
