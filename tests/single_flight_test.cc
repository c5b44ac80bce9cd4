// Single flight (GetOrCompute): one computation per key across processes,
// leases of dead or stopped computers taken over, a computation never
// overwriting a newer write, leases released when the value cannot be
// stored, and deletes that cancel a computation.
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::kStartMs;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::testing::HasSubstr;
using ::testing::Not;

// A write by another process while `compute` runs wins over the computed
// value; the computing caller still gets its own value back.
struct Interference {
  const char* name;
  // Runs in a child while the parent computes; returns the child's status.
  std::function<int(Store&)> write;
  std::string expected;  // what the store holds afterwards; "" = nothing
};

TEST(SingleFlight, AWriteDuringTheComputationIsNotOverwritten) {
  const std::vector<Interference> cases = {
      {"Put",
       [](Store& s) {
         CHILD_CHECK_OK(s.Put("k", "newer"), 1);
         return 0;
       },
       "newer"},
      {"Delete",
       [](Store& s) {
         CHILD_CHECK_CODE(s.Delete("k"), absl::StatusCode::kNotFound, 1);
         return 0;
       },
       ""},
      {"Add",
       [](Store& s) {
         CHILD_CHECK_OK(s.Add("k", "added"), 1);
         return 0;
       },
       "added"},
      {"Put then CompareAndSwap",
       [](Store& s) {
         uint64_t version = 0;
         CHILD_CHECK_OK(s.Put("k", "first", {}, &version), 1);
         CHILD_CHECK_OK(s.CompareAndSwap("k", version, "swapped"), 2);
         return 0;
       },
       "swapped"},
      {"Increment",
       [](Store& s) {
         CHILD_CHECK_OK(s.Increment("k", 5), 1);
         return 0;
       },
       "5"},
  };
  for (const Interference& c : cases) {
    SCOPED_TRACE(c.name);
    ScopedStore store;
    ASSERT_OK(store.Open());
    Store& s = *store;
    int child_rc = -1;
    absl::StatusOr<std::string> got = s.GetOrCompute("k", [&]() -> absl::StatusOr<std::string> {
      child_rc = RunInChild([&] { return c.write(s); });
      return std::string("stale");
    });
    ASSERT_EQ(child_rc, 0) << testutil::DescribeExit(child_rc);
    ASSERT_OK(got.status());
    EXPECT_EQ(*got, "stale");
    if (c.expected.empty()) {
      std::string v;
      EXPECT_TRUE(absl::IsNotFound(s.Get("k", &v))) << v;
    } else {
      EXPECT_EQ(GetOrDie(&s, "k"), c.expected);
    }
  }
}

// A caller whose lease expired and was taken over must not overwrite its
// successor's value (nor its successor's lease).
TEST(SingleFlight, ExpiredLeaseDoesNotOverwriteItsSuccessor) {
  ScopedStore store;
  ManualClock clock(kStartMs);
  Options o = SmallOptions();
  o.clock = &clock;
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  GetOrComputeOptions g;
  g.lease_timeout = absl::Seconds(1);
  int child_rc = -1;
  absl::StatusOr<std::string> got = s.GetOrCompute(
      "k",
      [&]() -> absl::StatusOr<std::string> {
        clock.Advance(2000);  // our lease has expired
        child_rc = RunInChild([&] {
          auto r = s.GetOrCompute(
              "k", [] { return absl::StatusOr<std::string>("successor"); }, g);
          CHILD_CHECK_OK(r, 1);
          CHILD_CHECK(*r == "successor", 2);
          return 0;
        });
        return std::string("slow");
      },
      g);
  ASSERT_EQ(child_rc, 0) << testutil::DescribeExit(child_rc);
  ASSERT_OK(got.status());
  EXPECT_EQ(*got, "slow");
  EXPECT_EQ(GetOrDie(&s, "k"), "successor");
}

