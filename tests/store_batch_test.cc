// Batched reads and writes (Store::GetMany, Store::PutMany): each key's result
// is what Get or Put would have returned for it, with the same side effects
// (stats, expiry, versions), across chunks and stripes, and values read while
// other processes write are never torn.
#include <atomic>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "kv/internal/hash.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::CheckValue;
using ::shmkv::testutil::ChildProcess;
using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::RunChildren;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SharedArray;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::TestRng;

constexpr int64_t kStartMs = int64_t{1700000000000};  // a fixed "now" for ManualClock

constexpr uint64_t kTwinSeed = 0x5eed5eed5eedull;
constexpr uint32_t kTwinStripes = 16;

// Options for two stores that must behave identically: same clock, same
// hash seed (so the same keys share stripes and versions), 16 stripes.
Options TwinOptions(const Clock* clock) {
  Options o = SmallOptions();
  o.clock = clock;
  o.hash_seed = kTwinSeed;
  o.lock_stripes = kTwinStripes;
  return o;
}

// The stripe a twin store files `key` under (the segment format's hash).
uint32_t TwinStripe(absl::string_view key) {
  return internal::Hash64(key.data(), key.size(), kTwinSeed) & (kTwinStripes - 1);
}

size_t MaxKeySize(Store& store) {
  absl::StatusOr<StoreInfo> info = store.Info();
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? info->max_key_size : 0;
}

// The counters that reads and writes change.
std::string Counters(Store& store) {
  absl::StatusOr<StoreStats> st = store.Stats();
  if (!st.ok()) return st.status().ToString();
  return absl::StrCat("hits ", st->hits, " misses ", st->misses, " puts ", st->puts,
                      " expirations ", st->expirations, " evictions ", st->evictions, " items ",
                      st->items, " bytes_used ", st->bytes_used);
}

// A key of the test's universe, an invalid key, or a key never written.
std::string PickKey(TestRng& rng, size_t max_key) {
  const int kind = rng.Uniform(0, 20);
  if (kind == 0) return "";
  if (kind == 1) return std::string(max_key + 1, 'k');
  if (kind == 2) return absl::StrCat("never/", rng.Uniform(0, 1000));
  return absl::StrCat("k/", rng.Uniform(0, 600));
}

std::string Describe(const GetResult& r) {
  return absl::StrCat(r.status.ToString(), " value=\"", r.value, "\" version=", r.meta.version,
                      " flags=", r.meta.flags, " expires=", r.meta.expires_at_ms,
                      " ttl=", absl::FormatDuration(r.meta.ttl_remaining));
}

// GetMany on one store and a loop of Get on its twin answer the same, and
// leave the same counters, over random batches (sizes across the 64-key
// chunks) mixing hits, misses, expired entries, repeated and invalid keys.
TEST(StoreBatch, GetManyEqualsGetLoop) {
  ManualClock clock(kStartMs);
  ScopedStore batch, loop;
  ASSERT_OK(batch.Open(TwinOptions(&clock)));
  ASSERT_OK(loop.Open(TwinOptions(&clock)));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, batch->Info());
  ASSERT_EQ(info.lock_stripes, kTwinStripes);
  const size_t max_key = MaxKeySize(*batch);
  TestRng rng(17);
  std::vector<GetResult> results;
  std::vector<std::string> key_storage;
  std::vector<absl::string_view> keys;
  int large_batches = 0;  // over 64 keys (several chunks), covering every stripe
  for (int round = 0; round < 60; ++round) {
    // Writes (identical on both): some with short TTLs, some deletes.
    for (int w = 0; w < 40; ++w) {
      const std::string k = absl::StrCat("k/", rng.Uniform(0, 600));
      WriteOptions o;
      if (rng.Bernoulli(0.3)) o.ttl = absl::Milliseconds(rng.Uniform(1, 400));
      o.flags = static_cast<uint32_t>(rng.Uniform(0, 4));
      if (rng.Bernoulli(0.1)) {
        absl::Status a = batch->Delete(k), b = loop->Delete(k);
        ASSERT_EQ(a.code(), b.code()) << k;
        continue;
      }
      const std::string v = MakeValue(k, round * 100 + w, rng.Uniform<size_t>(32, 600));
      ASSERT_OK(batch->Put(k, v, o));
      ASSERT_OK(loop->Put(k, v, o));
    }
    clock.Advance(rng.Uniform(0, 200));

    key_storage.clear();
    const size_t n = rng.Uniform<size_t>(0, 200);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && rng.Bernoulli(0.1)) {
        key_storage.push_back(key_storage[rng.Uniform<size_t>(0, i)]);  // repeated in the batch
      } else {
        key_storage.push_back(PickKey(rng, max_key));
      }
    }
    keys.assign(key_storage.begin(), key_storage.end());

    std::bitset<kTwinStripes> stripes;
    for (absl::string_view k : keys) stripes.set(TwinStripe(k));
    if (n >= 100) {
      EXPECT_TRUE(stripes.all()) << "round " << round << ": a large batch missed a stripe";
      ++large_batches;
    }

    ASSERT_OK(batch->GetMany(keys, &results));
    ASSERT_EQ(results.size(), n);
    for (size_t i = 0; i < n; ++i) {
      GetResult want;
      want.status = loop->Get(keys[i], &want.value, &want.meta);
      const GetResult& got = results[i];
      ASSERT_EQ(got.status, want.status) << "round " << round << " key \"" << keys[i] << "\"";
      if (want.status.ok()) {
        EXPECT_EQ(got.value, want.value) << keys[i];
        EXPECT_EQ(Describe(got), Describe(want)) << keys[i];
        EXPECT_OK(CheckValue(keys[i], got.value));
      } else {
        EXPECT_TRUE(got.value.empty()) << Describe(got);
      }
      if (absl::IsNotFound(got.status)) EXPECT_TRUE(got.status.message().empty());
    }
    ASSERT_EQ(Counters(*batch), Counters(*loop)) << "round " << round;
  }
  absl::StatusOr<StoreStats> st = batch->Stats();
  ASSERT_OK(st);
  EXPECT_GT(st->hits, 1000u);
  EXPECT_GT(st->misses, 100u);
  EXPECT_GT(st->expirations, 50u) << "the batches met too few expired entries";
  EXPECT_GT(large_batches, 10);
}

