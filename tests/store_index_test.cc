// The hash index (layout v2): one open-addressing table with linear probing
// per lock stripe, sized by Options::expected_items. These tests drive it
// through the public API only: deletion (backward shift) must keep every
// other key of a probe run reachable, and a full index must evict (eviction
// on) or refuse new keys with ResourceExhausted (eviction off) while
// overwrites still work.
//
// The slot count and entry limit of a geometry are unit-tested in
// kv/internal/geometry_test.cc; here the tests state the numbers they expect
// and read the limit from StoreStats::index_limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::testing::HasSubstr;
using ::testing::Not;

// Opens a one-stripe store of SmallOptions (4 MiB: the arena is far from the
// limit) sized for `items`, and checks its index has `want_slots` slots and
// holds at most `want_limit` entries.
void OpenOneStripe(ScopedStore* store, uint64_t items, bool evict, uint64_t want_slots,
                   size_t want_limit, size_t* limit) {
  Options o = SmallOptions();
  o.lock_stripes = 1;
  o.expected_items = items;
  o.evict = evict;
  ASSERT_OK(store->Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, (*store)->Info());
  ASSERT_EQ(info.lock_stripes, 1u);
  ASSERT_EQ(info.index_slots, want_slots);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, (*store)->Stats());
  *limit = stats.index_limit;
  ASSERT_EQ(*limit, want_limit);
}

// What the test believes about each key it ever wrote: its last value, or
// nullopt once deleted.
using Model = std::map<std::string, std::optional<std::string>>;

// Whether a read of `key` that returned `s` and `got` agrees with `want`.
::testing::AssertionResult ReadsAsModel(const std::string& key,
                                        const std::optional<std::string>& want,
                                        const absl::Status& s, const std::string& got) {
  if (want.has_value()) {
    if (!s.ok()) {
      return ::testing::AssertionFailure() << "key " << key << " should be present: " << s;
    }
    if (got != *want) {
      return ::testing::AssertionFailure()
             << "key " << key << " reads " << got.size() << " bytes that differ from the "
             << want->size() << " bytes last written";
    }
  } else if (!absl::IsNotFound(s)) {
    return ::testing::AssertionFailure() << "deleted key " << key << " should be NotFound, got "
                                         << (s.ok() ? "a value" : s.ToString());
  }
  return ::testing::AssertionSuccess();
}

// Every key the model holds reads back with its exact value; every key it
// has deleted is NotFound: through Get, one key at a time, then through one
// GetMany of every key. The Gets set the entries' reference bits, so the
// GetMany reads without the lock, each key first at the slot where its
// record's prefetch found the key's tag, which in a crowded index is often
// another key's (a tag collision) or not the key's home.
::testing::AssertionResult Holds(Store* store, const Model& model) {
  std::string got;
  std::vector<absl::string_view> keys;
  for (const auto& [key, want] : model) {
    absl::Status s = store->Get(key, &got);
    if (auto ok = ReadsAsModel(key, want, s, got); !ok) return ok << " (Get)";
    keys.push_back(key);
  }
  std::vector<GetResult> results;
  if (absl::Status s = store->GetMany(keys, &results); !s.ok()) {
    return ::testing::AssertionFailure() << "GetMany: " << s;
  }
  size_t i = 0;
  for (const auto& [key, want] : model) {
    const GetResult& r = results[i++];
    if (auto ok = ReadsAsModel(key, want, r.status, r.value); !ok) return ok << " (GetMany)";
  }
  return ::testing::AssertionSuccess();
}

size_t LiveCount(const Model& model) {
  size_t n = 0;
  for (const auto& entry : model) n += entry.second.has_value() ? 1 : 0;
  return n;
}

