// One provoking test per error code of store.h: bad keys, values and
// options, foreign segments, full stores, locks held, removed semaphore
// sets and corruption, each with a message that says what to do.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::CheckValue;
using ::shmkv::testutil::CountAttachments;
using ::shmkv::testutil::ForeignSegment;
using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::KeyHex;
using ::shmkv::testutil::ListSysvSem;
using ::shmkv::testutil::ListSysvShm;
using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::StatsLine;
using ::shmkv::testutil::UniqueStoreName;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(StoreErrors, EmptyKeyIsInvalidArgument) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  std::string v;
  absl::Status s = store->Put("", "v");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("empty"));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Get("", &v)));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Delete("")));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Contains("").status()));
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 0u);
}

TEST(StoreErrors, KeyOverLimitIsInvalidArgument) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  const std::string too_long(kMaxKeySizeLimit + 1, 'k');
  absl::Status s = store->Put(too_long, "v");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), AnyOf(HasSubstr("4096"), HasSubstr("4097")));
  std::string v;
  s = store->Get(too_long, &v);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 0u);
}

TEST(StoreErrors, ValueOverMaximumIsResourceExhausted) {
  ScopedStore store;
  Options o = SmallOptions();
  o.max_value_size = 5000;
  ASSERT_OK(store.Open(o));
  ASSERT_OK(store->Put("k", "old"));
  absl::Status s = store->Put("k", std::string(5001, 'v'));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("5000"));
  // The failed write changed nothing.
  EXPECT_EQ(GetOrDie(store.get(), "k"), "old");
  ASSERT_OK(store->Put("k", std::string(5000, 'v')));
}

TEST(StoreErrors, ValueLargerThanTheWholeStore) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 256 << 10;
  o.max_value_size = 1 << 20;  // over the capacity
  absl::Status opened = store.Open(o);
  if (!opened.ok()) {
    // Refusing the combination up front is fine if it says which option.
    EXPECT_TRUE(absl::IsInvalidArgument(opened) || absl::IsResourceExhausted(opened)) << opened;
    EXPECT_THAT(std::string(opened.message()),
                AnyOf(HasSubstr("max_value_size"), HasSubstr("capacity")));
    // A store that does open must refuse a value larger than itself.
    o.max_value_size = 64 << 10;
    ASSERT_OK(store.Open(o));
  }
  ASSERT_OK(store->Put("keep", "me"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  absl::Status s = store->Put("huge", std::string(info.capacity + 1, 'h'));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat(info.max_value_size)));
  EXPECT_EQ(GetOrDie(store.get(), "keep"), "me");
  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("huge", &v)));
}

TEST(StoreErrors, BadOptionsAreInvalidArgument) {
  const StoreName name = UniqueStoreName();
  ScopedStore cleanup(name);

  Options zero = SmallOptions();
  zero.capacity_bytes = 0;
  auto r = Store::Open(name, zero, OpenMode::kCreate);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("Options::capacity_bytes"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("--capacity")));

  Options big_key = SmallOptions();
  big_key.max_key_size = kMaxKeySizeLimit + 1;
  r = Store::Open(name, big_key, OpenMode::kCreate);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("4096"));

  Options huge = SmallOptions();
  huge.capacity_bytes = kMaxSegmentBytes + 1;
  r = Store::Open(name, huge, OpenMode::kCreate);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()) || absl::IsResourceExhausted(r.status()))
      << r.status();

  // None of the refused opens left anything behind.
  EXPECT_LT(shmget(name.key(), 0, 0), 0);
  auto attach = Store::Open(name, SmallOptions(), OpenMode::kAttach);
  EXPECT_TRUE(absl::IsNotFound(attach.status())) << attach.status();
}

TEST(StoreErrors, ForeignSegmentIsFailedPrecondition) {
  testutil::TestRng gen(5);
  struct Case {
    size_t bytes;
    bool random;
  };
  for (const Case& c :
       {Case{64, false}, Case{1 << 20, false}, Case{1 << 20, true}, Case{4096, true}}) {
    SCOPED_TRACE(absl::StrCat(c.bytes, " bytes, ", c.random ? "random" : "zero"));
    const StoreName name = UniqueStoreName();
    ScopedStore cleanup(name);
    ForeignSegment foreign(name.key(), c.bytes);
    ASSERT_TRUE(foreign.ok()) << strerror(errno);
    if (c.random) {
      for (size_t i = 0; i < c.bytes; ++i)
        foreign.data()[i] = static_cast<char>(gen.Uniform(0, 256));
    }
    const std::vector<unsigned char> before(foreign.data(), foreign.data() + c.bytes);

    for (OpenMode mode : {OpenMode::kAttach, OpenMode::kOpenOrCreate}) {
      auto r = Store::Open(name, SmallOptions(), mode);
      ASSERT_FALSE(r.ok());
      EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
      EXPECT_THAT(std::string(r.status().message()), HasSubstr(KeyHex(name.key())));
    }
    // The segment belongs to someone else: it was neither changed nor removed.
    EXPECT_TRUE(std::equal(before.begin(), before.end(), foreign.data()));
    EXPECT_GE(shmget(name.key(), 0, 0), 0);
    absl::Status d = Store::Destroy(name);
    EXPECT_FALSE(d.ok()) << "Destroy removed a segment that is not a shmkv store";
    EXPECT_GE(shmget(name.key(), 0, 0), 0);
  }
}

