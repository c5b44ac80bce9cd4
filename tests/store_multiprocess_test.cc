// The store shared by real processes (fork): persistence across process
// lifetimes, racing creators, concurrent readers and writers, processes that
// die holding a lock or in the middle of a write, and threads of one process.
//
// Children never use GoogleTest: they return an exit status (0 = success)
// and print what went wrong on stderr.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
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
using ::shmkv::testutil::ChildProcess;
using ::shmkv::testutil::DescribeExit;
using ::shmkv::testutil::ListSysvSem;
using ::shmkv::testutil::ListSysvShm;
using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::PipeEvent;
using ::shmkv::testutil::RunChildren;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SharedArray;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::UniqueStoreName;

std::string PersistKey(int i) { return absl::StrCat("persist/", i); }

const testutil::SysvShm* FindShm(const std::vector<testutil::SysvShm>& all, key_t key) {
  for (const auto& s : all)
    if (s.key == key) return &s;
  return nullptr;
}

// ---------------------------------------------------------- persistence ---

TEST(MultiProcess, ContentsOutliveEveryProcess) {
  ScopedStore cleanup;
  const StoreName name = cleanup.name();
  constexpr int kKeys = 500, kCrashKeys = 100;

  // A child creates the store, fills it, and exits normally.
  int status = RunInChild([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kCreate);
    CHILD_CHECK_OK(s, 1);
    for (int i = 0; i < kKeys; ++i) {
      CHILD_CHECK_OK((*s)->Put(PersistKey(i), MakeValue(PersistKey(i), i, 40 + i * 7)), 2);
    }
    return 0;
  });
  ASSERT_EQ(status, 0) << DescribeExit(status);

  // Another child adds more and dies by SIGKILL, without any cleanup.
  status = RunInChild([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    for (int i = kKeys; i < kKeys + kCrashKeys; ++i) {
      CHILD_CHECK_OK((*s)->Put(PersistKey(i), MakeValue(PersistKey(i), i, 100)), 2);
    }
    raise(SIGKILL);
    return 3;
  });
  ASSERT_EQ(status, 128 + SIGKILL) << DescribeExit(status);

  // Nobody is attached now, yet the segment is still there.
  const testutil::SysvShm* shm = nullptr;
  std::vector<testutil::SysvShm> listed = ListSysvShm();
  shm = FindShm(listed, name.key());
  ASSERT_NE(shm, nullptr) << "segment vanished when its processes exited";
  EXPECT_EQ(shm->nattch, 0u);

  // A third child reads everything back.
  status = RunInChild([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    for (int i = 0; i < kKeys + kCrashKeys; ++i) {
      std::string v;
      CHILD_CHECK_OK((*s)->Get(PersistKey(i), &v), 2);
      auto seq = CheckValue(PersistKey(i), v);
      CHILD_CHECK_OK(seq, 3);
      CHILD_CHECK(*seq == static_cast<uint64_t>(i), 4);
    }
    auto size = (*s)->Size();
    CHILD_CHECK_OK(size, 5);
    CHILD_CHECK(*size == static_cast<uint64_t>(kKeys + kCrashKeys), 6);
    return 0;
  });
  ASSERT_EQ(status, 0) << DescribeExit(status);

  listed = ListSysvShm();
  shm = FindShm(listed, name.key());
  ASSERT_NE(shm, nullptr);
  EXPECT_EQ(shm->nattch, 0u);

  // The parent attaches, sees one attachment (itself), and detaches.
  ASSERT_OK(cleanup.Open(SmallOptions(), OpenMode::kAttach));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, cleanup->Info());
  EXPECT_EQ(info.attached_processes, 1u);
  EXPECT_NE(info.creator_pid, getpid());
  std::string v;
  ASSERT_OK(cleanup->Get(PersistKey(kKeys + kCrashKeys - 1), &v));
  EXPECT_OK(CheckValue(PersistKey(kKeys + kCrashKeys - 1), v));
  const int shm_id = info.shm_id, sem_id = info.sem_id;
  cleanup.Detach();
  listed = ListSysvShm();
  shm = FindShm(listed, name.key());
  ASSERT_NE(shm, nullptr);
  EXPECT_EQ(shm->id, shm_id);
  EXPECT_EQ(shm->nattch, 0u);
  bool sem_listed = false;
  for (const auto& sem : ListSysvSem()) sem_listed |= sem.id == sem_id;
  EXPECT_TRUE(sem_listed) << "semaphore set " << sem_id << " missing before Destroy";

  // Destroy removes both the segment and the semaphore set.
  ASSERT_OK(Store::Destroy(name));
  for (const auto& s : ListSysvShm()) {
    EXPECT_NE(s.key, name.key()) << "segment still listed after Destroy";
    EXPECT_NE(s.id, shm_id) << "segment still listed after Destroy";
  }
  for (const auto& sem : ListSysvSem()) {
    EXPECT_NE(sem.id, sem_id) << "semaphore set still listed after Destroy";
    EXPECT_NE(sem.key, name.key()) << "a semaphore set is still at the key after Destroy";
  }
}

