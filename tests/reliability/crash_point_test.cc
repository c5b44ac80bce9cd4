// Deterministic crash points: for every named step of the write paths
// (kv/internal/crash_point.h), a child process attaches the store, arms that
// step and runs an operation that reaches it, so it dies there holding the
// stripe's mutex. The parent then reopens the store and checks that every
// key holds an intact value it may hold (the old value, or the new one of
// the operation that died), that no other key appeared, that Check(false) is
// clean and that the store stays writable. The crash torture test finds the
// same states by chance; this test reaches each of them on every run.
//
// This test links //kv:store_test_hooks, the store built with its test
// hooks, and must not link //kv:store.
#include "kv/internal/crash_point.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "tests/raw_segment.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using internal::ArmCrashPoint;
using internal::kCrashPointExit;
using testutil::MakeValue;
using testutil::OneStripe;
using testutil::RunInChild;
using testutil::ScopedStore;
using testutil::SharedArray;

// Exit statuses of the child besides kCrashPointExit.
constexpr int kOpenFailed = 1;
constexpr int kOpFailed = 2;
constexpr int kNotReached = 3;

// What a key may hold after the crash: any of these values, or nothing when
// `absent_ok`.
struct Allowed {
  std::vector<std::string> values;
  bool absent_ok = false;
};
using Model = std::map<std::string, Allowed>;

// Progress a child reports before each step of its operation, in memory the
// parent reads after the child died: how many steps it began.
struct Progress {
  std::atomic<int64_t> begun{0};
};

struct Scenario {
  const char* name;
  Options options;
  // Writes the store's contents before the crash and returns the model.
  std::function<Model(Store*)> setup;
  // Runs in the child; returns a status (it should never return at all:
  // the armed crash point ends the process).
  std::function<absl::Status(Store*, Progress*)> op;
  // What the operation that died may have left: updates the model from the
  // number of steps the child began.
  std::function<void(int64_t begun, Model*)> allow;
};

// A one-stripe store of 64 KiB, so that a few hundred writes lap its log.
Options TinyOneStripe(bool evict) {
  Options o = OneStripe();
  o.capacity_bytes = 64 << 10;
  o.max_value_size = 1024;
  o.evict = evict;
  return o;
}

std::string Key(const char* prefix, int64_t i) { return absl::StrCat(prefix, i); }

Model PutKeys(Store* store, const char* prefix, int n, size_t len) {
  Model model;
  for (int i = 0; i < n; ++i) {
    const std::string k = Key(prefix, i);
    const std::string v = MakeValue(k, 1, len);
    if (!store->Put(k, v).ok()) ADD_FAILURE() << "setup put " << k;
    model[k] = Allowed{{v}, false};
  }
  return model;
}

// An overwrite of k3 (of ten keys): its old or its new value.
Scenario Overwrite() {
  Scenario s;
  s.name = "overwrite";
  s.options = OneStripe();
  s.setup = [](Store* store) { return PutKeys(store, "k", 10, 100); };
  s.op = [](Store* store, Progress*) { return store->Put("k3", MakeValue("k3", 2, 150)); };
  s.allow = [](int64_t, Model* model) { (*model)["k3"].values.push_back(MakeValue("k3", 2, 150)); };
  return s;
}

// A new key: absent or its value.
Scenario Insert() {
  Scenario s = Overwrite();
  s.name = "insert";
  s.op = [](Store* store, Progress*) { return store->Put("new", MakeValue("new", 1, 80)); };
  s.allow = [](int64_t, Model* model) {
    (*model)["new"] = Allowed{{MakeValue("new", 1, 80)}, true};
  };
  return s;
}

