// Reads without the stripe lock (doc/locking.md, "Optimistic reads"): Get
// and GetMany copy a value without the lock and keep it only if the
// stripe's version did not move meanwhile. Writers in other processes
// rewrite, compact and evict records under the readers' feet in a store so
// small that its log laps many times a second, so records are freed and
// their bytes reused while readers copy them; every value a reader returns
// must be whole and its key's.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::CheckValue;
using testutil::MakeValue;
using testutil::RawSegment;
using testutil::RunChildren;
using testutil::ScopedStore;
using testutil::SharedArray;
using testutil::TestRng;

constexpr int kWriters = 2;
constexpr int kReaders = 2;
constexpr int kChecksPerReader = 20000;

// One stripe of 64 KiB: a few hundred writes of values up to 1.5 KiB lap
// its log, so records are moved (compaction) or evicted and their bytes
// rewritten all the time.
Options TinyStore(bool evict) {
  Options o = testutil::OneStripe();
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 2048;
  o.evict = evict;
  return o;
}

struct Shared {
  std::atomic<int> writers_done{0};
  std::atomic<uint64_t> hits{0};
};

// Writer `index` of a store: `puts` writes of self-checking values of
// varying lengths, to `keys` keys of its own prefix and the shared ones.
int Write(Store* store, int index, int keys, int puts) {
  TestRng rng(10 + index);
  for (int seq = 1; seq <= puts; ++seq) {
    const std::string k = absl::StrCat("k", rng.Uniform(0, keys));
    absl::Status s = store->Put(k, MakeValue(k, seq, rng.Uniform<size_t>(40, 1500)));
    CHILD_CHECK_OK(s, 2);
  }
  return 0;
}

// Reader `index`: Get and GetMany of random keys until the writers are done
// and it checked kChecksPerReader values; every value found must be whole
// and its key's. Misses are allowed where keys may be evicted.
int Read(Store* store, int index, int keys, bool misses_ok, Shared* shared) {
  TestRng rng(20 + index);
  std::string value;
  // 16 keys a GetMany: more than it loads ahead of its reads (8), so the
  // records it loads while reading are read here too.
  std::vector<std::string> names(16);
  std::vector<absl::string_view> batch(names.size());
  std::vector<GetResult> results;
  uint64_t hits = 0;
  const auto check = [&](const std::string& key, const absl::Status& s, const std::string& v) {
    if (absl::IsNotFound(s) && misses_ok) return true;
    if (!s.ok()) {
      std::fprintf(stderr, "get %s: %s\n", key.c_str(), s.ToString().c_str());
      return false;
    }
    absl::StatusOr<uint64_t> seq = CheckValue(key, v);
    if (!seq.ok()) {
      std::fprintf(stderr, "key %s: %s\n", key.c_str(), seq.status().ToString().c_str());
      return false;
    }
    ++hits;
    return true;
  };
  for (int done = 0; shared->writers_done.load() < kWriters || done < kChecksPerReader;) {
    if (rng.Uniform(0, 4) == 0) {
      for (size_t i = 0; i < names.size(); ++i) {
        names[i] = absl::StrCat("k", rng.Uniform(0, keys));
        batch[i] = names[i];
      }
      CHILD_CHECK_OK(store->GetMany(batch, &results), 3);
      for (size_t i = 0; i < names.size(); ++i) {
        CHILD_CHECK(check(names[i], results[i].status, results[i].value), 4);
      }
      done += static_cast<int>(names.size());
      continue;
    }
    const std::string k = absl::StrCat("k", rng.Uniform(0, keys));
    const absl::Status s = store->Get(k, &value);
    CHILD_CHECK(check(k, s, value), 5);
    ++done;
  }
  shared->hits.fetch_add(hits);
  return 0;
}

