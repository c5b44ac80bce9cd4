// The settings a store is made with: every geometry the planner gives is
// accepted by every opener, each store has its own hash seed, settings
// that differ on kOpenOrCreate are reported, and a small store's max value
// size is what its capacity allows.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/internal/geometry.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::TestRng;
using ::testing::HasSubstr;
using ::testing::Not;

// The creator once chose the stripe count on the unrounded slice and then
// rounded the slice below 4 maximal records: every other opener refused it.
TEST(Geometry, TheCreatorsStoreIsAcceptedByASecondProcess) {
  ScopedStore store;
  Options o;
  o.capacity_bytes = 8421696;
  o.max_value_size = 1048588;
  ASSERT_OK(store.Open(o, OpenMode::kCreate));
  const StoreName name = store.name();
  const int rc = RunInChild([&] {
    CHILD_CHECK_OK(Store::Open(name, Options(), OpenMode::kAttach), 1);
    return 0;
  });
  EXPECT_EQ(rc, 0) << testutil::DescribeExit(rc);
}

Options RandomOptions(TestRng& rng, uint64_t max_capacity) {
  Options o;
  o.capacity_bytes = rng.Uniform<uint64_t>(1024, max_capacity);
  o.max_key_size = rng.Bernoulli(0.5) ? 4096 : rng.Uniform<size_t>(1, 4097);
  o.max_value_size =
      rng.Bernoulli(0.3) ? rng.Uniform<size_t>(0, 4096) : rng.Uniform<size_t>(0, size_t{2} << 20);
  o.lock_stripes = static_cast<uint32_t>(rng.Uniform<uint64_t>(1, 300));
  o.expected_items = rng.Bernoulli(0.5) ? 0 : rng.Uniform<size_t>(1, 200000);
  o.evict = rng.Bernoulli(0.5);
  o.default_ttl = absl::Milliseconds(rng.Uniform<int64_t>(0, 100000));
  return o;
}

std::string Describe(const Options& o) {
  return absl::StrCat("capacity_bytes=", o.capacity_bytes, " max_key_size=", o.max_key_size,
                      " max_value_size=", o.max_value_size, " lock_stripes=", o.lock_stripes,
                      " expected_items=", o.expected_items);
}

// Property: every geometry the planner gives passes the check every opener
// makes of a header.
TEST(Geometry, EveryPlannedGeometryPassesTheOpenersCheck) {
  TestRng rng(14);
  int planned_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    const Options o = RandomOptions(rng, uint64_t{1} << 34);
    absl::StatusOr<internal::Geometry> g = internal::PlanGeometry(o);
    if (!g.ok()) {
      ASSERT_NE(g.status().code(), absl::StatusCode::kInternal) << Describe(o) << g.status();
      continue;
    }
    ++planned_ok;
    internal::Header h{};
    internal::WriteGeometry(*g, &h);
    absl::StatusOr<internal::Geometry> read = internal::GeometryFromHeader(h, g->segment_bytes);
    ASSERT_OK(read.status()) << Describe(o);
  }
  EXPECT_GT(planned_ok, 10000);
}

// Property: every store Open creates, a second Open accepts.
TEST(Geometry, EveryStoreOpenCreatesASecondOpenAccepts) {
  TestRng rng(1414);
  int created = 0;
  for (int i = 0; i < 200 && created < 40; ++i) {
    const Options o = RandomOptions(rng, uint64_t{24} << 20);
    ScopedStore store;
    absl::Status made = store.Open(o, OpenMode::kCreate);
    if (absl::IsInvalidArgument(made) || absl::IsResourceExhausted(made)) continue;
    ASSERT_OK(made) << Describe(o);
    ++created;
    auto second = Store::Open(store.name(), Options(), OpenMode::kAttach);
    ASSERT_OK(second.status()) << Describe(o);
  }
  EXPECT_GE(created, 40);
}