// Each key counts one hit or one miss, repeated keys each time; bad keys fail
// alone and count nothing.
TEST(StoreBatch, GetManyCountsPerKeyAndServesAroundBadKeys) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  const size_t max_key = MaxKeySize(*store);
  ASSERT_OK(store->Put("a", "1"));
  ASSERT_OK(store->Put("b", "22"));
  ASSERT_OK_AND_ASSIGN(StoreStats before, store->Stats());
  const std::string oversized(max_key + 1, 'x');
  const std::vector<absl::string_view> keys = {"a", "", "missing", "b", oversized, "a", "b", "no"};
  std::vector<GetResult> results;
  ASSERT_OK(store->GetMany(keys, &results));
  ASSERT_EQ(results.size(), keys.size());
  EXPECT_OK(results[0].status);
  EXPECT_EQ(results[0].value, "1");
  EXPECT_EQ(results[1].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(results[2].status, absl::Status(absl::StatusCode::kNotFound, ""));
  EXPECT_EQ(results[3].value, "22");
  EXPECT_EQ(results[3].meta.value_size, 2u);
  EXPECT_EQ(results[4].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(results[5].value, "1");
  EXPECT_EQ(results[6].value, "22");
  EXPECT_TRUE(absl::IsNotFound(results[7].status));
  ASSERT_OK_AND_ASSIGN(StoreStats after, store->Stats());
  EXPECT_EQ(after.hits - before.hits, 4u);
  EXPECT_EQ(after.misses - before.misses, 2u);

  // Fewer keys shrink the results; an empty batch is fine.
  ASSERT_OK(store->GetMany(absl::MakeConstSpan(keys.data(), 1), &results));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_OK(store->GetMany({}, &results));
  EXPECT_TRUE(results.empty());
}

// A caller that keeps its results vector reuses each value's buffer: a
// steady batch allocates nothing for the values.
TEST(StoreBatch, GetManyReusesValueBuffers) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  std::vector<std::string> names;
  for (int i = 0; i < 150; ++i) {
    names.push_back(absl::StrCat("key-", i));
    ASSERT_OK(store->Put(names.back(), std::string(100 + i, 'v')));
  }
  std::vector<absl::string_view> keys(names.begin(), names.end());
  keys.push_back("absent");
  std::vector<GetResult> results;
  ASSERT_OK(store->GetMany(keys, &results));
  std::vector<const char*> buffers;
  for (const GetResult& r : results) buffers.push_back(r.value.data());
  for (int pass = 0; pass < 3; ++pass) {
    ASSERT_OK(store->GetMany(keys, &results));
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(results[i].value.data(), buffers[i]) << "pass " << pass << " key " << keys[i];
      if (i < names.size()) EXPECT_EQ(results[i].value.size(), 100 + i);
    }
  }
}

