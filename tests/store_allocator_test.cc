// The allocator: space freed by deletes and overwrites is reused, so a store
// that may not evict never fills up with what it no longer holds.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::CheckValue;
using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::StatsLine;

// Writes and deletes ten times the capacity in a store that may not evict:
// space must be reused, so no write fails and nothing stays allocated.
// One run with a fixed seed, so that a failure reproduces exactly.
void PutDeleteCycles(uint32_t seed) {
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 1 << 20;
  o.max_value_size = 4096;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreStats start, store->Stats());

  testutil::TestRng gen(seed);
  uint64_t written = 0;
  uint64_t seq = 0;
  const uint64_t target = 10 * start.capacity;
  int round = 0;
  // Phase 1: batches of up to 1/8 of the capacity, written then deleted.
  while (written < target / 2) {
    std::vector<std::string> keys;
    uint64_t batch = 0;
    while (batch < start.capacity / 8) {
      const std::string k = absl::StrCat("batch/", round, "/", keys.size());
      const size_t len = gen.Uniform<size_t>(32, 4097);
      ASSERT_OK(store->Put(k, MakeValue(k, ++seq, len)))
          << "after " << written << " bytes " << StatsLine(store.get());
      keys.push_back(k);
      batch += len + k.size();
    }
    written += batch;
    // Delete in a scrambled order so that holes appear everywhere.
    std::shuffle(keys.begin(), keys.end(), gen.engine());
    for (const std::string& k : keys) ASSERT_OK(store->Delete(k));
    ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
    ASSERT_EQ(size, 0u);
    ++round;
  }
  // Phase 2: a live set of 48 keys rewritten with ever-changing sizes.
  std::map<std::string, uint64_t> live;
  while (written < target) {
    const std::string k = absl::StrCat("churn/", gen.Uniform(0, 48));
    const size_t len = gen.Uniform<size_t>(32, 4097);
    if (gen.Bernoulli(0.2)) {
      absl::Status d = store->Delete(k);
      ASSERT_TRUE(d.ok() || absl::IsNotFound(d)) << d;
      live.erase(k);
      continue;
    }
    ASSERT_OK(store->Put(k, MakeValue(k, ++seq, len)))
        << "after " << written << " bytes " << StatsLine(store.get());
    live[k] = seq;
    written += len + k.size();
  }
  for (const auto& [k, want] : live) {
    std::string v;
    ASSERT_OK(store->Get(k, &v));
    ASSERT_OK_AND_ASSIGN(uint64_t got, CheckValue(k, v));
    EXPECT_EQ(got, want);
    ASSERT_OK(store->Delete(k));
  }

  ASSERT_OK_AND_ASSIGN(StoreStats end, store->Stats());
  EXPECT_EQ(end.items, 0u);
  EXPECT_EQ(end.key_bytes, 0u);
  EXPECT_EQ(end.value_bytes, 0u);
  EXPECT_EQ(end.bytes_used, start.bytes_used) << "space not returned after deleting everything";
  EXPECT_EQ(end.evictions, 0u);
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
}

TEST(StoreAllocator, PutDeleteCyclesReuseSpace) {
  for (uint32_t seed : {1u, 2u, 3u}) PutDeleteCycles(seed);
}

}  // namespace
}  // namespace shmkv
