// Single flight (GetOrCompute): one computation per key across processes,
// leases of dead or stopped computers taken over, a computation never
// overwriting a newer write, leases released when the value cannot be
// stored, and deletes that cancel a computation.
#include <signal.h>
#include <sys/shm.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/platform/process.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::ChildProcess;
using ::shmkv::testutil::DescribeExit;
using ::shmkv::testutil::GetOrDie;
using ::shmkv::testutil::kStartMs;
using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::MetaOf;
using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::RunChildren;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SharedArray;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::WithClock;
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

TEST(CacheSemantics, GetOrComputeHitMissAndError) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  ASSERT_OK(store.Open(WithClock(&clock)));
  int computed = 0;
  GetOrComputeOptions opts;
  opts.write.ttl = absl::Seconds(30);
  opts.write.flags = 42;
  ASSERT_OK_AND_ASSIGN(std::string v, store->GetOrCompute(
                                          "k",
                                          [&]() -> absl::StatusOr<std::string> {
                                            ++computed;
                                            return std::string("computed");
                                          },
                                          opts));
  EXPECT_EQ(v, "computed");
  EXPECT_EQ(computed, 1);
  EntryMeta meta = MetaOf(*store, "k");
  EXPECT_EQ(meta.flags, 42u);
  EXPECT_EQ(meta.ttl_remaining, absl::Seconds(30));

  // A hit does not compute.
  ASSERT_OK_AND_ASSIGN(v, store->GetOrCompute(
                              "k",
                              [&]() -> absl::StatusOr<std::string> {
                                ++computed;
                                return std::string("other");
                              },
                              opts));
  EXPECT_EQ(v, "computed");
  EXPECT_EQ(computed, 1);

  // An error from compute is returned; nothing is stored; the next call retries.
  absl::StatusOr<std::string> failed = store->GetOrCompute(
      "err", [&]() -> absl::StatusOr<std::string> { return absl::InternalError("boom"); });
  EXPECT_TRUE(absl::IsInternal(failed.status())) << failed.status();
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("boom"));
  ASSERT_OK_AND_ASSIGN(bool has, store->Contains("err"));
  EXPECT_FALSE(has);
  ASSERT_OK_AND_ASSIGN(v, store->GetOrCompute("err", [&]() -> absl::StatusOr<std::string> {
    return std::string("recovered");
  }));
  EXPECT_EQ(v, "recovered");
  EXPECT_EQ(GetOrDie(&*store, "err"), "recovered");

  // After expiry it computes again.
  clock.Advance(31000);
  ASSERT_OK_AND_ASSIGN(v, store->GetOrCompute(
                              "k",
                              [&]() -> absl::StatusOr<std::string> {
                                ++computed;
                                return std::string("fresh");
                              },
                              opts));
  EXPECT_EQ(v, "fresh");
  EXPECT_EQ(computed, 2);
}

// The compute function may choose its value's TTL (a source that says when
// the value expires): the value is stored with the TTL it set, read after
// it returned; it starts as options.write.ttl.
TEST(CacheSemantics, GetOrComputeStoresTheTtlTheComputeSet) {
  ManualClock clock(kStartMs);
  ScopedStore store;
  ASSERT_OK(store.Open(WithClock(&clock)));
  GetOrComputeOptions opts;
  opts.write.ttl = absl::Seconds(30);
  opts.write.flags = 7;
  absl::Duration seen = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(std::string v, store->GetOrCompute(
                                          "k",
                                          [&](absl::Duration* ttl) -> absl::StatusOr<std::string> {
                                            seen = *ttl;
                                            *ttl = absl::Seconds(2);
                                            return std::string("short-lived");
                                          },
                                          opts));
  EXPECT_EQ(v, "short-lived");
  EXPECT_EQ(seen, absl::Seconds(30));
  EntryMeta meta = MetaOf(*store, "k");
  EXPECT_EQ(meta.ttl_remaining, absl::Seconds(2));
  EXPECT_EQ(meta.flags, 7u);
  clock.Advance(2001);
  ASSERT_OK_AND_ASSIGN(bool kept, store->Contains("k"));
  EXPECT_FALSE(kept) << "kept past the TTL the compute function set";

  // A negative TTL stores nothing and says which TTL was wrong; the lease
  // is released, so the next call computes at once.
  absl::StatusOr<std::string> refused =
      store->GetOrCompute("neg", [&](absl::Duration* ttl) -> absl::StatusOr<std::string> {
        *ttl = -absl::Seconds(1);
        return std::string("x");
      });
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("compute function set"));
  ASSERT_OK_AND_ASSIGN(v, store->GetOrCompute("neg", [&]() -> absl::StatusOr<std::string> {
    return std::string("kept");
  }));
  EXPECT_EQ(v, "kept");
  EXPECT_EQ(GetOrDie(&*store, "neg"), "kept");
}