// Check(false) reports no problem and exactly `live` entries; Size() agrees.
::testing::AssertionResult Consistent(Store* store, uint64_t live) {
  absl::StatusOr<CheckReport> report = store->Check(false);
  if (!report.ok()) return ::testing::AssertionFailure() << "Check: " << report.status();
  if (!report->ok) {
    auto failure = ::testing::AssertionFailure() << "Check found problems:";
    for (const std::string& p : report->problems) failure << "\n  " << p;
    return failure;
  }
  if (report->entries_checked != live) {
    return ::testing::AssertionFailure()
           << "Check saw " << report->entries_checked << " entries, expected " << live;
  }
  absl::StatusOr<uint64_t> size = store->Size();
  if (!size.ok()) return ::testing::AssertionFailure() << "Size: " << size.status();
  if (*size != live) {
    return ::testing::AssertionFailure() << "Size() is " << *size << ", expected " << live;
  }
  return ::testing::AssertionSuccess();
}

// -------------------------------------------------------------- deletion ---

// The orders in which case 1 deletes the keys of a full stripe.
enum class Order { kForward, kReverse, kEveryOther, kRandom1, kRandom2, kRandom3 };

const char* OrderName(Order order) {
  switch (order) {
    case Order::kForward:
      return "forward";
    case Order::kReverse:
      return "reverse";
    case Order::kEveryOther:
      return "every other, then the rest";
    case Order::kRandom1:
      return "random (seed 1)";
    case Order::kRandom2:
      return "random (seed 2)";
    case Order::kRandom3:
      return "random (seed 3)";
  }
  return "?";
}

std::vector<size_t> DeletionOrder(Order order, size_t n) {
  std::vector<size_t> seq(n);
  for (size_t i = 0; i < n; ++i) seq[i] = i;
  switch (order) {
    case Order::kForward:
      break;
    case Order::kReverse:
      std::reverse(seq.begin(), seq.end());
      break;
    case Order::kEveryOther: {
      seq.clear();
      for (size_t i = 0; i < n; i += 2) seq.push_back(i);
      for (size_t i = 1; i < n; i += 2) seq.push_back(i);
      break;
    }
    case Order::kRandom1:
    case Order::kRandom2:
    case Order::kRandom3: {
      std::mt19937 gen(static_cast<uint32_t>(order));
      std::shuffle(seq.begin(), seq.end(), gen);
      break;
    }
  }
  return seq;
}

