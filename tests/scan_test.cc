// Store::Scan, Walk (and ForEach over it), DeleteMatching and DeletePrefix:
// the cursor guarantee under concurrent writes by another process, cursor
// handling, the prefix and glob filters, and bulk delete counts.
#include <algorithm>
#include <atomic>
#include <clocale>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using testutil::CheckValue;
using testutil::ChildProcess;
using testutil::MakeValue;
using testutil::ScopedStore;
using testutil::SharedArray;
using testutil::SmallOptions;

// A store whose index is nearly full, so that probe runs are long and a
// delete shifts entries across chunk ends: what a slot-position cursor
// would get wrong.
Options DenseOptions() {
  Options o = SmallOptions();
  o.capacity_bytes = size_t{8} << 20;
  o.lock_stripes = 2;
  o.expected_items = 2000;
  o.evict = false;
  return o;
}

struct Walk {
  std::map<std::string, int> seen;
  std::map<std::string, std::string> values;
  int calls = 0;
};

// Scans from 0 to 0 in pages of `count`; `between` runs after each page.
absl::Status ScanAll(
    Store& store, size_t count, const ScanOptions& options, Walk* walk,
    const std::function<void()>& between = [] {}) {
  uint64_t cursor = 0;
  do {
    size_t page = 0;
    absl::StatusOr<uint64_t> next =
        store.Scan(cursor, count, options,
                   [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
                     ++walk->seen[std::string(key)];
                     if (options.with_values) {
                       walk->values[std::string(key)] = std::string(value);
                       EXPECT_EQ(meta.value_size, value.size()) << key;
                     }
                     ++page;
                   });
    if (!next.ok()) return next.status();
    // At most `count`, unless more keys share the page's first index home
    // slot: at these tests' index load, 8 or more sharing one is very rare.
    EXPECT_LE(page, std::max<size_t>(count, 8)) << "cursor " << cursor;
    cursor = *next;
    ++walk->calls;
    between();
  } while (cursor != 0);
  return absl::OkStatus();
}

// Store::Walk over `options`; `each` runs after every entry, with no lock
// held.
absl::Status WalkAll(
    Store& store, const ScanOptions& options, Walk* walk,
    const std::function<void()>& each = [] {}) {
  return store.Walk(options,
                    [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
                      ++walk->seen[std::string(key)];
                      if (options.with_values) {
                        walk->values[std::string(key)] = std::string(value);
                        EXPECT_EQ(meta.value_size, value.size()) << key;
                      } else {
                        EXPECT_TRUE(value.empty()) << key;
                      }
                      ++walk->calls;
                      each();
                      return true;
                    });
}

TEST(Scan, EmptyStoreIsDoneAtOnce) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  int calls = 0;
  absl::StatusOr<uint64_t> next = store->Scan(0, 10, {}, [&](auto, auto, const auto&) { ++calls; });
  ASSERT_OK(next);
  EXPECT_EQ(*next, 0u);
  EXPECT_EQ(calls, 0);
}

TEST(Scan, VisitsEveryKeyOnceInPagesOfCount) {
  ScopedStore store;
  ASSERT_OK(store.Open(DenseOptions()));
  constexpr int kKeys = 2200;
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = absl::StrCat("k/", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 1, 40)));
  }
  for (size_t count : {size_t{1}, size_t{7}, size_t{100}, size_t{100000}}) {
    Walk walk;
    ASSERT_OK(ScanAll(*store, count, {}, &walk));
    EXPECT_EQ(walk.seen.size(), size_t{kKeys}) << "count " << count;
    for (const auto& [k, n] : walk.seen) EXPECT_EQ(n, 1) << k << " count " << count;
    if (count == 1) EXPECT_GE(walk.calls, kKeys / 8);  // pages really are small
    if (count == 100000) EXPECT_EQ(walk.calls, 1);
  }
}