// A process attached while another destroys the store is told so by every
// operation; the kernel frees the segment when it detaches.
TEST(MultiProcess, DestroyWhileAnotherProcessIsAttached) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  const StoreName name = store.name();
  PipeEvent destroyed, attached;
  ChildProcess child([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    attached.Notify();
    CHILD_CHECK(destroyed.WaitFor(absl::Seconds(20)), 2);
    for (int i = 0; i < 100; ++i) {
      const std::string k = absl::StrCat("late/", i);
      CHILD_CHECK_CODE((*s)->Put(k, MakeValue(k, i, 64)), absl::StatusCode::kFailedPrecondition, 3);
    }
    std::string v;
    CHILD_CHECK_CODE((*s)->Get("k", &v), absl::StatusCode::kFailedPrecondition, 4);
    CHILD_CHECK_CODE((*s)->Info(), absl::StatusCode::kFailedPrecondition, 6);
    return 0;
  });
  ASSERT_TRUE(attached.WaitFor(absl::Seconds(20)));
  ASSERT_OK(store.Destroy());
  auto gone = Store::Open(name, SmallOptions(), OpenMode::kAttach);
  EXPECT_TRUE(absl::IsNotFound(gone.status())) << gone.status();
  destroyed.Notify();
  EXPECT_EQ(child.Wait(), 0);
  for (const auto& s : ListSysvShm())
    EXPECT_NE(s.id, info.shm_id) << "segment outlived its last attachment";
}

// --------------------------------------------------------- create race ---

TEST(MultiProcess, RacingCreatorsMakeExactlyOneStore) {
  constexpr int kProcs = 16;
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    ScopedStore cleanup;
    const StoreName name = cleanup.name();
    SharedArray<std::atomic<int>> written(1);
    SharedArray<int> shm_ids(kProcs), sem_ids(kProcs), creators(kProcs), pids(kProcs);

    std::vector<int> statuses = RunChildren(kProcs, [&](int i) -> int {
      pids[i] = getpid();
      auto s = Store::Open(name, SmallOptions(), OpenMode::kOpenOrCreate);
      CHILD_CHECK_OK(s, 1);
      auto info = (*s)->Info();
      CHILD_CHECK_OK(info, 2);
      shm_ids[i] = info->shm_id;
      sem_ids[i] = info->sem_id;
      creators[i] = info->creator_pid;
      // Write at once: a late creator that re-initialised the segment would
      // wipe this out.
      const std::string k = absl::StrCat("racer/", i);
      CHILD_CHECK_OK((*s)->Put(k, MakeValue(k, i, 64 + i)), 3);
      written[0].fetch_add(1);
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      while (written[0].load() < kProcs) {
        CHILD_CHECK(absl::Now() < deadline, 4);
        absl::SleepFor(absl::Milliseconds(1));
      }
      for (int j = 0; j < kProcs; ++j) {
        const std::string kj = absl::StrCat("racer/", j);
        std::string v;
        CHILD_CHECK_OK((*s)->Get(kj, &v), 5);
        auto seq = CheckValue(kj, v);
        CHILD_CHECK_OK(seq, 6);
        CHILD_CHECK(*seq == static_cast<uint64_t>(j), 7);
      }
      return 0;
    });
    for (int i = 0; i < kProcs; ++i) {
      EXPECT_EQ(statuses[i], 0) << "child " << i << ": " << DescribeExit(statuses[i]);
    }
    std::set<int> shm_set(&shm_ids[0], &shm_ids[0] + kProcs);
    std::set<int> sem_set(&sem_ids[0], &sem_ids[0] + kProcs);
    std::set<int> creator_set(&creators[0], &creators[0] + kProcs);
    std::set<int> pid_set(&pids[0], &pids[0] + kProcs);
    EXPECT_EQ(shm_set.size(), 1u);
    EXPECT_EQ(sem_set.size(), 1u);
    ASSERT_EQ(creator_set.size(), 1u);
    EXPECT_EQ(pid_set.count(*creator_set.begin()), 1u) << "creator is not one of the racers";
    int segments = 0, sem_sets = 0;
    for (const auto& s : ListSysvShm()) segments += s.key == name.key();
    for (const auto& s : ListSysvSem()) sem_sets += s.key == name.key();
    EXPECT_EQ(segments, 1);
    EXPECT_LE(sem_sets, 1);

    ASSERT_OK(cleanup.Open(SmallOptions(), OpenMode::kAttach));
    ASSERT_OK_AND_ASSIGN(uint64_t size, cleanup->Size());
    EXPECT_EQ(size, static_cast<uint64_t>(kProcs));
  }
}