// One stripe whose index is filled to its limit (92 slots, 81 entries), so
// probe runs are long and wrap around the table's end. Keys are deleted one
// by one in several orders; after every deletion all other keys must still
// be reachable and the index must verify. Deleted keys are then written
// again, and a churn at full load deletes and inserts at once.
TEST(StoreIndex, DeletionKeepsEveryOtherKeyReachable) {
  ScopedStore store;
  size_t limit = 0;
  // Eviction off: nothing may disappear except what the test deletes.
  ASSERT_NO_FATAL_FAILURE(OpenOneStripe(&store, 64, /*evict=*/false, 92, 81, &limit));

  uint64_t seq = 0;
  std::mt19937 sizes(7);
  auto value_for = [&](const std::string& key) {
    return MakeValue(key, ++seq, std::uniform_int_distribution<size_t>(32, 200)(sizes));
  };

  const Order orders[] = {Order::kForward, Order::kReverse, Order::kEveryOther,
                          Order::kRandom1, Order::kRandom2, Order::kRandom3};
  int round = 0;
  for (Order order : orders) {
    SCOPED_TRACE(absl::StrCat("round ", round, ", deleting ", OrderName(order)));
    // Fresh key names each round, so each round has another slot layout.
    Model model;
    std::vector<std::string> keys;
    for (size_t i = 0; i < limit; ++i) {
      keys.push_back(absl::StrCat("round", round, "/key-", i));
      const std::string value = value_for(keys.back());
      ASSERT_OK(store->Put(keys.back(), value)) << "key " << i << " of " << limit;
      model[keys.back()] = value;
    }
    ASSERT_TRUE(Holds(store.get(), model));
    ASSERT_TRUE(Consistent(store.get(), limit));

    const std::vector<size_t> order_seq = DeletionOrder(order, limit);
    // First half: delete, verifying after each deletion.
    const size_t half = order_seq.size() / 2;
    for (size_t d = 0; d < half; ++d) {
      const std::string& k = keys[order_seq[d]];
      ASSERT_OK(store->Delete(k)) << "deletion " << d << ": " << k;
      model[k] = std::nullopt;
      ASSERT_TRUE(Holds(store.get(), model)) << "after deletion " << d << " (" << k << ")";
      ASSERT_TRUE(Consistent(store.get(), LiveCount(model))) << "after deletion " << d;
    }
    // Write the deleted keys again, with new values, back up to the limit.
    for (size_t d = 0; d < half; ++d) {
      const std::string& k = keys[order_seq[d]];
      const std::string value = value_for(k);
      ASSERT_OK(store->Put(k, value)) << "reinserting " << k;
      model[k] = value;
      ASSERT_TRUE(Holds(store.get(), model)) << "after reinserting " << k;
    }
    ASSERT_TRUE(Consistent(store.get(), limit));
    // Now delete everything in the same order.
    for (size_t d = 0; d < order_seq.size(); ++d) {
      const std::string& k = keys[order_seq[d]];
      ASSERT_OK(store->Delete(k)) << "deletion " << d << ": " << k;
      model[k] = std::nullopt;
      ASSERT_TRUE(Holds(store.get(), model))
          << "after full-pass deletion " << d << " (" << k << ")";
      ASSERT_TRUE(Consistent(store.get(), LiveCount(model))) << "after full-pass deletion " << d;
      absl::Status again = store->Delete(k);
      ASSERT_TRUE(absl::IsNotFound(again)) << "deleting " << k << " twice: " << again;
    }
    ASSERT_TRUE(Consistent(store.get(), 0));
    // A deleted key can be written again into the now empty index.
    ASSERT_OK(store->Put(keys[0], "back"));
    std::string got;
    ASSERT_OK(store->Get(keys[0], &got));
    EXPECT_EQ(got, "back");
    ASSERT_OK(store->Delete(keys[0]));
    ++round;
  }

  // Churn at full load: delete a random present key, insert a new one.
  Model model;
  std::vector<std::string> present;
  for (size_t i = 0; i < limit; ++i) {
    present.push_back(absl::StrCat("churn/", i));
    const std::string value = value_for(present.back());
    ASSERT_OK(store->Put(present.back(), value));
    model[present.back()] = value;
  }
  std::mt19937 gen(11);
  for (int step = 0; step < 400; ++step) {
    const size_t victim = std::uniform_int_distribution<size_t>(0, present.size() - 1)(gen);
    ASSERT_OK(store->Delete(present[victim])) << "churn step " << step;
    model[present[victim]] = std::nullopt;
    present[victim] = absl::StrCat("churn/", limit + step);
    const std::string value = value_for(present[victim]);
    ASSERT_OK(store->Put(present[victim], value)) << "churn step " << step;
    model[present[victim]] = value;
    if (step % 10 == 9) {
      ASSERT_TRUE(Holds(store.get(), model)) << "churn step " << step;
      ASSERT_TRUE(Consistent(store.get(), limit)) << "churn step " << step;
    }
  }
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.items, limit);
}

// ------------------------------------------------------ full, no eviction ---