// A stripe whose whole index is one chunk, filled to its limit: probe runs
// wrap around the index's end, and the walk must not read the slots it
// started at a second time (it did: ForEach and Scan passed wrapped keys
// twice). Several hash seeds, so that some runs wrap.
// A page holds at most `count` entries, even where several keys share an
// index home slot (frequent in a dense index): the cursor can resume
// between them. (Keys of a stripe sharing the top 32 bits of their hash
// would come together: with 300 keys in 2 stripes, about 5 in a million
// stores have such a pair.)
TEST(Scan, PagesHoldAtMostCount) {
  ScopedStore store;
  Options o = DenseOptions();
  o.expected_items = 300;
  // A fixed seed: with a random one, about 1 store in 100,000 has two of
  // these keys sharing the top 32 bits of their hash, the documented case
  // where a page may exceed count.
  o.hash_seed = 0x5eed;
  ASSERT_OK(store.Open(o));
  for (int i = 0; i < 300; ++i) ASSERT_OK(store->Put(absl::StrCat("k", i), "v"));
  for (size_t count : {1, 2, 3}) {
    SCOPED_TRACE(count);
    std::map<std::string, int> seen;
    uint64_t cursor = 0;
    do {
      size_t page = 0;
      absl::StatusOr<uint64_t> next =
          store->Scan(cursor, count, {}, [&](absl::string_view key, auto, const auto&) {
            ++seen[std::string(key)];
            ++page;
          });
      ASSERT_OK(next);
      ASSERT_LE(page, count) << "cursor " << cursor;
      cursor = *next;
    } while (cursor != 0);
    EXPECT_EQ(seen.size(), 300u);
    for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << key;
  }
}

TEST(Scan, AWholeIndexChunkPassesWrappedKeysOnce) {
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    SCOPED_TRACE(absl::StrCat("hash seed ", seed));
    ScopedStore store;
    Options o = SmallOptions();
    o.lock_stripes = 1;
    o.expected_items = 16;  // 23 slots, at most 21 entries
    o.evict = false;
    o.hash_seed = seed;
    ASSERT_OK(store.Open(o));
    int stored = 0;
    for (int i = 0; i < 64; ++i) {
      const std::string k = absl::StrCat("w/", i);
      if (store->Put(k, MakeValue(k, 1, 16)).ok()) ++stored;
    }
    ASSERT_GE(stored, 20);
    std::map<std::string, int> seen;
    ASSERT_OK(store->ForEach("", [&](absl::string_view key, absl::string_view, const EntryMeta&) {
      ++seen[std::string(key)];
      return true;
    }));
    EXPECT_EQ(seen.size(), size_t(stored));
    for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k;
    Walk walk;
    ASSERT_OK(ScanAll(*store, 1000, {}, &walk));
    EXPECT_EQ(walk.seen.size(), size_t(stored));
    for (const auto& [k, n] : walk.seen) EXPECT_EQ(n, 1) << k;
  }
}

TEST(Scan, WithoutValuesPassesNoValue) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("a", "12345"));
  ASSERT_OK(store->Put("b", ""));
  ScanOptions options;  // with_values defaults to false
  std::map<std::string, size_t> sizes;
  absl::StatusOr<uint64_t> next = store->Scan(
      0, 10, options, [&](absl::string_view k, absl::string_view v, const EntryMeta& m) {
        EXPECT_TRUE(v.empty()) << k;
        sizes[std::string(k)] = m.value_size;
      });
  ASSERT_OK(next);
  EXPECT_EQ(*next, 0u);
  EXPECT_EQ(sizes, (std::map<std::string, size_t>{{"a", 5}, {"b", 0}}));
  options.with_values = true;
  std::map<std::string, std::string> values;
  ASSERT_OK(store->Scan(0, 10, options, [&](absl::string_view k, absl::string_view v, const auto&) {
    values[std::string(k)] = std::string(v);
  }));
  EXPECT_EQ(values, (std::map<std::string, std::string>{{"a", "12345"}, {"b", ""}}));
}

TEST(Scan, CursorRoundTripAndBadCursors) {
  ScopedStore store;
  ASSERT_OK(store.Open(DenseOptions()));
  for (int i = 0; i < 500; ++i) ASSERT_OK(store->Put(absl::StrCat("k", i), "v"));
  std::set<std::string> first, again;
  absl::StatusOr<uint64_t> next =
      store->Scan(0, 50, {}, [&](absl::string_view k, auto, const auto&) { first.emplace(k); });
  ASSERT_OK(next);
  ASSERT_NE(*next, 0u);
  // The same cursor gives the same page back while nothing changed.
  uint64_t cursor = *next;
  std::set<std::string> page1, page2;
  ASSERT_OK(store->Scan(cursor, 50, {},
                        [&](absl::string_view k, auto, const auto&) { page1.emplace(k); }));
  ASSERT_OK(store->Scan(cursor, 50, {},
                        [&](absl::string_view k, auto, const auto&) { page2.emplace(k); }));
  EXPECT_EQ(page1, page2);
  for (const std::string& k : page1) EXPECT_EQ(first.count(k), 0u) << k << " seen twice";

  auto noop = [](auto, auto, const auto&) {};
  for (uint64_t bad : {uint64_t{1}, uint64_t{12345}, cursor + (uint64_t{1} << 40), ~uint64_t{0},
                       cursor ^ (uint64_t{1} << 50)}) {
    absl::StatusOr<uint64_t> r = store->Scan(bad, 10, {}, noop);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad << ": " << r.status();
    EXPECT_TRUE(absl::StrContains(r.status().message(), "cursor 0")) << r.status();
  }
  absl::StatusOr<uint64_t> zero = store->Scan(0, 0, {}, noop);
  EXPECT_TRUE(absl::IsInvalidArgument(zero.status())) << zero.status();

  // Another store's cursor is refused (its hash seed differs).
  ScopedStore other;
  ASSERT_OK(other.Open(DenseOptions()));
  absl::StatusOr<uint64_t> foreign = other->Scan(cursor, 10, {}, noop);
  EXPECT_TRUE(absl::IsInvalidArgument(foreign.status())) << foreign.status();
}