// After Store::Destroy the call fails as a whole and every valid key carries
// that error.
TEST(StoreBatch, DestroyedStoreFailsTheCall) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("a", "1"));
  ASSERT_OK(Store::Destroy(store.name()));
  std::vector<absl::string_view> keys;
  for (int i = 0; i < 100; ++i) keys.push_back(i % 10 == 0 ? "" : "a");
  std::vector<GetResult> results;
  absl::Status s = store->GetMany(keys, &results);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  ASSERT_EQ(results.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(results[i].status.code(), i % 10 == 0 ? absl::StatusCode::kInvalidArgument
                                                    : absl::StatusCode::kFailedPrecondition)
        << i;
    EXPECT_TRUE(results[i].value.empty());
  }
  std::vector<PutItem> items = {{"a", "2"}, {"b", "3"}};
  std::vector<PutResult> put_results;
  EXPECT_EQ(store->PutMany(items, {}, &put_results).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(put_results.size(), 2u);
  EXPECT_EQ(put_results[1].status.code(), absl::StatusCode::kFailedPrecondition);
}

// A stripe lock held past lock_timeout stops the call with Unavailable: the
// key behind it carries that error, every other key either its answer or
// the error.
TEST(StoreBatch, LockTimeoutStopsTheCall) {
  ScopedStore store;
  Options o = SmallOptions();
  o.lock_timeout = absl::Milliseconds(200);
  ASSERT_OK(store.Open(o));
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.push_back(absl::StrCat("key-", i));
    ASSERT_OK(store->Put(names.back(), names.back()));
  }
  const StoreName name = store.name();
  PipeEvent held, release;
  ChildProcess holder([&]() -> int {
    auto s = Store::Open(name, o, OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    // View holds the key's stripe lock while its callback runs.
    CHILD_CHECK_OK((*s)->View("key-7",
                              [&](absl::string_view, const EntryMeta&) {
                                held.Notify();
                                release.WaitFor(absl::Seconds(30));
                              }),
                   2);
    return 0;
  });
  ASSERT_TRUE(held.WaitFor(absl::Seconds(20)));
  std::vector<absl::string_view> keys(names.begin(), names.end());
  std::vector<GetResult> results;
  absl::Status s = store->GetMany(keys, &results);
  release.Notify();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(results[7].status.code(), absl::StatusCode::kUnavailable) << results[7].status;
  int served = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (results[i].status.ok()) {
      EXPECT_EQ(results[i].value, keys[i]);
      ++served;
    } else {
      EXPECT_EQ(results[i].status, s) << keys[i];
    }
  }
  EXPECT_LT(served, static_cast<int>(keys.size()));
  EXPECT_EQ(holder.Wait(), 0);
  // With the lock free again, everything is served.
  ASSERT_OK(store->GetMany(keys, &results));
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(results[i].value, keys[i]);
}