// Without eviction, overwriting one key until its log laps moves the live
// record at the tail ("keep") forward: compaction.
Scenario Compaction() {
  Scenario s;
  s.name = "compaction";
  s.options = TinyOneStripe(/*evict=*/false);
  s.setup = [](Store* store) {
    Model model = PutKeys(store, "keep", 1, 200);
    const std::string v = MakeValue("churn", 0, 900);
    if (!store->Put("churn", v).ok()) ADD_FAILURE() << "setup put churn";
    model["churn"] = Allowed{{v}, false};
    return model;
  };
  s.op = [](Store* store, Progress* progress) {
    for (int64_t i = 1; i <= 1000; ++i) {
      progress->begun.store(i);
      if (absl::Status st = store->Put("churn", MakeValue("churn", i, 900)); !st.ok()) return st;
    }
    return absl::OkStatus();
  };
  s.allow = [](int64_t begun, Model* model) {
    (*model)["churn"] =
        Allowed{{MakeValue("churn", begun - 1, 900), MakeValue("churn", begun, 900)}, false};
  };
  return s;
}

// With eviction, new keys push the oldest out: any key may be gone.
Scenario Eviction() {
  Scenario s;
  s.name = "eviction";
  s.options = TinyOneStripe(/*evict=*/true);
  s.setup = [](Store* store) {
    Model model = PutKeys(store, "old", 40, 600);
    for (auto& entry : model) entry.second.absent_ok = true;
    return model;
  };
  s.op = [](Store* store, Progress* progress) {
    for (int64_t i = 0; i < 1000; ++i) {
      progress->begun.store(i + 1);
      const std::string k = Key("new", i);
      if (absl::Status st = store->Put(k, MakeValue(k, 1, 600)); !st.ok()) return st;
    }
    return absl::OkStatus();
  };
  s.allow = [](int64_t begun, Model* model) {
    for (int64_t i = 0; i < begun; ++i) {
      const std::string k = Key("new", i);
      (*model)[k] = Allowed{{MakeValue(k, 1, 600)}, true};
    }
  };
  return s;
}

// Deleting keys one by one from a nearly full 23-slot index: a deletion
// shifts later slots of its probe run back.
Scenario Deletion() {
  Scenario s;
  s.name = "deletion";
  s.options = OneStripe();
  s.options.expected_items = 16;  // 23 slots, 21 entries
  s.options.evict = false;
  s.setup = [](Store* store) { return PutKeys(store, "d", 21, 64); };
  s.op = [](Store* store, Progress* progress) {
    for (int64_t i = 0; i < 21; ++i) {
      progress->begun.store(i + 1);
      if (absl::Status st = store->Delete(Key("d", i)); !st.ok()) return st;
    }
    return absl::OkStatus();
  };
  s.allow = [](int64_t begun, Model* model) {
    for (int64_t i = 0; i + 1 < begun; ++i) (*model)[Key("d", i)] = Allowed{{}, true};
    (*model)[Key("d", begun - 1)].absent_ok = true;
  };
  return s;
}

// Runs `op` in a child that dies at `point` (after `skip` earlier passes).
void DieAt(const ScopedStore& store, const Options& options, const char* point, int skip,
           const std::function<absl::Status(Store*, Progress*)>& op, Progress* progress) {
  const StoreName name = store.name();
  const int status = RunInChild([&]() -> int {
    auto attached = Store::Open(name, options, OpenMode::kAttach);
    CHILD_CHECK_OK(attached, kOpenFailed);
    ArmCrashPoint(point, skip);
    CHILD_CHECK_OK(op(attached->get(), progress), kOpFailed);
    return kNotReached;
  });
  ASSERT_EQ(status, kCrashPointExit)
      << "the child did not die at " << point << ": " << testutil::DescribeExit(status)
      << (status == kNotReached ? " (the operation never reached it)" : "");
}