TEST(StoreErrors, FullStoreWithoutEvictionIsResourceExhausted) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 256 << 10;
  o.max_value_size = 2048;
  o.evict = false;
  ASSERT_OK(store.Open(o));

  std::vector<std::string> stored;
  absl::Status full;
  for (int i = 0; i < 1000; ++i) {
    const std::string k = absl::StrCat("fill/", i);
    absl::Status s = store->Put(k, MakeValue(k, i, 1024));
    if (!s.ok()) {
      full = s;
      break;
    }
    stored.push_back(k);
  }
  ASSERT_FALSE(full.ok()) << "1000 KiB went into a 256 KiB store without eviction";
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_THAT(std::string(full.message()), AnyOf(HasSubstr("full"), HasSubstr("evict")));
  EXPECT_GT(stored.size(), 50u) << "gave up long before the capacity was used";

  // Keep trying other keys (other stripes may have room); nothing is lost.
  int refused = 1;
  for (int i = 1000; i < 1400; ++i) {
    const std::string k = absl::StrCat("fill/", i);
    absl::Status s = store->Put(k, MakeValue(k, i, 1024));
    if (s.ok()) {
      stored.push_back(k);
    } else {
      EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
      ++refused;
    }
  }
  EXPECT_GT(refused, 100);
  for (const std::string& k : stored) {
    std::string v;
    ASSERT_OK(store->Get(k, &v)) << k;
    EXPECT_OK(CheckValue(k, v));
  }
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, stored.size());
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.evictions, 0u);

  // Deleting every other entry makes room again.
  size_t freed = 0;
  for (size_t i = 0; i < stored.size(); i += 2, ++freed) ASSERT_OK(store->Delete(stored[i]));
  for (size_t i = 0; i < freed / 4; ++i) {
    const std::string k = absl::StrCat("again/", i);
    EXPECT_OK(store->Put(k, MakeValue(k, i, 1024))) << k << " " << StatsLine(store.get());
  }
  for (size_t i = 1; i < stored.size(); i += 2) {
    std::string v;
    ASSERT_OK(store->Get(stored[i], &v)) << stored[i];
    EXPECT_OK(CheckValue(stored[i], v));
  }
}

// A full store without eviction still takes overwrites that need no more
// room than the entries they replace (it must not turn read-only for
// updates), round after round as its logs wrap; a larger value is refused
// and loses nothing.
TEST(StoreErrors, FullStoreWithoutEvictionTakesSameSizeOverwrites) {
  for (uint32_t stripes : {1u, 4u}) {
    SCOPED_TRACE(absl::StrCat(stripes, " stripes"));
    ScopedStore store;
    Options o = SmallOptions();
    o.capacity_bytes = 256 << 10;
    o.max_value_size = 2048;
    o.lock_stripes = stripes;
    o.evict = false;
    ASSERT_OK(store.Open(o));
    std::vector<std::string> stored;
    for (int i = 0; i < 1000; ++i) {
      const std::string k = absl::StrCat("fill/", i);
      if (!store->Put(k, MakeValue(k, i, 1024)).ok()) continue;
      stored.push_back(k);
    }
    ASSERT_GT(stored.size(), 50u);
    ASSERT_LT(stored.size(), 1000u) << "the store never filled up";
    for (int round = 1; round <= 4; ++round) {
      for (const std::string& k : stored) {
        ASSERT_OK(store->Put(k, MakeValue(k, 1000 * round, 1024)))
            << "round " << round << ", " << k << " " << StatsLine(store.get());
      }
    }
    // Smaller values free room; a value larger than what it replaces only
    // fits if that room is there.
    const std::string& first = stored.front();
    ASSERT_OK(store->Put(first, MakeValue(first, 7, 900)));
    ASSERT_OK(store->Put(first, MakeValue(first, 8, 1024)));
    int refused = 0;
    for (const std::string& k : stored) {
      absl::Status s = store->Put(k, MakeValue(k, 9, 2000));
      if (!s.ok()) {
        EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
        ++refused;
      }
    }
    EXPECT_GT(refused, 0) << "a full store took every value twice as large";
    for (const std::string& k : stored) {
      std::string v;
      ASSERT_OK(store->Get(k, &v)) << k;
      EXPECT_OK(CheckValue(k, v));
    }
    ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
    EXPECT_EQ(stats.evictions, 0u);
    EXPECT_EQ(stats.items, stored.size());
    ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
    EXPECT_TRUE(report.ok) << absl::StrJoin(report.problems, "\n");
  }
}