// PutMany's per-item conditions, options and versions, in the order given
// for a key repeated in the batch.
TEST(StoreBatch, PutManyConditionsPerItem) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  ASSERT_OK(store.Open(TwinOptions(&clock)));
  uint64_t v_present = 0;
  ASSERT_OK(store->Put("present", "old", {}, &v_present));
  ASSERT_OK(store->Put("versioned", "old"));

  WriteOptions if_absent, if_present, cas_right, cas_wrong, never;
  if_absent.condition = WriteCondition::kIfAbsent;
  if_present.condition = WriteCondition::kIfPresent;
  cas_right.condition = cas_wrong.condition = WriteCondition::kIfVersion;
  cas_right.expected_version = v_present;
  cas_wrong.expected_version = v_present + 12345;
  never.ttl = absl::InfiniteDuration();
  WriteOptions defaults;
  defaults.ttl = absl::Seconds(10);
  defaults.flags = 7;

  const std::string too_big(SmallOptions().max_value_size + 1, 'v');
  const std::vector<PutItem> items = {
      {"plain", "p"},                     // 0: defaults
      {"present", "x", &if_absent},       // 1: AlreadyExists
      {"absent", "x", &if_present},       // 2: NotFound
      {"fresh", "f1", &if_absent},        // 3: OK
      {"fresh", "f2", &if_absent},        // 4: AlreadyExists (item 3 wrote it)
      {"present", "cas", &cas_wrong},     // 5: FailedPrecondition
      {"present", "cas", &cas_right},     // 6: OK
      {"", "empty key"},                  // 7: InvalidArgument
      {"big", too_big},                   // 8: ResourceExhausted
      {"forever", "y", &never},           // 9: no TTL
      {"versioned", "new", &if_present},  // 10: OK
      {"fresh", "f3"},                    // 11: OK, last write wins
  };
  std::vector<PutResult> results;
  ASSERT_OK(store->PutMany(items, defaults, &results));
  ASSERT_EQ(results.size(), items.size());
  const absl::StatusCode want[] = {absl::StatusCode::kOk,
                                   absl::StatusCode::kAlreadyExists,
                                   absl::StatusCode::kNotFound,
                                   absl::StatusCode::kOk,
                                   absl::StatusCode::kAlreadyExists,
                                   absl::StatusCode::kFailedPrecondition,
                                   absl::StatusCode::kOk,
                                   absl::StatusCode::kInvalidArgument,
                                   absl::StatusCode::kResourceExhausted,
                                   absl::StatusCode::kOk,
                                   absl::StatusCode::kOk,
                                   absl::StatusCode::kOk};
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(results[i].status.code(), want[i]) << "item " << i << ": " << results[i].status;
    EXPECT_EQ(results[i].version != 0, results[i].status.ok()) << "item " << i;
  }
  std::string value;
  EntryMeta meta;
  ASSERT_OK(store->Get("plain", &value, &meta));
  EXPECT_EQ(value, "p");
  EXPECT_EQ(meta.flags, 7u);
  EXPECT_EQ(meta.ttl_remaining, absl::Seconds(10));
  EXPECT_EQ(meta.version, results[0].version);
  ASSERT_OK(store->Get("present", &value, &meta));
  EXPECT_EQ(value, "cas");
  EXPECT_EQ(meta.version, results[6].version);
  ASSERT_OK(store->Get("fresh", &value, &meta));
  EXPECT_EQ(value, "f3");
  EXPECT_GT(results[11].version, results[3].version);
  ASSERT_OK(store->Get("forever", &value, &meta));
  EXPECT_EQ(meta.ttl_remaining, absl::InfiniteDuration());
  EXPECT_TRUE(absl::IsNotFound(store->Get("absent", &value)));
  EXPECT_TRUE(absl::IsNotFound(store->Get("big", &value)));
  ASSERT_OK(store->Get("versioned", &value));
  EXPECT_EQ(value, "new");
}

// PutMany on one store and a loop of Put on its twin give the same statuses,
// versions, contents and counters, evictions included.
TEST(StoreBatch, PutManyEqualsPutLoop) {
  ManualClock clock(kStartMs);
  ScopedStore batch, loop;
  Options o = TwinOptions(&clock);
  o.capacity_bytes = size_t{1} << 20;  // small enough to evict
  ASSERT_OK(batch.Open(o));
  ASSERT_OK(loop.Open(o));
  const size_t max_key = MaxKeySize(*batch);
  TestRng rng(23);
  WriteOptions conditions[4];
  conditions[0].condition = WriteCondition::kIfAbsent;
  conditions[1].condition = WriteCondition::kIfPresent;
  conditions[2].ttl = absl::Milliseconds(50);
  conditions[3].condition = WriteCondition::kIfVersion;
  std::vector<std::string> key_storage, value_storage;
  std::vector<PutItem> items;
  std::vector<PutResult> results;
  for (int round = 0; round < 40; ++round) {
    const size_t n = rng.Uniform<size_t>(0, 150);
    key_storage.clear();
    value_storage.clear();
    for (size_t i = 0; i < n; ++i) {
      key_storage.push_back(PickKey(rng, max_key));
      value_storage.push_back(MakeValue(key_storage.back(), round, rng.Uniform<size_t>(32, 3000)));
    }
    conditions[3].expected_version = rng.Uniform<uint64_t>(1, 4000);
    items.clear();
    for (size_t i = 0; i < n; ++i) {
      const int c = rng.Uniform(-4, 4);
      items.push_back(PutItem{key_storage[i], value_storage[i], c >= 0 ? &conditions[c] : nullptr});
    }
    ASSERT_OK(batch->PutMany(items, {}, &results));
    ASSERT_EQ(results.size(), n);
    for (size_t i = 0; i < n; ++i) {
      uint64_t version = 0;
      absl::Status want =
          loop->Put(items[i].key, items[i].value,
                    items[i].options != nullptr ? *items[i].options : WriteOptions(), &version);
      ASSERT_EQ(results[i].status, want) << "round " << round << " item " << i;
      EXPECT_EQ(results[i].version, want.ok() ? version : 0) << "round " << round;
    }
    ASSERT_EQ(Counters(*batch), Counters(*loop)) << "round " << round;
    clock.Advance(rng.Uniform(0, 60));
  }
  // Same contents, key by key.
  size_t compared = 0;
  ASSERT_OK(loop->ForEach("", [&](absl::string_view k, absl::string_view v, const EntryMeta& m) {
    std::string got;
    EntryMeta meta;
    EXPECT_OK(batch->Get(k, &got, &meta));
    EXPECT_EQ(got, v) << k;
    EXPECT_EQ(meta.version, m.version) << k;
    ++compared;
    return true;
  }));
  size_t live = 0;
  ASSERT_OK(batch->ForEach("", [&](absl::string_view, absl::string_view, const EntryMeta&) {
    ++live;
    return true;
  }));
  EXPECT_EQ(live, compared);
  EXPECT_GT(compared, 100u);
  ASSERT_OK_AND_ASSIGN(StoreStats st, batch->Stats());
  EXPECT_GT(st.evictions, 0u) << "the test meant to cover eviction";
}