TEST(Scan, PrefixAndGlobFilters) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  for (const char* k :
       {"user:1", "user:22", "user:3/x", "usr:1", "session:1", "user:", "a*b", "aXb", "k?", "kk"}) {
    ASSERT_OK(store->Put(k, "v"));
  }
  ASSERT_OK(store->Put(std::string("user:\0nul", 9), "v"));
  auto keys = [&](ScanOptions options) {
    Walk walk;
    EXPECT_OK(ScanAll(*store, 3, options, &walk));
    std::set<std::string> out;
    for (const auto& [k, n] : walk.seen) out.insert(k);
    return out;
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(keys({"user:", "", false}),
            (Set{"user:1", "user:22", "user:3/x", "user:", std::string("user:\0nul", 9)}));
  EXPECT_EQ(keys({"", "user:?", false}), (Set{"user:1"}));
  EXPECT_EQ(keys({"", "user:*", false}), (Set{"user:1", "user:22", "user:3/x", "user:"}));
  EXPECT_EQ(keys({"", "*:[12]*", false}), (Set{"user:1", "user:22", "usr:1", "session:1"}));
  EXPECT_EQ(keys({"us", "*[!0-9]", false}), (Set{"user:3/x", "user:"}));
  EXPECT_EQ(keys({"", "a\\*b", false}), (Set{"a*b"}));
  EXPECT_EQ(keys({"", "a*b", false}), (Set{"a*b", "aXb"}));
  EXPECT_EQ(keys({"", "k\\?", false}), (Set{"k?"}));
  EXPECT_EQ(keys({"nope", "", false}), Set{});
  absl::StatusOr<uint64_t> nul =
      store->Scan(0, 5, {"", std::string("a\0b", 3), false}, [](auto, auto, const auto&) {});
  EXPECT_TRUE(absl::IsInvalidArgument(nul.status())) << nul.status();
}

// Globs match bytes whatever the process's locale: fnmatch(3), which
// follows LC_CTYPE, takes "?" for one UTF-8 character in a UTF-8 locale.
TEST(Scan, GlobsMatchBytesInAUtf8Locale) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  const std::string accented = "user:\xc3\xa9";  // "user:é" in UTF-8
  ASSERT_OK(store->Put(accented, "v"));
  ASSERT_OK(store->Put("user:x", "v"));
  ASSERT_NE(std::setlocale(LC_ALL, "C.UTF-8"), nullptr);
  auto keys = [&](const char* match) {
    Walk walk;
    EXPECT_OK(ScanAll(*store, 10, {"", match, false}, &walk));
    std::set<std::string> out;
    for (const auto& [k, n] : walk.seen) out.insert(k);
    return out;
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(keys("user:?"), (Set{"user:x"}));
  EXPECT_EQ(keys("user:??"), (Set{accented}));
  ScanOptions one_char;
  one_char.match = "user:?";
  absl::StatusOr<uint64_t> removed = store->DeleteMatching(one_char);
  std::setlocale(LC_ALL, "C");
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 1u);
  ASSERT_OK_AND_ASSIGN(bool kept, store->Contains(accented));
  EXPECT_TRUE(kept);
}