// -------------------------------------------------- readers and writers ---

struct KeySlot {
  uint64_t seq;  // 0: deleted (or never written)
  uint32_t len;
};

struct WorkerTotals {
  std::atomic<uint64_t> puts{0}, deletes{0}, reads{0}, found{0};
  std::atomic<uint64_t> torn{0}, regressions{0}, errors{0};
  std::atomic<int> writers_done{0};
};

// The work is counted, not timed, so that a slow (loaded, instrumented)
// machine does the same work, only later: each writer makes kWriterOps
// operations (its RNG is seeded, so the count of puts is fixed: about 1,500
// over four writers), and each reader reads until every writer is done and
// it found at least kReaderFinds values.
constexpr int kWriterOps = 400;
constexpr uint64_t kReaderFinds = 300;

constexpr int kKeysPerWriter = 256;
constexpr int kHotKeys = 16;

std::string OwnedKey(int writer, int j) { return absl::StrCat("owned/", writer, "/", j); }
std::string HotKey(int j) { return absl::StrCat("hot/", j); }

Options ConcurrencyOptions() {
  Options o = SmallOptions();
  o.capacity_bytes = size_t{16} << 20;
  o.max_value_size = 4096;
  o.evict = false;  // nothing may disappear: the final state is checked exactly
  return o;
}

// Writer `w` owns OwnedKey(w, *): it alone writes them, with increasing
// sequence numbers, and records its last write in `slots`. All writers write
// the hot keys.
int WriterOps(Store& store, int w, KeySlot* slots, WorkerTotals& totals) {
  testutil::TestRng gen(1000 + w);
  uint64_t seq = 0;
  for (int op = 0; op < kWriterOps; ++op) {
    const double r = gen.Unit();
    const size_t len = gen.Uniform<size_t>(32, 3001);
    if (r < 0.3) {
      const std::string k = HotKey(gen.Uniform(0, kHotKeys));
      absl::Status s =
          store.Put(k, MakeValue(k, (uint64_t{static_cast<uint32_t>(w)} << 40) | ++seq, len));
      if (!s.ok()) {
        std::fprintf(stderr, "[writer %d] Put(%s): %s\n", w, k.c_str(), s.ToString().c_str());
        totals.errors.fetch_add(1);
        return 10;
      }
      totals.puts.fetch_add(1);
      continue;
    }
    const int j = gen.Uniform(0, kKeysPerWriter);
    const std::string k = OwnedKey(w, j);
    if (r < 0.35) {
      absl::Status s = store.Delete(k);
      if (s.ok()) {
        totals.deletes.fetch_add(1);
      } else if (!absl::IsNotFound(s) || slots[j].seq != 0) {
        std::fprintf(stderr, "[writer %d] Delete(%s): %s\n", w, k.c_str(), s.ToString().c_str());
        totals.errors.fetch_add(1);
        return 11;
      }
      slots[j].seq = 0;
      continue;
    }
    absl::Status s = store.Put(k, MakeValue(k, ++seq, len));
    if (!s.ok()) {
      std::fprintf(stderr, "[writer %d] Put(%s): %s\n", w, k.c_str(), s.ToString().c_str());
      totals.errors.fetch_add(1);
      return 12;
    }
    totals.puts.fetch_add(1);
    slots[j].seq = seq;
    slots[j].len = static_cast<uint32_t>(len);
  }
  return 0;
}