TEST(CacheSemantics, GetOrComputeRunsOnceAcrossProcesses) {
  constexpr int kProcs = 8;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ScopedStore store;
    ASSERT_OK(store.Open());
    const StoreName name = store.name();
    SharedArray<std::atomic<int>> computations(1);
    const std::string key = absl::StrCat("single-flight/", round);
    const std::string want = MakeValue(key, 77, 1000);
    std::vector<int> statuses = RunChildren(kProcs, [&](int) -> int {
      auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
      CHILD_CHECK_OK(s, 1);
      auto r = (*s)->GetOrCompute(key, [&]() -> absl::StatusOr<std::string> {
        computations[0].fetch_add(1);
        // Counted twice: in shared memory and in the store itself.
        absl::StatusOr<int64_t> n = (*s)->Increment("computations", 1);
        if (!n.ok()) return n.status();
        absl::SleepFor(absl::Milliseconds(200));
        return want;
      });
      CHILD_CHECK_OK(r, 2);
      CHILD_CHECK(*r == want, 3);
      return 0;
    });
    for (int i = 0; i < kProcs; ++i) EXPECT_EQ(statuses[i], 0) << DescribeExit(statuses[i]);
    EXPECT_EQ(computations[0].load(), 1);
    EXPECT_EQ(GetOrDie(&*store, "computations"), "1");
    EXPECT_EQ(GetOrDie(&*store, key), want);
    ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
    EXPECT_EQ(size, 2u);
  }
}

// A child's body: takes the lease on "lease" and computes until killed,
// after writing its identity to *holder (if not null) and notifying
// `computing`.
int HoldLeaseUntilKilled(const StoreName& name, const GetOrComputeOptions& opts,
                         PipeEvent* computing, platform::ProcessIdentity* holder) {
  auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
  CHILD_CHECK_OK(s, 1);
  (void)(*s)->GetOrCompute(
      "lease",
      [&]() -> absl::StatusOr<std::string> {
        if (holder != nullptr) *holder = platform::CurrentIdentity();
        computing->Notify();
        for (;;) pause();  // killed here, lease held
      },
      opts);
  return 2;
}

TEST(CacheSemantics, GetOrComputeLeaseOfAKilledProcessIsTakenOver) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  const StoreName name = store.name();
  GetOrComputeOptions opts;
  opts.lease_timeout = absl::Milliseconds(300);
  opts.wait_timeout = absl::Seconds(10);
  PipeEvent computing;
  ChildProcess child([&] { return HoldLeaseUntilKilled(name, opts, &computing, nullptr); });
  ASSERT_TRUE(computing.WaitFor(absl::Seconds(20)));
  // The in-flight lease is not an entry.
  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("lease", &v)));
  ASSERT_OK_AND_ASSIGN(bool has, store->Contains("lease"));
  EXPECT_FALSE(has);
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 0u);

  child.Kill(SIGKILL);
  ASSERT_EQ(child.Wait(), 128 + SIGKILL);
  const absl::Time start = absl::Now();
  int computed = 0;
  ASSERT_OK_AND_ASSIGN(v, store->GetOrCompute(
                              "lease",
                              [&]() -> absl::StatusOr<std::string> {
                                ++computed;
                                return std::string("taken over");
                              },
                              opts));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(v, "taken over");
  EXPECT_EQ(computed, 1);
  EXPECT_EQ(GetOrDie(&*store, "lease"), "taken over");
}

// Overwrites the first copy of `from` in the store's segment with `to` (of
// the same size), as a process that writes the segment could; false if
// `from` is not there.
bool ReplaceInSegment(Store& store, absl::string_view from, absl::string_view to) {
  absl::StatusOr<StoreInfo> info = store.Info();
  if (!info.ok()) return false;
  void* base = shmat(info->shm_id, nullptr, 0);
  if (base == reinterpret_cast<void*>(-1)) return false;
  char* segment = static_cast<char*>(base);
  char* end = segment + info->segment_bytes;
  char* at = std::search(segment, end, from.begin(), from.end());
  const bool found = at != end;
  if (found) std::memcpy(at, to.data(), to.size());
  shmdt(base);
  return found;
}

absl::string_view BytesOf(const platform::ProcessIdentity& id) {
  return absl::string_view(reinterpret_cast<const char*>(&id), sizeof(id));
}

// How long a take-over took: from GetOrCompute's call, and from before the
// lease was taken (a lower bound on how long the lease has existed when
// GetOrCompute returns, whatever the machine's speed).
struct TakeOver {
  absl::Duration took;
  absl::Duration since_before_lease;
};