// Runs kWriters writers and kReaders readers over `store` (keys k0..k<keys-1>
// written first) and expects every child to succeed.
void Race(ScopedStore& store, const Options& options, int keys, int puts, bool misses_ok) {
  for (int i = 0; i < keys; ++i) {
    const std::string k = absl::StrCat("k", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 0, 100)));
  }
  const StoreName name = store.name();
  SharedArray<Shared> shared(1);
  const std::vector<int> statuses = RunChildren(kWriters + kReaders, [&](int index) -> int {
    auto s = Store::Open(name, options, OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    if (index < kWriters) {
      const int rc = Write(s->get(), index, keys, puts);
      shared[0].writers_done.fetch_add(1);
      return rc;
    }
    return Read(s->get(), index, keys, misses_ok, &shared[0]);
  });
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_EQ(statuses[i], 0) << "child " << i << ": " << testutil::DescribeExit(statuses[i]);
  }
  EXPECT_GT(shared[0].hits.load(), uint64_t{kReaders} * kChecksPerReader / 4);
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  for (const std::string& problem : report.problems) ADD_FAILURE() << problem;
}

// Without eviction every key stays: its records are rewritten and moved
// forward by compaction, and readers must always find a whole value.
TEST(OptimisticReads, NeverTornWhileWritersRewriteAndCompact) {
  ScopedStore store;
  const Options options = TinyStore(/*evict=*/false);
  ASSERT_OK(store.Open(options));
  ASSERT_NO_FATAL_FAILURE(Race(store, options, /*keys=*/12, /*puts=*/4000, /*misses_ok=*/false));
}

// With eviction, writers to more keys than fit free records and write new
// ones over their bytes while readers copy them.
TEST(OptimisticReads, NeverTornWhileWritersEvictAndReuseRecords) {
  ScopedStore store;
  const Options options = TinyStore(/*evict=*/true);
  ASSERT_OK(store.Open(options));
  ASSERT_NO_FATAL_FAILURE(Race(store, options, /*keys=*/200, /*puts=*/4000, /*misses_ok=*/true));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_GT(stats.evictions, 0u) << "the test meant to cover eviction";
}

// The same race between threads of one process sharing one Store, which is
// what ThreadSanitizer can watch: every access that races with a writer is
// an atomic one.
TEST(OptimisticReads, NeverTornBetweenThreadsOfOneProcess) {
  ScopedStore store;
  ASSERT_OK(store.Open(TinyStore(/*evict=*/true)));
  constexpr int kKeys = 200;
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = absl::StrCat("k", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 0, 100)));
  }
  Shared shared;
  std::vector<int> results(kWriters + kReaders, -1);
  std::vector<std::thread> threads;
  for (int index = 0; index < kWriters + kReaders; ++index) {
    threads.emplace_back([&, index] {
      if (index < kWriters) {
        results[index] = Write(store.get(), index, kKeys, /*puts=*/3000);
        shared.writers_done.fetch_add(1);
      } else {
        results[index] = Read(store.get(), index, kKeys, /*misses_ok=*/true, &shared);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], 0) << "thread " << i;
  EXPECT_GT(shared.hits.load(), 0u);
}

// A read that finds the key's entry with its reference bit set returns
// without taking the lock: the stripe's lock counter does not move, and its
// version stays even (a locked read would have made it odd and even again,
// two steps on).
TEST(OptimisticReads, AHitOnAReferencedEntryTakesNoLock) {
  ScopedStore store;
  ASSERT_OK(store.Open(testutil::OneStripe()));
  ASSERT_OK(store->Put("hot", "value"));
  std::string value;
  ASSERT_OK(store->Get("hot", &value));  // takes the lock: sets the reference bit
  RawSegment raw(store.key());
  ASSERT_TRUE(raw.ok());
  const internal::Stripe* stripe = raw.stripe(0);
  const uint64_t acquisitions = stripe->acquisitions;
  const uint64_t version = stripe->read_version;
  EXPECT_EQ(version % 2, 0u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(store->Get("hot", &value));
    EXPECT_EQ(value, "value");
  }
  std::vector<GetResult> results;
  const std::vector<absl::string_view> keys = {"hot", "cold"};
  ASSERT_OK(store->GetMany(keys, &results));
  EXPECT_EQ(results[0].value, "value");
  EXPECT_TRUE(absl::IsNotFound(results[1].status));
  EXPECT_EQ(stripe->acquisitions, acquisitions);
  EXPECT_EQ(stripe->read_version, version);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.hits, 12u);
  EXPECT_EQ(stats.misses, 1u);
  // A write moves the version on by two: odd while it ran, even after.
  ASSERT_OK(store->Put("hot", "new"));
  EXPECT_EQ(stripe->read_version, version + 2);
}

}  // namespace
}  // namespace shmkv