// Readers in other processes batch-read keys that writers keep rewriting
// with values of changing sizes: every value read is whole and belongs to
// its key.
TEST(StoreBatch, GetManyNeverSeesTornValuesAcrossProcesses) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  constexpr int kKeys = 400;
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = absl::StrCat("shared/", i);
    ASSERT_OK(store->Put(k, MakeValue(k, 0, 64)));
  }
  const StoreName name = store.name();
  SharedArray<std::atomic<int>> writers_done(1);
  SharedArray<std::atomic<uint64_t>> checked(1);
  constexpr int kWriters = 2, kReaders = 2;
  std::vector<int> statuses = RunChildren(kWriters + kReaders, [&](int index) -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    TestRng rng(100 + index);
    if (index < kWriters) {
      std::vector<std::string> keys, values;
      std::vector<PutItem> items;
      std::vector<PutResult> results;
      for (uint64_t seq = 1; seq <= 1500; ++seq) {
        if (seq % 3 == 0) {  // one at a time
          const std::string k = absl::StrCat("shared/", rng.Uniform(0, kKeys));
          CHILD_CHECK_OK((*s)->Put(k, MakeValue(k, seq, rng.Uniform<size_t>(32, 1000))), 2);
          continue;
        }
        keys.clear();
        values.clear();
        items.clear();
        for (int i = 0; i < 16; ++i) {
          keys.push_back(absl::StrCat("shared/", rng.Uniform(0, kKeys)));
          values.push_back(MakeValue(keys.back(), seq, rng.Uniform<size_t>(32, 1000)));
        }
        for (int i = 0; i < 16; ++i) items.push_back(PutItem{keys[i], values[i]});
        CHILD_CHECK_OK((*s)->PutMany(items, {}, &results), 3);
        for (const PutResult& r : results) CHILD_CHECK_OK(r.status, 4);
      }
      writers_done[0].fetch_add(1);
      return 0;
    }
    std::vector<std::string> names;
    std::vector<absl::string_view> keys;
    std::vector<GetResult> results;
    for (int round = 0; writers_done[0].load() < kWriters || round < 50; ++round) {
      names.clear();
      const size_t n = rng.Uniform<size_t>(1, 100);
      for (size_t i = 0; i < n; ++i)
        names.push_back(absl::StrCat("shared/", rng.Uniform(0, kKeys)));
      keys.assign(names.begin(), names.end());
      CHILD_CHECK_OK((*s)->GetMany(keys, &results), 5);
      CHILD_CHECK(results.size() == n, 6);
      for (size_t i = 0; i < n; ++i) {
        // Nothing is deleted and the store is not full: every key is there.
        CHILD_CHECK_OK(results[i].status, 7);
        absl::StatusOr<uint64_t> seq = CheckValue(keys[i], results[i].value);
        if (!seq.ok()) {
          std::fprintf(stderr, "key %s: %s\n", names[i].c_str(), seq.status().ToString().c_str());
          return 8;
        }
        CHILD_CHECK(results[i].meta.value_size == results[i].value.size(), 9);
      }
      checked[0].fetch_add(n);
    }
    return 0;
  });
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_EQ(statuses[i], 0) << "child " << i << ": " << testutil::DescribeExit(statuses[i]);
  }
  EXPECT_GT(checked[0].load(), 1000u);
}

}  // namespace
}  // namespace shmkv