// Another process takes a lease on "lease" and computes until killed; the
// test then rewrites the identity the lease names with `forge`, and
// returns how long GetOrCompute took to take the lease over.
TakeOver TakeOverForgedLease(const GetOrComputeOptions& opts, bool kill_holder,
                             const std::function<void(platform::ProcessIdentity*)>& forge) {
  ScopedStore store;
  EXPECT_OK(store.Open());
  const StoreName name = store.name();
  SharedArray<platform::ProcessIdentity> holder(1);
  PipeEvent computing;
  const absl::Time before_lease = absl::Now();
  ChildProcess child([&] { return HoldLeaseUntilKilled(name, opts, &computing, &holder[0]); });
  EXPECT_TRUE(computing.WaitFor(absl::Seconds(20)));
  platform::ProcessIdentity forged = holder[0];
  EXPECT_EQ(forged.pid, child.pid());
  EXPECT_NE(forged.start_time, 0u);
  EXPECT_NE(forged.pid_namespace, 0u);
  forge(&forged);
  EXPECT_TRUE(ReplaceInSegment(*store, BytesOf(holder[0]), BytesOf(forged)));
  if (kill_holder) {
    child.Kill(SIGKILL);
    EXPECT_EQ(child.Wait(), 128 + SIGKILL);
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> v = store->GetOrCompute(
      "lease", []() -> absl::StatusOr<std::string> { return std::string("taken over"); }, opts);
  const absl::Time end = absl::Now();
  EXPECT_OK(v.status());
  if (v.ok()) EXPECT_EQ(*v, "taken over");
  return {end - start, end - before_lease};
}

// A lease names its holder by pid, start time and PID namespace: one whose
// pid is a live process that started at another time (its holder died and
// the pid was reused) is taken over at once, even with no lease timeout.
TEST(CacheSemantics, GetOrComputeLeaseOfAReusedPidIsTakenOver) {
  GetOrComputeOptions opts;
  opts.lease_timeout = absl::InfiniteDuration();
  opts.wait_timeout = absl::Seconds(5);
  const TakeOver t = TakeOverForgedLease(
      opts, /*kill_holder=*/false, [](platform::ProcessIdentity* id) { id->start_time += 1; });
  EXPECT_LT(t.took, absl::Seconds(2));
}

// A holder in another PID namespace cannot be looked up from this one (its
// pid names another process here, or none): its waiters wait for the lease
// to expire instead of taking it over, even once it died.
TEST(CacheSemantics, GetOrComputeLeaseOfAnotherPidNamespaceLastsItsTimeout) {
  GetOrComputeOptions opts;
  opts.lease_timeout = absl::Seconds(2);
  opts.wait_timeout = absl::Seconds(10);
  const TakeOver t = TakeOverForgedLease(
      opts, /*kill_holder=*/true, [](platform::ProcessIdentity* id) { id->pid_namespace += 1; });
  // The lease was taken after `before_lease`: it cannot have expired sooner
  // than its timeout after that (less the lease clock's millisecond).
  EXPECT_GE(t.since_before_lease, opts.lease_timeout - absl::Milliseconds(1));
  EXPECT_LT(t.took, absl::Seconds(8));
}

// Every delete that covers a key cancels a GetOrCompute computing it: the
// value computed from what was there before is returned to its caller but
// not stored. Another process computes `key` and waits on a pipe while the
// test runs `remove`; returns what the store then holds at `key`.
std::string ComputeAcrossDelete(absl::string_view key,
                                const std::function<absl::Status(Store&)>& remove) {
  ScopedStore store;
  EXPECT_OK(store.Open());
  const StoreName name = store.name();
  PipeEvent computing, go;
  ChildProcess child([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    auto r = (*s)->GetOrCompute(key, [&]() -> absl::StatusOr<std::string> {
      computing.Notify();
      if (!go.WaitFor(absl::Seconds(20))) return absl::DeadlineExceededError("no go");
      return std::string("computed");
    });
    CHILD_CHECK_OK(r, 2);
    CHILD_CHECK(*r == "computed", 3);  // returned, stored or not
    return 0;
  });
  EXPECT_TRUE(computing.WaitFor(absl::Seconds(20)));
  EXPECT_OK(remove(*store));
  go.Notify();
  EXPECT_EQ(child.Wait(), 0);
  return GetOrDie(&*store, key);
}

TEST(CacheSemantics, DeletePrefixCancelsAComputation) {
  EXPECT_THAT(ComputeAcrossDelete("u:1",
                                  [](Store& s) -> absl::Status {
                                    absl::StatusOr<uint64_t> n = s.DeletePrefix("u:");
                                    if (!n.ok()) return n.status();
                                    EXPECT_EQ(*n, 0u);  // a cancelled lease is not an entry
                                    return absl::OkStatus();
                                  }),
              HasSubstr("NOT_FOUND"));
}

TEST(CacheSemantics, DeleteMatchingCancelsAComputation) {
  EXPECT_THAT(ComputeAcrossDelete("u:1",
                                  [](Store& s) {
                                    ScanOptions options;
                                    options.match = "u:?";
                                    return s.DeleteMatching(options).status();
                                  }),
              HasSubstr("NOT_FOUND"));
}

TEST(CacheSemantics, ClearCancelsAComputation) {
  EXPECT_THAT(ComputeAcrossDelete("u:1", [](Store& s) { return s.Clear(); }),
              HasSubstr("NOT_FOUND"));
}

TEST(CacheSemantics, DeleteMatchingLeavesOtherComputations) {
  EXPECT_EQ(ComputeAcrossDelete("v:1", [](Store& s) { return s.DeletePrefix("u:").status(); }),
            "computed");
}

}  // namespace
}  // namespace shmkv