// A 23-slot index (21 entries) in a store with ample arena and no eviction:
// exactly 21 distinct keys fit, the 22nd is refused naming expected_items,
// and the keys already stored stay readable and writable.
TEST(StoreIndex, FullIndexWithoutEvictionRefusesNewKeys) {
  ScopedStore store;
  size_t limit = 0;
  ASSERT_NO_FATAL_FAILURE(OpenOneStripe(&store, 16, /*evict=*/false, 23, 21, &limit));

  Model model;
  std::vector<std::string> stored;
  absl::Status refused;
  uint64_t seq = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string k = absl::StrCat("fill/", i);
    const std::string value = MakeValue(k, ++seq, 64);
    absl::Status s = store->Put(k, value);
    if (!s.ok()) {
      refused = s;
      break;
    }
    stored.push_back(k);
    model[k] = value;
  }
  ASSERT_FALSE(refused.ok()) << "1000 distinct keys fit in an index sized for 16";
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("Options::expected_items"));
  EXPECT_THAT(std::string(refused.message()), Not(HasSubstr("--items")));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("index is full"));
  EXPECT_EQ(stored.size(), limit) << "first refusal: " << refused;

  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.items, stored.size());
  EXPECT_EQ(stats.evictions, 0u);
  EXPECT_EQ(stats.index_limit, limit);
  EXPECT_EQ(stats.index_entries, limit);
  ASSERT_TRUE(Holds(store.get(), model));
  ASSERT_TRUE(Consistent(store.get(), stored.size()));

  // Other new keys, and the other ways of adding one, are refused too.
  for (int i = 0; i < 5; ++i) {
    const std::string k = absl::StrCat("more/", i);
    absl::Status s = store->Put(k, "v");
    EXPECT_TRUE(absl::IsResourceExhausted(s)) << k << ": " << s;
    std::string got;
    EXPECT_TRUE(absl::IsNotFound(store->Get(k, &got))) << k;
  }
  absl::Status added = store->Add("more/add", "v");
  EXPECT_TRUE(absl::IsResourceExhausted(added)) << added;
  absl::StatusOr<int64_t> counted = store->Increment("more/counter", 1);
  EXPECT_TRUE(absl::IsResourceExhausted(counted.status())) << counted.status();

  // Overwriting stored keys still works, with values of other sizes too.
  for (size_t i = 0; i < stored.size(); i += 3) {
    const std::string value = MakeValue(stored[i], ++seq, 32 + 50 * i);
    ASSERT_OK(store->Put(stored[i], value)) << "overwriting " << stored[i];
    model[stored[i]] = value;
  }
  ASSERT_OK(store->Replace(stored[1], "replaced"));
  model[stored[1]] = "replaced";
  ASSERT_TRUE(Holds(store.get(), model));
  ASSERT_TRUE(Consistent(store.get(), limit));

  // Deleting one key makes room for exactly one new key.
  ASSERT_OK(store->Delete(stored[4]));
  model[stored[4]] = std::nullopt;
  const std::string newcomer = "after-delete/1";
  const std::string newcomer_value = MakeValue(newcomer, ++seq, 100);
  ASSERT_OK(store->Put(newcomer, newcomer_value));
  model[newcomer] = newcomer_value;
  absl::Status full_again = store->Put("after-delete/2", "v");
  EXPECT_TRUE(absl::IsResourceExhausted(full_again)) << full_again;
  ASSERT_TRUE(Holds(store.get(), model));
  ASSERT_TRUE(Consistent(store.get(), limit));
}

// -------------------------------------------------------- full, eviction ---