// WriterOps, then counted done however it ended (readers wait for it).
int WriterLoop(Store& store, int w, KeySlot* slots, WorkerTotals& totals) {
  const int rc = WriterOps(store, w, slots, totals);
  totals.writers_done.fetch_add(1);
  return rc;
}

// Readers read every key, with Get and View; every value found must be
// intact and belong to its key, and a writer's key never goes back in time.
int ReaderLoop(Store& store, int writers, WorkerTotals& totals, int reader) {
  testutil::TestRng gen(2000 + reader);
  std::vector<uint64_t> last_seen(writers * kKeysPerWriter, 0);
  std::string v;
  uint64_t found = 0;
  // Not a measure of speed: only so that a writer that never started (its
  // process failed before its loop) ends the test instead of hanging it.
  const absl::Time give_up = absl::Now() + absl::Minutes(2);
  while (totals.writers_done.load() < writers || found < kReaderFinds) {
    if (absl::Now() > give_up) {
      std::fprintf(stderr, "[reader %d] the writers did not finish within 2 minutes\n", reader);
      totals.errors.fetch_add(1);
      return 21;
    }
    for (int burst = 0; burst < 64; ++burst) {
      const bool hot = gen.Bernoulli(0.25);
      const int w = gen.Uniform(0, writers);
      const int j = gen.Uniform(0, hot ? kHotKeys : kKeysPerWriter);
      const std::string k = hot ? HotKey(j) : OwnedKey(w, j);
      absl::StatusOr<uint64_t> seq = absl::NotFoundError("");
      absl::Status s;
      if (gen.Bernoulli(0.5)) {
        s = store.Get(k, &v);
        if (s.ok()) seq = CheckValue(k, v);
      } else {
        s = store.View(k, [&](absl::string_view value, const EntryMeta& meta) {
          seq = CheckValue(k, value);
          if (seq.ok() && meta.value_size != value.size()) {
            seq = absl::DataLossError("meta.value_size differs from the view");
          }
        });
      }
      totals.reads.fetch_add(1);
      if (absl::IsNotFound(s)) continue;
      if (!s.ok()) {
        std::fprintf(stderr, "[reader %d] read %s: %s\n", reader, k.c_str(), s.ToString().c_str());
        totals.errors.fetch_add(1);
        return 20;
      }
      totals.found.fetch_add(1);
      ++found;
      if (!seq.ok()) {
        std::fprintf(stderr, "[reader %d] %s: %s\n", reader, k.c_str(),
                     seq.status().ToString().c_str());
        totals.torn.fetch_add(1);
        continue;
      }
      if (!hot) {
        uint64_t& last = last_seen[w * kKeysPerWriter + j];
        if (*seq < last) {
          std::fprintf(stderr, "[reader %d] %s went back from seq %llu to %llu\n", reader,
                       k.c_str(), static_cast<unsigned long long>(last),
                       static_cast<unsigned long long>(*seq));
          totals.regressions.fetch_add(1);
        }
        last = *seq;
      }
    }
  }
  return 0;
}