TEST(Scan, InvalidGlobsAreRefused) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("[", "v"));
  for (const std::string& match :
       {std::string("["), std::string("user:[a-"), std::string("a\\"), std::string(2000, '*')}) {
    SCOPED_TRACE(match.substr(0, 20));
    absl::StatusOr<uint64_t> page =
        store->Scan(0, 5, {"", match, false}, [](auto, auto, const auto&) {});
    EXPECT_TRUE(absl::IsInvalidArgument(page.status())) << page.status();
    EXPECT_NE(page.status().message().find("match"), absl::string_view::npos) << page.status();
    absl::StatusOr<uint64_t> removed = store->DeleteMatching({"", match, false});
    EXPECT_TRUE(absl::IsInvalidArgument(removed.status())) << removed.status();
  }
  ASSERT_OK_AND_ASSIGN(bool kept, store->Contains("["));
  EXPECT_TRUE(kept);
}

TEST(Scan, ExpiredEntriesAreNotPassed) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("live", "v"));
  WriteOptions soon;
  soon.ttl = absl::Milliseconds(1);
  ASSERT_OK(store->Put("gone", "v", soon));
  absl::SleepFor(absl::Milliseconds(20));
  Walk walk;
  ASSERT_OK(ScanAll(*store, 10, {}, &walk));
  EXPECT_EQ(walk.seen, (std::map<std::string, int>{{"live", 1}}));
}

// The usual scan-and-delete loop: deleting the keys a page returned shifts
// the entries after them in their probe runs back, across the cursor. The
// keys that stay must all be seen, and each key once.
TEST(Scan, DeletingWhatEachPageReturnedMissesNothing) {
  for (size_t count : {size_t{1}, size_t{4}}) {
    ScopedStore store;
    Options o = DenseOptions();
    o.lock_stripes = 1;
    ASSERT_OK(store.Open(o));
    constexpr int kKeys = 2200;  // of at most 2500 in the index
    for (int i = 0; i < kKeys; ++i)
      ASSERT_OK(store->Put(absl::StrCat(i % 2 ? "stay/" : "go/", i), "v"));
    std::vector<std::string> page;
    std::map<std::string, int> seen;
    uint64_t cursor = 0;
    do {
      page.clear();
      absl::StatusOr<uint64_t> next =
          store->Scan(cursor, count, {}, [&](absl::string_view k, auto, const auto&) {
            page.emplace_back(k);
            ++seen[std::string(k)];
          });
      ASSERT_OK(next);
      cursor = *next;
      for (const std::string& k : page) {
        if (absl::StartsWith(k, "go/")) ASSERT_OK(store->Delete(k));
      }
    } while (cursor != 0);
    EXPECT_EQ(seen.size(), size_t{kKeys}) << "count " << count;
    for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k << " count " << count;
    ASSERT_OK_AND_ASSIGN(uint64_t left, store->Size());
    EXPECT_EQ(left, uint64_t{kKeys / 2});
  }
}