// The store after recovery: every key of the model holds a value it may
// hold, no other key exists, Check(false) is clean, and every key can be
// written and read again.
void ExpectRecovered(Store* store, const Model& model) {
  std::string got;
  for (const auto& [key, allowed] : model) {
    absl::Status s = store->Get(key, &got);
    if (absl::IsNotFound(s)) {
      EXPECT_TRUE(allowed.absent_ok) << key << " is missing";
      continue;
    }
    ASSERT_TRUE(s.ok()) << key << ": " << s;
    bool known = false;
    for (const std::string& v : allowed.values) known = known || got == v;
    EXPECT_TRUE(known) << key << " holds a value it never had ("
                       << testutil::CheckValue(key, got).status() << ")";
  }
  uint64_t listed = 0;
  ASSERT_OK(store->ForEach("", [&](absl::string_view key, absl::string_view, const EntryMeta&) {
    ++listed;
    EXPECT_TRUE(model.count(std::string(key)) == 1) << "a key nobody wrote appeared: " << key;
    return true;
  }));
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  for (const std::string& problem : report.problems) ADD_FAILURE() << problem;
  EXPECT_EQ(report.entries_checked, listed);
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, listed);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_GE(stats.owner_deaths_recovered, 1u);

  for (const auto& entry : model) {
    const std::string v = MakeValue(entry.first, 99, 48);
    ASSERT_OK(store->Put(entry.first, v)) << entry.first;
    ASSERT_OK(store->Get(entry.first, &got)) << entry.first;
    EXPECT_EQ(got, v) << entry.first;
  }
  ASSERT_OK_AND_ASSIGN(report, store->Check(false));
  for (const std::string& problem : report.problems)
    ADD_FAILURE() << "after rewriting: " << problem;
}

struct Case {
  Scenario (*scenario)();
  const char* point;
};

const Case kCases[] = {
    {Overwrite, "write.half_written"}, {Overwrite, "write.after_head"},
    {Overwrite, "write.after_slot"},   {Overwrite, "write.after_old_dead"},
    {Insert, "write.after_head"},      {Insert, "write.after_slot"},
    {Compaction, "move.after_copy"},   {Compaction, "move.after_slot"},
    {Compaction, "move.before_tail"},  {Eviction, "evict.after_dead"},
    {Deletion, "delete.mid_shift"},
};

// Creates `store` with the scenario's contents (each key read once first
// when `read_first`), runs the scenario's operation in a child that dies at
// `point`, and leaves in *model what each key may hold afterwards.
void CrashAt(const Scenario& scenario, const char* point, bool read_first, ScopedStore* store,
             Model* model) {
  ASSERT_OK(store->Open(scenario.options));
  *model = scenario.setup(store->get());
  std::string got;
  if (read_first) {
    for (const auto& entry : *model) ASSERT_OK((*store)->Get(entry.first, &got));
  }
  SharedArray<Progress> progress(1);
  ASSERT_NO_FATAL_FAILURE(DieAt(*store, scenario.options, point, 0, scenario.op, &progress[0]));
  scenario.allow(progress[0].begun.load(), model);
}

TEST(CrashPoints, EveryStepRecovers) {
  for (const Case& c : kCases) {
    const Scenario scenario = c.scenario();
    SCOPED_TRACE(absl::StrCat(scenario.name, " dying at ", c.point));
    ScopedStore store;
    Model model;
    ASSERT_NO_FATAL_FAILURE(CrashAt(scenario, c.point, /*read_first=*/false, &store, &model));
    ASSERT_OK(store.Open(scenario.options, OpenMode::kAttach));
    ASSERT_NO_FATAL_FAILURE(ExpectRecovered(store.get(), model));
  }
}