// Without eviction, compaction must never run short of room: random-size
// overwrites of a store whose live data fits all succeed, and once the store
// is full, overwrites that need no more room than what they replace still
// do. (A write that ate into the reserve once left compaction unable to move
// a live record at the tail, and every later write failed.)
TEST(StoreErrors, WithoutEvictionCompactionNeverRunsShort) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 4 << 20;
  o.max_value_size = 4096;
  o.lock_stripes = 16;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  testutil::TestRng rng(17);
  std::map<std::string, size_t> sizes;
  for (int i = 0; i < 100000; ++i) {
    const std::string k = absl::StrCat("k/", rng.Uniform(0, 800));
    const size_t n = rng.Uniform(1, 4097);
    ASSERT_OK(store->Put(k, std::string(n, 'a'))) << "put #" << i << " " << StatsLine(store.get());
    sizes[k] = n;
  }
  for (int i = 0; i < 100000; ++i) {
    const std::string k = absl::StrCat("more/", i);
    const size_t n = rng.Uniform(1, 4097);
    if (!store->Put(k, std::string(n, 'b')).ok()) continue;
    sizes[k] = n;
  }
  ASSERT_OK_AND_ASSIGN(StoreStats full, store->Stats());
  ASSERT_GT(full.bytes_used, full.capacity / 2) << "the store never filled up";
  std::vector<std::string> keys;
  for (const auto& [k, n] : sizes) keys.push_back(k);
  for (int i = 0; i < 100000; ++i) {
    const std::string& k = keys[rng.Uniform<size_t>(0, keys.size())];
    const size_t n = rng.Uniform<size_t>(1, sizes[k] + 1);
    ASSERT_OK(store->Put(k, std::string(n, 'c')))
        << "overwrite #" << i << " of " << k << " (" << sizes[k] << " -> " << n << " bytes) "
        << StatsLine(store.get());
    sizes[k] = n;
  }
  ASSERT_OK_AND_ASSIGN(StoreStats after, store->Stats());
  EXPECT_EQ(after.items, sizes.size());
  EXPECT_EQ(after.evictions, 0u);
}

TEST(StoreErrors, LockedOutIsUnavailableNamingTheHolder) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("held", "v"));
  testutil::PipeEvent holding;
  const StoreName name = store.name();
  testutil::ChildProcess holder([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    // View's callback runs with the stripe lock held.
    CHILD_CHECK_OK((*s)->View("held",
                              [&](absl::string_view, const EntryMeta&) {
                                holding.Notify();
                                absl::SleepFor(absl::Seconds(3));
                              }),
                   2);
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(10)));
  const absl::Time held_since = absl::Now();

  Options impatient = SmallOptions();
  impatient.lock_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> waiter,
                       Store::Open(name, impatient, OpenMode::kAttach));
  absl::Time start = absl::Now();
  absl::Status s = waiter->Put("held", "w");
  absl::Duration waited = absl::Now() - start;
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat(holder.pid())));
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Milliseconds(2500));

  // A patient writer waits for the holder (about 3 s in all), then succeeds,
  // and the wait is counted.
  ASSERT_OK_AND_ASSIGN(StoreStats before, store->Stats());
  Options patient = SmallOptions();
  patient.lock_timeout = absl::Seconds(20);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> queued,
                       Store::Open(name, patient, OpenMode::kAttach));
  ASSERT_OK(queued->Put("held", "w"));
  EXPECT_GE(absl::Now() - held_since, absl::Seconds(2));
  EXPECT_EQ(holder.Wait(), 0);
  EXPECT_EQ(GetOrDie(store.get(), "held"), "w");
  ASSERT_OK_AND_ASSIGN(StoreStats after, store->Stats());
  EXPECT_GE(after.lock_waits, before.lock_waits + 1);
}