// The same 21-entry index with eviction on: ten times more distinct keys
// than fit are all accepted, the index never holds more than its limit, and
// with no reads (no second chances) the survivors are the newest keys.
TEST(StoreIndex, FullIndexWithEvictionEvictsOldest) {
  ScopedStore store;
  size_t limit = 0;
  ASSERT_NO_FATAL_FAILURE(OpenOneStripe(&store, 16, /*evict=*/true, 23, 21, &limit));

  const size_t total = 10 * limit;
  std::vector<std::string> keys, values;
  for (size_t i = 0; i < total; ++i) {
    keys.push_back(absl::StrCat("evict/", i));
    values.push_back(MakeValue(keys.back(), i + 1, 48 + i % 64));
    ASSERT_OK(store->Put(keys.back(), values.back())) << "key " << i;
    ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
    ASSERT_LE(stats.items, limit) << "after key " << i;
    ASSERT_EQ(stats.items, std::min(i + 1, limit)) << "after key " << i;
    ASSERT_EQ(stats.index_entries, stats.items) << "after key " << i;
  }
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(stats.evictions, total - limit);

  // Contains does not mark entries referenced, so this check leaves the
  // CLOCK state alone: the newest `limit` keys survive, the rest are gone.
  for (size_t i = 0; i < total; ++i) {
    ASSERT_OK_AND_ASSIGN(bool has, store->Contains(keys[i]));
    EXPECT_EQ(has, i >= total - limit) << keys[i];
  }
  ASSERT_TRUE(Consistent(store.get(), limit));

  // Second chance: the oldest survivor, once read (Get marks it), outlives a
  // lap of new keys, while the next oldest (never read) is evicted by the
  // first of them. Only Contains looks at the others, so no other survivor
  // is marked.
  const std::string& oldest = keys[total - limit];
  const std::string& next_oldest = keys[total - limit + 1];
  std::string got;
  ASSERT_OK(store->Get(oldest, &got));
  EXPECT_EQ(got, values[total - limit]);
  std::string last_key, last_value;
  for (size_t i = 0; i < limit - 1; ++i) {
    last_key = absl::StrCat("lap/", i);
    last_value = MakeValue(last_key, 1, 40 + i);
    ASSERT_OK(store->Put(last_key, last_value));
    if (i == 0) {
      ASSERT_OK_AND_ASSIGN(bool has, store->Contains(next_oldest));
      EXPECT_FALSE(has) << "the oldest unread key should have been evicted first";
    }
  }
  ASSERT_OK_AND_ASSIGN(bool has, store->Contains(oldest));
  EXPECT_TRUE(has) << "a key read before the lap lost its second chance";
  for (size_t i = total - limit + 1; i < total; ++i) {
    ASSERT_OK_AND_ASSIGN(has, store->Contains(keys[i]));
    EXPECT_FALSE(has) << keys[i] << " should have been evicted by the lap";
  }
  ASSERT_OK(store->Get(oldest, &got));
  EXPECT_EQ(got, values[total - limit]);
  // The most recently written key reads back its value.
  ASSERT_OK(store->Get(last_key, &got));
  EXPECT_EQ(got, last_value);
  ASSERT_OK_AND_ASSIGN(stats, store->Stats());
  EXPECT_EQ(stats.items, limit);
  ASSERT_TRUE(Consistent(store.get(), limit));
}

// ------------------------------------------------------------ many stripes ---