// Keys present the whole walk are seen exactly once, however the index
// changes between pages: another process churns keys of the same (dense)
// stripes, and this one deletes and re-adds keys between the pages too.
TEST(Scan, SeesEveryStableKeyWhileAnotherProcessWrites) {
  ScopedStore store;
  const Options options = DenseOptions();
  ASSERT_OK(store.Open(options));
  // 2300 keys in an index of at most 2 x 1250: long probe runs. Stable and
  // churn keys are written in turn, so that stable keys too sit displaced
  // from their homes (and move when a churn key before them goes). Churn
  // keys a full stripe refuses are skipped.
  constexpr int kStable = 1400;
  constexpr int kChurn = 900;
  for (int i = 0; i < kStable; ++i) {
    const std::string k = absl::StrCat("s/", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 0, 48)));
    if (i >= kChurn) continue;
    const std::string c = absl::StrCat("c/", i);
    absl::Status p = store->Put(c, MakeValue(c, 0, 48));
    ASSERT_TRUE(p.ok() || absl::IsResourceExhausted(p)) << p;
  }
  const StoreName name = store.name();
  SharedArray<std::atomic<int>> stop(1);
  SharedArray<std::atomic<uint64_t>> writes(1);
  auto write = [&]() -> int {
    auto s = Store::Open(name, options, OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    testutil::TestRng gen(18);
    for (uint64_t seq = 1; stop[0].load() == 0; ++seq) {
      // Churn keys go out and come back (shifting their neighbours back on
      // each delete); stable keys are only overwritten.
      const std::string churn = absl::StrCat("c/", gen.Uniform(0, kChurn));
      absl::Status d = (*s)->Delete(churn);
      CHILD_CHECK(d.ok() || absl::IsNotFound(d), 2);
      const std::string back = absl::StrCat("c/", gen.Uniform(0, kChurn));
      absl::Status p = (*s)->Put(back, MakeValue(back, seq, 48));
      CHILD_CHECK(p.ok() || absl::IsResourceExhausted(p), 3);
      const std::string k = absl::StrCat("s/", gen.Uniform(0, kStable));
      CHILD_CHECK_OK((*s)->Put(k, MakeValue(k, seq, gen.Uniform<size_t>(16, 200))), 4);
      writes[0].fetch_add(1);
    }
    return 0;
  };
  // The writer runs until the walks are done, however long load and
  // sanitizers make them: no alarm of its own ends it.
  ChildProcess writer(write, absl::InfiniteDuration());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (writes[0].load() < 1000 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_GE(writes[0].load(), 1000u);

  testutil::TestRng gen(81);
  uint64_t overlapped = 0;
  // Passes 0-9 scan in pages of each count, with and without values (pass
  // % 5 picks the count, pass % 2 the values: every pair once); passes 10
  // and 11 are one Store::Walk each, without and with values.
  for (int pass = 0; pass < 12; ++pass) {
    Walk walk;
    ScanOptions scan;
    scan.with_values = pass % 2 == 1;
    const uint64_t before = writes[0].load();
    const size_t counts[] = {1, 2, 3, 10, 100};
    auto churn = [&] {
      // This process's own churn between pages (where the walk resumes),
      // or between a walk's entries.
      const std::string k = absl::StrCat("c/", gen.Uniform(0, kChurn));
      absl::Status d = store->Delete(k);
      EXPECT_TRUE(d.ok() || absl::IsNotFound(d)) << d;
      absl::Status p = store->Put(k, MakeValue(k, 0, 48));
      EXPECT_TRUE(p.ok() || absl::IsResourceExhausted(p)) << p;
    };
    if (pass < 10) {
      ASSERT_OK(ScanAll(*store, counts[pass % 5], scan, &walk, churn));
    } else {
      ASSERT_OK(WalkAll(*store, scan, &walk, [&] {
        if (walk.calls % 50 == 0) churn();
      }));
    }
    if (writes[0].load() > before) ++overlapped;
    int stable = 0;
    for (const auto& [k, n] : walk.seen) {
      EXPECT_EQ(n, 1) << "pass " << pass << ": " << k << " passed " << n << " times";
      if (absl::StartsWith(k, "s/")) ++stable;
      if (scan.with_values) EXPECT_OK(CheckValue(k, walk.values[k])) << k;
    }
    EXPECT_EQ(stable, kStable) << "pass " << pass << ": keys present the whole walk were missed";
  }
  stop[0].store(1);
  EXPECT_EQ(writer.Wait(), 0);
  EXPECT_GT(overlapped, 0u) << "no walk overlapped the writer";
}

TEST(Scan, ForEachStopsAndSeesStableKeysOnce) {
  ScopedStore store;
  ASSERT_OK(store.Open(DenseOptions()));
  for (int i = 0; i < 1000; ++i) ASSERT_OK(store->Put(absl::StrCat("p/", i), "v"));
  int visited = 0;
  ASSERT_OK(store->ForEach("p/", [&](auto, auto, const auto&) { return ++visited < 300; }));
  EXPECT_EQ(visited, 300);
  std::map<std::string, int> seen;
  ASSERT_OK(store->ForEach("", [&](absl::string_view k, absl::string_view v, const auto&) {
    EXPECT_EQ(v, "v");
    ++seen[std::string(k)];
    return true;
  }));
  EXPECT_EQ(seen.size(), 1000u);
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k;
}

// Walk selects what a Scan from 0 to 0 selects, by prefix, glob or both,
// with or without values, and leaves out expired entries.
TEST(Walk, SelectsWhatScanSelects) {
  ScopedStore store;
  ASSERT_OK(store.Open(DenseOptions()));
  for (int i = 0; i < 600; ++i) {
    const std::string k = absl::StrCat(i % 3 == 0 ? "user:" : "item/", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 0, i % 200)));
  }
  WriteOptions soon;
  soon.ttl = absl::Milliseconds(1);
  ASSERT_OK(store->Put("user:gone", "v", soon));
  ASSERT_OK(store->Put("item/gone", "v", soon));
  absl::SleepFor(absl::Milliseconds(20));
  for (const ScanOptions& options : std::vector<ScanOptions>{{"", "", false},
                                                             {"user:", "", false},
                                                             {"", "item/1*", true},
                                                             {"user:", "*[05]", true},
                                                             {"nope", "", true}}) {
    SCOPED_TRACE(absl::StrCat("prefix '", options.prefix, "' match '", options.match,
                              "' with_values ", options.with_values));
    Walk scanned, walked;
    ASSERT_OK(ScanAll(*store, 100, options, &scanned));
    ASSERT_OK(WalkAll(*store, options, &walked));
    EXPECT_EQ(walked.seen, scanned.seen);
    EXPECT_EQ(walked.values, scanned.values);
    EXPECT_EQ(walked.seen.count("user:gone") + walked.seen.count("item/gone"), 0u);
    for (const auto& [k, n] : walked.seen) {
      EXPECT_EQ(n, 1) << k;
      if (options.with_values) EXPECT_OK(CheckValue(k, walked.values[k])) << k;
    }
  }
  Walk all;
  ASSERT_OK(WalkAll(*store, {}, &all));
  EXPECT_EQ(all.seen.size(), 600u);
}