// Someone removes the store's semaphore set (ipcrm -s): only opening and
// destroying use it, so an attached process reads, checks and clears as
// before, one stripe's lock at a time.
TEST(StoreErrors, RemovedSemaphoreSetLeavesAttachedProcessesWorking) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_GE(info.sem_id, 0);
  ASSERT_EQ(semctl(info.sem_id, 0, IPC_RMID), 0) << strerror(errno);

  EXPECT_EQ(GetOrDie(store.get(), "k"), "v");
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok);
  EXPECT_OK(store->Clear());
  ASSERT_OK_AND_ASSIGN(uint64_t items, store->Size());
  EXPECT_EQ(items, 0u);
}

// Corrupts records in the segment behind the store's back. The store must not
// crash or return wrong data: reads give the right value, NotFound or
// DataLoss; Check finds the damage and Check(true) repairs it.
TEST(StoreErrors, CorruptionIsDetectedAndRepaired) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  constexpr int kKeys = 200;
  auto key_of = [](int i) { return absl::StrCat("corruption-target/", 100000 + i, "/k"); };
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(store->Put(key_of(i), MakeValue(key_of(i), i, 200 + i)));
  }
  ASSERT_OK_AND_ASSIGN(CheckReport clean, store->Check(false));
  EXPECT_TRUE(clean.ok);
  EXPECT_TRUE(clean.problems.empty());
  EXPECT_EQ(clean.entries_checked, static_cast<uint64_t>(kKeys));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  const int shm_id = info.shm_id;
  const StoreName name = store.name();
  store.Detach();

  // In a child: a crash there is a failed test, not a dead test binary.
  const int status = RunInChild([&]() -> int {
    void* base = shmat(shm_id, nullptr, 0);
    CHILD_CHECK(base != reinterpret_cast<void*>(-1), 1);
    char* seg = static_cast<char*>(base);
    const absl::string_view all(seg, info.segment_bytes);
    // Damage every 20th record: its key bytes and its 28-byte header
    // (layout v2) before them.
    int damaged = 0;
    for (int i = 0; i < kKeys; i += 20) {
      const std::string k = key_of(i);
      size_t at = all.find(k);
      if (at == absl::string_view::npos || at < 28) continue;
      std::memset(seg + at - 28, 0xA5, 28);
      seg[at + 3] ^= 0x5a;
      ++damaged;
    }
    if (damaged == 0) return 77;  // keys not stored verbatim: cannot aim
    shmdt(base);

    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 2);
    Store& st = **s;
    for (int i = 0; i < kKeys; ++i) {
      std::string v;
      absl::Status g = st.Get(key_of(i), &v);
      if (g.ok()) {
        CHILD_CHECK_OK(CheckValue(key_of(i), v), 3);
      } else {
        if (!absl::IsNotFound(g) && !absl::IsDataLoss(g)) {
          std::fprintf(stderr, "Get(%s) on a damaged store: %s\n", key_of(i).c_str(),
                       g.ToString().c_str());
          return 4;
        }
      }
    }
    auto report = st.Check(false);
    CHILD_CHECK_OK(report, 5);
    CHILD_CHECK(!report->ok, 6);
    CHILD_CHECK(!report->problems.empty(), 7);
    auto repaired = st.Check(true);
    CHILD_CHECK_OK(repaired, 8);
    CHILD_CHECK(!repaired->repairs.empty(), 9);
    CHILD_CHECK(repaired->entries_dropped >= 1, 10);
    auto after = st.Check(false);
    CHILD_CHECK_OK(after, 11);
    CHILD_CHECK(after->ok, 12);
    return 0;
  });
  if (status == 77) GTEST_SKIP() << "keys are not stored verbatim in the segment";
  ASSERT_EQ(status, 0) << testutil::DescribeExit(status);

  // After the repair: every key reads back right or is gone, most survive,
  // and the store works normally.
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kAttach));
  int survivors = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string v;
    absl::Status g = store->Get(key_of(i), &v);
    if (g.ok()) {
      ++survivors;
      EXPECT_OK(CheckValue(key_of(i), v));
    } else {
      EXPECT_TRUE(absl::IsNotFound(g)) << g;
    }
  }
  EXPECT_GE(survivors, kKeys / 2);
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, static_cast<uint64_t>(survivors));
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(store->Put(key_of(i), MakeValue(key_of(i), 1000 + i, 300)));
  }
  for (int i = 0; i < kKeys; ++i) {
    std::string v;
    ASSERT_OK(store->Get(key_of(i), &v));
    ASSERT_OK_AND_ASSIGN(uint64_t seq, CheckValue(key_of(i), v));
    EXPECT_EQ(seq, static_cast<uint64_t>(1000 + i));
  }
  ASSERT_OK_AND_ASSIGN(CheckReport final_report, store->Check(false));
  EXPECT_TRUE(final_report.ok);
}

}  // namespace
}  // namespace shmkv