// After a failed final store (or a throwing compute) the lease is gone: the
// next caller computes at once instead of waiting out the lease.
TEST(SingleFlight, LeaseIsReleasedWhenTheValueCannotBeStored) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  Store& s = *store;
  GetOrComputeOptions impatient;
  impatient.wait_timeout = absl::ZeroDuration();  // a left-over lease: DeadlineExceeded
  impatient.lease_timeout = absl::Hours(1);
  auto computes_again = [&](absl::string_view key) {
    auto again = s.GetOrCompute(
        key, [] { return absl::StatusOr<std::string>("fine"); }, impatient);
    EXPECT_OK(again.status());
    EXPECT_EQ(GetOrDie(&s, key), "fine");
  };

  // A value over the store's maximum.
  auto big = s.GetOrCompute(
      "big", [] { return absl::StatusOr<std::string>(std::string(8192, 'x')); }, impatient);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted) << big.status();
  computes_again("big");

  // A bad TTL for the value: refused before computing, no lease taken.
  GetOrComputeOptions bad_ttl = impatient;
  bad_ttl.write.ttl = -absl::Seconds(1);
  bool computed = false;
  auto ttl = s.GetOrCompute(
      "ttl",
      [&] {
        computed = true;
        return absl::StatusOr<std::string>("v");
      },
      bad_ttl);
  EXPECT_EQ(ttl.status().code(), absl::StatusCode::kInvalidArgument) << ttl.status();
  EXPECT_FALSE(computed);
  computes_again("ttl");

  // A compute function that throws: no exception leaves the API.
  absl::StatusOr<std::string> thrown = absl::InternalError("not run");
  EXPECT_NO_THROW(thrown = s.GetOrCompute(
                      "throws",
                      []() -> absl::StatusOr<std::string> { throw std::runtime_error("boom"); },
                      impatient));
  EXPECT_EQ(thrown.status().code(), absl::StatusCode::kUnknown) << thrown.status();
  EXPECT_THAT(std::string(thrown.status().message()), HasSubstr("boom"));
  computes_again("throws");

  ASSERT_OK_AND_ASSIGN(StoreStats st, s.Stats());
  EXPECT_EQ(st.index_entries, st.items) << "a lease was left behind";
}

TEST(SingleFlight, LeaseIsReleasedWhenANoEvictStripeIsFull) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 64 << 10;
  o.lock_stripes = 1;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  const std::string value(4000, 'v');
  int stored = 0;
  while (s.Put(absl::StrCat("fill", stored), value).ok()) ++stored;
  ASSERT_GT(stored, 4);
  GetOrComputeOptions impatient;
  impatient.wait_timeout = absl::ZeroDuration();
  impatient.lease_timeout = absl::Hours(1);
  uint64_t leases_seen = 0;
  auto full = s.GetOrCompute(
      "late",
      [&] {
        auto st = s.Stats();
        if (st.ok()) leases_seen = st->index_entries - st->items;
        return absl::StatusOr<std::string>(value);
      },
      impatient);
  ASSERT_EQ(leases_seen, 1u) << "the lease itself did not fit; the test needs another fill";
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted) << full.status();
  // The lease is gone: the next caller is refused for room, not kept waiting.
  auto again = s.GetOrCompute(
      "late", [&] { return absl::StatusOr<std::string>(value); }, impatient);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kResourceExhausted) << again.status();
  ASSERT_OK_AND_ASSIGN(StoreStats st, s.Stats());
  EXPECT_EQ(st.index_entries, st.items) << "a lease was left behind";
}

// lease_timeout = InfiniteDuration must mean "never expires", not "born
// expired" (now + INT64_MAX overflowed).
TEST(SingleFlight, InfiniteLeaseTimeoutIsNotBornExpired) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  Store& s = *store;
  GetOrComputeOptions forever;
  forever.lease_timeout = absl::InfiniteDuration();
  bool inner_ran = false;
  absl::Status inner_status;
  auto outer = s.GetOrCompute(
      "k",
      [&]() -> absl::StatusOr<std::string> {
        // Our lease is live and we are alive: another caller must wait.
        GetOrComputeOptions no_wait;
        no_wait.wait_timeout = absl::ZeroDuration();
        auto inner = s.GetOrCompute(
            "k",
            [&] {
              inner_ran = true;
              return absl::StatusOr<std::string>("inner");
            },
            no_wait);
        inner_status = inner.status();
        return std::string("outer");
      },
      forever);
  ASSERT_OK(outer.status());
  EXPECT_FALSE(inner_ran) << "the infinite lease was taken over as expired";
  EXPECT_EQ(inner_status.code(), absl::StatusCode::kDeadlineExceeded) << inner_status;
  EXPECT_EQ(GetOrDie(&s, "k"), "outer");
}

// An evicting store that cannot make room (its index holds only leases of
// running computations) must not say that eviction is off.
TEST(Eviction, NoRoomMessageOfAnEvictingStoreIsTrue) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 1024;
  o.lock_stripes = 1;
  o.expected_items = 16;  // an index of 23 slots, 21 entries
  ASSERT_OK(store.Open(o));
  Store& s = *store;
  absl::Status innermost;
  std::function<absl::StatusOr<std::string>(int)> level =
      [&](int depth) -> absl::StatusOr<std::string> {
    return s.GetOrCompute(absl::StrCat("lease", depth), [&]() -> absl::StatusOr<std::string> {
      if (depth < 40) {
        absl::StatusOr<std::string> inner = level(depth + 1);
        if (!inner.ok() && innermost.ok()) innermost = inner.status();
      }
      return std::string("x");
    });
  };
  (void)level(0);
  ASSERT_EQ(innermost.code(), absl::StatusCode::kResourceExhausted) << innermost;
  EXPECT_THAT(std::string(innermost.message()), Not(HasSubstr("eviction is off")));
  EXPECT_THAT(std::string(innermost.message()), HasSubstr("GetOrCompute"));
}

}  // namespace
}  // namespace shmkv