// Verifies the final state: every owned key holds exactly its writer's last
// write (or is absent after a delete); hot keys are intact.
void ExpectFinalState(Store& store, int writers, const KeySlot* slots) {
  int mismatches = 0;
  for (int w = 0; w < writers; ++w) {
    for (int j = 0; j < kKeysPerWriter; ++j) {
      const KeySlot& slot = slots[w * kKeysPerWriter + j];
      const std::string k = OwnedKey(w, j);
      std::string v;
      absl::Status s = store.Get(k, &v);
      if (slot.seq == 0) {
        if (!absl::IsNotFound(s) && ++mismatches < 10) {
          ADD_FAILURE() << k << " was deleted last but reads " << s;
        }
        continue;
      }
      if (!s.ok()) {
        if (++mismatches < 10) ADD_FAILURE() << k << ": " << s;
        continue;
      }
      if (v != MakeValue(k, slot.seq, slot.len) && ++mismatches < 10) {
        auto seq = CheckValue(k, v);
        ADD_FAILURE() << k << ": want seq " << slot.seq << " len " << slot.len << ", got "
                      << (seq.ok() ? absl::StrCat("seq ", *seq) : seq.status().ToString())
                      << " len " << v.size();
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (int j = 0; j < kHotKeys; ++j) {
    std::string v;
    absl::Status s = store.Get(HotKey(j), &v);
    if (s.ok()) {
      EXPECT_OK(CheckValue(HotKey(j), v));
    } else {
      EXPECT_TRUE(absl::IsNotFound(s)) << s;
    }
  }
}

TEST(MultiProcess, ConcurrentReadersAndWritersSeeNoTornValues) {
  constexpr int kWriters = 4, kReaders = 4;
  ScopedStore store;
  ASSERT_OK(store.Open(ConcurrencyOptions()));
  const StoreName name = store.name();
  SharedArray<KeySlot> slots(kWriters * kKeysPerWriter);
  SharedArray<WorkerTotals> totals(1);

  std::vector<int> statuses = RunChildren(kWriters + kReaders, [&](int i) -> int {
    auto s = Store::Open(name, ConcurrencyOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    if (i < kWriters) {
      return WriterLoop(**s, i, &slots[i * kKeysPerWriter], totals[0]);
    }
    return ReaderLoop(**s, kWriters, totals[0], i - kWriters);
  });
  for (size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_EQ(statuses[i], 0) << (i < kWriters ? "writer " : "reader ") << i << ": "
                              << DescribeExit(statuses[i]);
  }
  const WorkerTotals& t = totals[0];
  EXPECT_EQ(t.torn.load(), 0u) << "torn or foreign values were read";
  EXPECT_EQ(t.regressions.load(), 0u) << "a key went back to an older value";
  EXPECT_EQ(t.errors.load(), 0u);
  EXPECT_GT(t.puts.load(), 1000u);
  EXPECT_GT(t.found.load(), 1000u);
  std::printf("puts %llu deletes %llu reads %llu (found %llu)\n",
              static_cast<unsigned long long>(t.puts.load()),
              static_cast<unsigned long long>(t.deletes.load()),
              static_cast<unsigned long long>(t.reads.load()),
              static_cast<unsigned long long>(t.found.load()));

  ExpectFinalState(*store, kWriters, &slots[0]);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.puts, t.puts.load());
  EXPECT_EQ(stats.deletes, t.deletes.load());
  EXPECT_EQ(stats.evictions, 0u);
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
}

TEST(MultiProcess, ThreadsOfOneProcessShareOneStore) {
  constexpr int kWriters = 4, kReaders = 4, kIncrements = 2000;
  ScopedStore store;
  ASSERT_OK(store.Open(ConcurrencyOptions()));
  std::vector<KeySlot> slots(kWriters * kKeysPerWriter, KeySlot{0, 0});
  WorkerTotals totals;
  std::vector<int> results(kWriters + kReaders, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters + kReaders; ++i) {
    threads.emplace_back([&, i] {
      int rc = 0;
      // Every thread also bumps one shared counter.
      for (int n = 0; n < kIncrements && rc == 0; ++n) {
        absl::StatusOr<int64_t> r = store->Increment("threads/counter", 1);
        if (!r.ok()) {
          std::fprintf(stderr, "[thread %d] Increment: %s\n", i, r.status().ToString().c_str());
          rc = 30;
        }
      }
      if (rc == 0) {
        rc = i < kWriters ? WriterLoop(*store, i, &slots[i * kKeysPerWriter], totals)
                          : ReaderLoop(*store, kWriters, totals, i - kWriters);
      }
      results[i] = rc;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters + kReaders; ++i) EXPECT_EQ(results[i], 0) << "thread " << i;
  EXPECT_EQ(totals.torn.load(), 0u);
  EXPECT_EQ(totals.regressions.load(), 0u);
  EXPECT_EQ(totals.errors.load(), 0u);
  EXPECT_GT(totals.puts.load(), 1000u);
  EXPECT_GT(totals.found.load(), 1000u);
  ExpectFinalState(*store, kWriters, slots.data());
  std::string counter;
  ASSERT_OK(store->Get("threads/counter", &counter));
  EXPECT_EQ(counter, absl::StrCat((kWriters + kReaders) * kIncrements));
}

// ------------------------------------------------------- dying processes ---

TEST(MultiProcess, LockHolderKilledIsRecovered) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  for (int i = 0; i < 200; ++i) {
    const std::string k = absl::StrCat("k/", i);
    ASSERT_OK(store->Put(k, MakeValue(k, i, 100)));
  }
  const StoreName name = store.name();
  PipeEvent holding;
  ChildProcess holder([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    CHILD_CHECK_OK((*s)->View("k/7",
                              [&](absl::string_view, const EntryMeta&) {
                                holding.Notify();
                                for (;;) pause();  // dies here, lock held
                              }),
                   2);
    return 3;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(20)));
  holder.Kill(SIGKILL);
  EXPECT_EQ(holder.Wait(), 128 + SIGKILL);

  // The next process to take the lock recovers it instead of hanging.
  const absl::Time start = absl::Now();
  ASSERT_OK(store->Put("k/7", MakeValue("k/7", 1007, 100)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (int i = 0; i < 200; ++i) {
    const std::string k = absl::StrCat("k/", i);
    std::string v;
    ASSERT_OK(store->Get(k, &v)) << k;
    ASSERT_OK_AND_ASSIGN(uint64_t seq, CheckValue(k, v));
    EXPECT_EQ(seq, i == 7 ? 1007u : static_cast<uint64_t>(i));
  }
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_GE(stats.owner_deaths_recovered, 1u);
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
}

// Writers are SIGKILLed at random moments, often in the middle of a write.
// Afterwards every key holds an intact value (old or new) or is absent, and
// the store stays consistent and writable.
TEST(MultiProcess, WritersKilledMidWriteLeaveNoTornValues) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 1 << 20;  // small: the writers also evict and wrap the log
  ASSERT_OK(store.Open(o));
  const StoreName name = store.name();
  testutil::TestRng gen(7);
  constexpr int kKeys = 64;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    PipeEvent started;
    ChildProcess writer([&]() -> int {
      auto s = Store::Open(name, o, OpenMode::kAttach);
      CHILD_CHECK_OK(s, 1);
      testutil::TestRng g(round);
      started.Notify();
      for (uint64_t seq = 1;; ++seq) {
        const std::string k = absl::StrCat("victim/", g.Uniform(0, kKeys));
        CHILD_CHECK_OK((*s)->Put(k, MakeValue(k, seq, g.Uniform<size_t>(32, 4097))), 2);
        if (seq % 7 == 0) (void)(*s)->Delete(absl::StrCat("victim/", g.Uniform(0, kKeys)));
      }
    });
    ASSERT_TRUE(started.WaitFor(absl::Seconds(20)));
    absl::SleepFor(absl::Milliseconds(gen.Uniform(20, 150)));
    writer.Kill(SIGKILL);
    ASSERT_EQ(writer.Wait(), 128 + SIGKILL);

    for (int i = 0; i < kKeys; ++i) {
      const std::string k = absl::StrCat("victim/", i);
      std::string v;
      absl::Status s = store->Get(k, &v);
      if (s.ok()) {
        EXPECT_OK(CheckValue(k, v));
      } else {
        EXPECT_TRUE(absl::IsNotFound(s)) << k << ": " << s;
      }
    }
    ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
    EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
    ASSERT_OK(store->Put("after-crash", MakeValue("after-crash", round, 500)));
  }
}

}  // namespace
}  // namespace shmkv