// Mixed puts and deletes over many stripes with an index much smaller than
// the key space. With eviction on, any key may be gone, but one that reads
// back must hold its last written value, and a deleted one must stay gone.
TEST(StoreIndex, MixedPutsAndDeletesAcrossStripesWithEviction) {
  ScopedStore store;
  Options o = SmallOptions();
  o.expected_items = 256;  // default lock_stripes
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_GT(info.lock_stripes, 1u);
  ASSERT_OK_AND_ASSIGN(StoreStats planned, store->Stats());
  const uint64_t index_limit = planned.index_limit;
  ASSERT_LT(index_limit, 1500u);

  constexpr int kKeys = 1500;
  constexpr int kOps = 20000;
  Model model;  // nullopt: deleted (or never written) as far as the test knows
  std::mt19937 gen(2024);
  std::uniform_int_distribution<int> pick(0, kKeys - 1);
  std::uniform_int_distribution<size_t> len(32, 300);
  std::bernoulli_distribution put(0.7);
  uint64_t seq = 0;
  for (int op = 0; op < kOps; ++op) {
    const std::string k = absl::StrCat("mixed/", pick(gen));
    if (put(gen)) {
      const std::string value = MakeValue(k, ++seq, len(gen));
      ASSERT_OK(store->Put(k, value)) << "op " << op;
      model[k] = value;
    } else {
      absl::Status s = store->Delete(k);
      ASSERT_TRUE(s.ok() || absl::IsNotFound(s)) << "op " << op << ": " << s;
      if (s.ok()) {
        ASSERT_TRUE(model.count(k) && model[k].has_value())
            << "op " << op << ": deleted " << k << ", which the test had deleted already";
      }
      model[k] = std::nullopt;
    }
    if (op % 4000 == 3999) {
      ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
      ASSERT_TRUE(report.ok) << "op " << op << ": "
                             << (report.problems.empty() ? "" : report.problems[0]);
      ASSERT_OK_AND_ASSIGN(StoreStats st, store->Stats());
      ASSERT_LE(st.items, index_limit) << "op " << op;
    }
  }

  uint64_t readable = 0;
  std::string got;
  for (const auto& [k, want] : model) {
    absl::Status s = store->Get(k, &got);
    if (s.ok()) {
      ++readable;
      ASSERT_TRUE(want.has_value()) << k << " reads back after it was deleted";
      ASSERT_TRUE(got == *want) << k << " reads back a value other than the last written";
    } else {
      ASSERT_TRUE(absl::IsNotFound(s)) << k << ": " << s;
    }
  }
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LE(stats.items, index_limit);
  EXPECT_GT(readable, 0u);
  ASSERT_TRUE(Consistent(store.get(), readable));
}

// The same mix with eviction off: now nothing disappears on its own, so the
// store must match the model exactly; only new keys may be refused, and only
// because the index (never the 4 MiB arena) is full.
TEST(StoreIndex, MixedPutsAndDeletesAcrossStripesWithoutEviction) {
  ScopedStore store;
  Options o = SmallOptions();
  o.expected_items = 256;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_OK_AND_ASSIGN(StoreStats planned, store->Stats());
  const uint64_t index_limit = planned.index_limit;

  constexpr int kKeys = 1500;
  constexpr int kOps = 20000;
  Model model;
  std::mt19937 gen(77);
  std::uniform_int_distribution<int> pick(0, kKeys - 1);
  std::uniform_int_distribution<size_t> len(32, 300);
  std::bernoulli_distribution put(0.6);
  uint64_t seq = 0, refusals = 0;
  for (int op = 0; op < kOps; ++op) {
    const std::string k = absl::StrCat("exact/", pick(gen));
    const bool present = model.count(k) && model[k].has_value();
    if (put(gen)) {
      const std::string value = MakeValue(k, ++seq, len(gen));
      absl::Status s = store->Put(k, value);
      if (s.ok()) {
        model[k] = value;
      } else {
        ASSERT_FALSE(present) << "op " << op << ": overwriting " << k << " failed: " << s;
        ASSERT_TRUE(absl::IsResourceExhausted(s)) << "op " << op << ": " << s;
        ASSERT_THAT(std::string(s.message()), HasSubstr("index is full")) << "op " << op;
        ++refusals;
      }
    } else {
      absl::Status s = store->Delete(k);
      if (present) {
        ASSERT_OK(s) << "op " << op << ": " << k;
      } else {
        ASSERT_TRUE(absl::IsNotFound(s)) << "op " << op << ": " << k << ": " << s;
      }
      model[k] = std::nullopt;
    }
    if (op % 4000 == 3999) {
      ASSERT_TRUE(Holds(store.get(), model)) << "op " << op;
      ASSERT_TRUE(Consistent(store.get(), LiveCount(model))) << "op " << op;
    }
  }
  EXPECT_GT(refusals, 0u) << "the index never filled up; the test does not test it";
  ASSERT_TRUE(Holds(store.get(), model));
  ASSERT_TRUE(Consistent(store.get(), LiveCount(model)));
  EXPECT_LE(LiveCount(model), index_limit);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.evictions, 0u);
}

}  // namespace
}  // namespace shmkv