TEST(Walk, WithoutValuesPassesSizesButNoValue) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("a", "12345"));
  ASSERT_OK(store->Put("b", ""));
  std::map<std::string, size_t> sizes;
  ASSERT_OK(store->Walk({}, [&](absl::string_view k, absl::string_view v, const EntryMeta& m) {
    EXPECT_TRUE(v.empty()) << k;
    sizes[std::string(k)] = m.value_size;
    return true;
  }));
  EXPECT_EQ(sizes, (std::map<std::string, size_t>{{"a", 5}, {"b", 0}}));
}

TEST(Walk, StopsWhenTheVisitorSaysSo) {
  ScopedStore store;
  ASSERT_OK(store.Open(DenseOptions()));
  for (int i = 0; i < 1000; ++i) ASSERT_OK(store->Put(absl::StrCat("p/", i), "v"));
  int visited = 0;
  ASSERT_OK(
      store->Walk({"p/", "", true}, [&](auto, auto, const auto&) { return ++visited < 300; }));
  EXPECT_EQ(visited, 300);
}

TEST(Walk, BadGlobIsRefusedBeforeAnyEntry) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("[", "v"));
  int visited = 0;
  absl::Status walk = store->Walk({"", "user:[a-", false}, [&](auto, auto, const auto&) {
    ++visited;
    return true;
  });
  EXPECT_TRUE(absl::IsInvalidArgument(walk)) << walk;
  EXPECT_NE(walk.message().find("match"), absl::string_view::npos) << walk;
  EXPECT_EQ(visited, 0);
}

TEST(Walk, DestroyedStoreIsAnError) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK(Store::Destroy(store.name()));
  absl::Status walk = store->Walk({}, [](auto, auto, const auto&) { return true; });
  EXPECT_TRUE(IsStoreDestroyed(walk)) << walk;
}

TEST(DeleteMatching, CountsAndLeavesOtherKeys) {
  ScopedStore store;
  ASSERT_OK(store.Open(DenseOptions()));
  for (int i = 0; i < 700; ++i) {
    ASSERT_OK(store->Put(absl::StrCat("tmp/", i), "v"));
    ASSERT_OK(store->Put(absl::StrCat("keep/", i), "v"));
  }
  ASSERT_OK(store->Put("tmp", "not under tmp/"));
  absl::StatusOr<uint64_t> removed = store->DeletePrefix("tmp/");
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 700u);
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 701u);
  std::string value;
  EXPECT_OK(store->Get("tmp", &value));
  removed = store->DeletePrefix("tmp/");
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 0u);

  ScanOptions glob;
  glob.match = "keep/*5";
  removed = store->DeleteMatching(glob);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 70u);  // 5, 15, ..., 695
  glob.prefix = "keep/1";
  glob.match = "*0";
  removed = store->DeleteMatching(glob);
  ASSERT_OK(removed);
  EXPECT_EQ(*removed, 11u);  // keep/10, keep/100 .. keep/190
  int left = 0;
  ASSERT_OK(store->ForEach("keep/", [&](absl::string_view k, auto, const auto&) {
    EXPECT_FALSE(absl::EndsWith(k, "5")) << k;
    EXPECT_FALSE(absl::StartsWith(k, "keep/1") && absl::EndsWith(k, "0")) << k;
    ++left;
    return true;
  }));
  EXPECT_EQ(left, 700 - 70 - 11);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.deletes, 700u + 70 + 11);
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
}

}  // namespace
}  // namespace shmkv