// A writer that dies mid-update leaves its stripe's read version odd
// (doc/locking.md, "Optimistic reads"), so readers cannot trust what it
// left without the lock: the first Get after the death takes the lock,
// whose owner-dead recovery rebuilds the stripe and ends with the version
// even; then the store holds what it may hold. Every key was read once
// before the crash (which sets its reference bit), so a Get of an intact
// stripe would take no lock.
TEST(CrashPoints, AReaderAfterAWriterDiedTakesTheLockAndRecoveryMakesTheVersionEven) {
  for (const Case& c : kCases) {
    const Scenario scenario = c.scenario();
    SCOPED_TRACE(absl::StrCat(scenario.name, " dying at ", c.point));
    ScopedStore store;
    Model model;
    ASSERT_NO_FATAL_FAILURE(CrashAt(scenario, c.point, /*read_first=*/true, &store, &model));
    testutil::RawSegment raw(store.key());
    ASSERT_TRUE(raw.ok());
    const internal::Stripe* stripe = raw.stripe(0);
    EXPECT_EQ(stripe->read_version % 2, 1u) << "the dead writer left its stripe's version even";
    const auto& [key, allowed] = *model.begin();
    std::string got;
    const absl::Status read = store->Get(key, &got);
    ASSERT_TRUE(read.ok() || (absl::IsNotFound(read) && allowed.absent_ok)) << key << ": " << read;
    EXPECT_EQ(stripe->read_version % 2, 0u) << "the first read did not recover the stripe";
    ASSERT_NO_FATAL_FAILURE(ExpectRecovered(store.get(), model));
  }
}

// A rebuild that dies half way (after the first live records are indexed
// again) leaves the mutex owner-dead once more; the next locker starts the
// rebuild over and gets the same store.
TEST(CrashPoints, InterruptedRebuildIsRedone) {
  const Scenario scenario = Overwrite();
  ScopedStore store;
  ASSERT_OK(store.Open(scenario.options));
  Model model = scenario.setup(store.get());
  SharedArray<Progress> progress(1);
  ASSERT_NO_FATAL_FAILURE(
      DieAt(store, scenario.options, "write.after_slot", 0, scenario.op, &progress[0]));
  scenario.allow(0, &model);
  // The reader's lock finds the writer dead and rebuilds; it dies in the
  // middle of that rebuild.
  ASSERT_NO_FATAL_FAILURE(DieAt(
      store, scenario.options, "rebuild.mid_walk", 3,
      [](Store* s, Progress*) {
        std::string v;
        return s->Get("k0", &v);
      },
      &progress[0]));
  ASSERT_OK(store.Open(scenario.options, OpenMode::kAttach));
  ASSERT_NO_FATAL_FAILURE(ExpectRecovered(store.get(), model));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_GE(stats.owner_deaths_recovered, 1u);
}

// A destroyer killed between the destroyed mark and IPC_RMID (it held the
// store's semaphore, which SEM_UNDO released): the store is not left
// marked and unusable for good. The next opener finishes the removal and,
// allowed to create, builds a new store; Destroy finishes it as well.
TEST(CrashPoints, ADestroyerKilledAfterItsMarkIsFinishedByTheNextOpener) {
  for (const bool by_destroy : {false, true}) {
    SCOPED_TRACE(by_destroy ? "finished by Destroy" : "finished by Open");
    ScopedStore store;
    ASSERT_OK(store.Open(testutil::SmallOptions()));
    ASSERT_OK(store->Put("old", "value"));
    const StoreName name = store.name();
    const int rc = RunInChild([&] {
      ArmCrashPoint("destroy.after_mark");
      (void)Store::Destroy(name);
      return kNotReached;
    });
    ASSERT_EQ(rc, kCrashPointExit) << testutil::DescribeExit(rc);
    // The old attachment learns of the destroy.
    EXPECT_EQ(store->Put("old", "again").code(), absl::StatusCode::kFailedPrecondition);
    if (by_destroy) {
      ASSERT_OK(Store::Destroy(name));
      EXPECT_EQ(Store::Open(name, testutil::SmallOptions(), OpenMode::kAttach).status().code(),
                absl::StatusCode::kNotFound);
    } else {
      EXPECT_EQ(Store::Open(name, testutil::SmallOptions(), OpenMode::kAttach).status().code(),
                absl::StatusCode::kNotFound);
    }
    ASSERT_OK(store.Open(testutil::SmallOptions(), OpenMode::kOpenOrCreate));
    std::string v;
    EXPECT_TRUE(absl::IsNotFound(store->Get("old", &v)));
    ASSERT_OK(store->Put("new", "value"));
  }
}

}  // namespace
}  // namespace shmkv