// Keys crafted against the public, unseeded hash pile into one stripe; with
// a per-store seed they spread. (A no-evict store refuses a new key when
// its stripe's index is full, which makes the pile-up visible.)
TEST(HashSeed, KeysCraftedForTheUnseededHashDoNotPileUp) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = size_t{4} << 20;
  o.expected_items = 6400;
  o.lock_stripes = 64;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_EQ(info.lock_stripes, 64u);
  std::vector<std::string> crafted;
  for (int i = 0; crafted.size() < 400; ++i) {
    const std::string key = absl::StrCat("crafted:", i);
    if ((internal::Hash64(key.data(), key.size()) & 63) == 0) crafted.push_back(key);
  }
  for (const std::string& key : crafted) ASSERT_OK(store->Put(key, "v")) << key;
}

TEST(HashSeed, EachStoreGetsItsOwnSeed) {
  ScopedStore a, b;
  ASSERT_OK(a.Open());
  ASSERT_OK(b.Open());
  auto seed_of = [](key_t key) {
    const int id = shmget(key, 0, 0);
    void* p = shmat(id, nullptr, SHM_RDONLY);
    uint64_t seed = static_cast<const internal::Header*>(p)->hash_seed;
    shmdt(p);
    return seed;
  };
  EXPECT_NE(seed_of(a.key()), seed_of(b.key()));
}

TEST(Settings, OpenOrCreateReportsEveryDifferentSetting) {
  ScopedStore store;
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kCreate));
  Options other = SmallOptions();
  other.capacity_bytes = size_t{8} << 20;
  other.max_value_size = 2048;
  other.evict = false;
  other.default_ttl = absl::Seconds(60);
  other.lock_stripes = 4;
  auto attached = Store::Open(store.name(), other, OpenMode::kOpenOrCreate);
  ASSERT_OK(attached.status());
  ASSERT_OK_AND_ASSIGN(StoreInfo info, (*attached)->Info());
  const std::string warnings = absl::StrJoin(info.warnings, "\n");
  for (const char* setting :
       {"capacity", "max value size", "evict", "default TTL", "lock stripes"}) {
    EXPECT_THAT(warnings, HasSubstr(setting));
  }

  other.require_same_settings = true;
  auto strict = Store::Open(store.name(), other, OpenMode::kOpenOrCreate);
  ASSERT_EQ(strict.status().code(), absl::StatusCode::kFailedPrecondition) << strict.status();
  for (const char* setting :
       {"capacity", "max value size", "evict", "default TTL", "lock stripes"}) {
    EXPECT_THAT(std::string(strict.status().message()), HasSubstr(setting));
  }

  Options same = SmallOptions();
  same.require_same_settings = true;
  auto agreeing = Store::Open(store.name(), same, OpenMode::kOpenOrCreate);
  ASSERT_OK(agreeing.status());
  ASSERT_OK_AND_ASSIGN(StoreInfo quiet, (*agreeing)->Info());
  EXPECT_THAT(absl::StrJoin(quiet.warnings, "\n"), Not(HasSubstr("other settings")));
}

// A store too small for 4 values of max_value_size takes values up to a
// quarter of its capacity: Info() says so, and a put over it is refused with
// advice that names the capacity, not only the max value size.
TEST(Settings, ASmallStoreTakesValuesUpToAQuarterOfItsCapacityAndSaysSo) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = size_t{1} << 20;
  o.max_value_size = size_t{1} << 20;
  ASSERT_OK(store.Open(o, OpenMode::kCreate));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  EXPECT_LT(info.max_value_size, o.max_value_size);
  EXPECT_LE(info.max_value_size, info.capacity / 4);
  EXPECT_GT(info.max_value_size, info.capacity / 5);
  ASSERT_OK(store->Put("fits", std::string(info.max_value_size, 'v')));
  const absl::Status over = store->Put("over", std::string(info.max_value_size + 1, 'v'));
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted) << over;
  EXPECT_THAT(std::string(over.message()), HasSubstr("Options::capacity_bytes of at least 4"));
  EXPECT_THAT(std::string(over.message()), HasSubstr("a quarter of its capacity"));
  std::string value;
  EXPECT_EQ(store->Get("over", &value).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace shmkv
