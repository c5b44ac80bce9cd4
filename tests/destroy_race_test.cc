// Creating, destroying and re-creating one name from many processes at once.
// A semaphore set is removed only by its holder, and Destroy marks the
// segment before removing it, so: at most one store exists for a name at a
// time, no process reads a value that was not written into the store it is
// attached to, nothing is left behind, and every failure is one of the
// documented answers. SHMKV_DESTROY_RACE_SECONDS sets the length (default 5).
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::DescribeExit;
using ::shmkv::testutil::RunChildren;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SharedArray;
using ::shmkv::testutil::TestRng;

constexpr int kProcs = 8;

absl::Duration RaceLength() {
  int seconds = 5;
  if (const char* env = std::getenv("SHMKV_DESTROY_RACE_SECONDS"); env != nullptr) {
    if (!absl::SimpleAtoi(env, &seconds) || seconds < 1) seconds = 5;
  }
  return absl::Seconds(seconds);
}

bool IsDestroyed(const absl::Status& s) {
  return absl::IsFailedPrecondition(s) && absl::StrContains(s.message(), "store was destroyed");
}

struct Tally {
  std::atomic<uint64_t> opens{0}, reads{0}, destroys{0}, destroyed_answers{0};
};

TEST(DestroyRace, OpenPutGetDestroyFromEightProcesses) {
  ScopedStore store;
  const StoreName name = store.name();
  const absl::Duration length = RaceLength();
  SharedArray<Tally> tally(kProcs);
  // Every segment id a child was attached to, to check none outlives the run.
  constexpr int kMaxIds = 1 << 14;
  SharedArray<std::atomic<int>> seen_ids(kMaxIds);
  SharedArray<std::atomic<int>> seen_count(1);

  std::vector<int> rcs = RunChildren(
      kProcs,
      [&](int index) -> int {
        TestRng rng(1400 + index);
        Options o = testutil::SmallOptions();
        o.capacity_bytes = 256 << 10;
        o.max_value_size = 1024;
        const absl::Time end = absl::Now() + length;
        uint64_t seq = 0;
        while (absl::Now() < end) {
          auto s = Store::Open(name, o, OpenMode::kOpenOrCreate);
          CHILD_CHECK_OK(s, 1);
          tally[index].opens++;
          auto info = (*s)->Info();
          if (!info.ok()) {
            CHILD_CHECK(IsDestroyed(info.status()), 2);
            tally[index].destroyed_answers++;
            continue;
          }
          // A removed segment was marked destroyed first (a store removed
          // without the mark is what two builders for one name produced):
          // once removed, every operation says so.
          if (info->removed) {
            CHILD_CHECK(IsDestroyed((*s)->Size().status()), 3);
            tally[index].destroyed_answers++;
            continue;
          }
          const int slot = seen_count[0].fetch_add(1);
          if (slot < kMaxIds) seen_ids[slot].store(info->shm_id);
          const std::string identity =
              absl::StrCat(info->shm_id, "/", info->created_at_ms, "/", info->creator_pid, "|");
          for (int op = 0; op < 20; ++op) {
            const std::string value = absl::StrCat(identity, getpid(), "/", seq++);
            absl::Status put = (*s)->Put("k", value);
            if (!put.ok()) {
              CHILD_CHECK(IsDestroyed(put), 4);
              tally[index].destroyed_answers++;
              break;
            }
            std::string got;
            absl::Status get = (*s)->Get("k", &got);
            if (get.ok()) {
              tally[index].reads++;
              if (!absl::StartsWith(got, identity)) {
                std::fprintf(stderr, "[child %d] read \"%s\" from the store %s\n", getpid(),
                             got.c_str(), identity.c_str());
                return 5;
              }
            } else if (IsDestroyed(get)) {
              tally[index].destroyed_answers++;
              break;
            } else {
              CHILD_CHECK(absl::IsNotFound(get), 6);
            }
          }
          if (rng.Bernoulli(0.25)) {
            absl::Status d = Store::Destroy(name);
            if (!d.ok() && !absl::IsNotFound(d)) {
              std::fprintf(stderr, "[child %d] Destroy: %s\n", getpid(), d.ToString().c_str());
              return 7;
            }
            if (d.ok()) tally[index].destroys++;
          }
        }
        return 0;
      },
      length + absl::Seconds(60));
  for (int i = 0; i < kProcs; ++i)
    EXPECT_EQ(rcs[i], 0) << "child " << i << ": " << DescribeExit(rcs[i]);

  uint64_t opens = 0, reads = 0, destroys = 0;
  for (int i = 0; i < kProcs; ++i) {
    opens += tally[i].opens;
    reads += tally[i].reads;
    destroys += tally[i].destroys;
  }
  EXPECT_GT(opens, 0u);
  EXPECT_GT(reads, 0u);
  EXPECT_GT(destroys, 0u);

  absl::Status last = Store::Destroy(name);
  EXPECT_TRUE(last.ok() || absl::IsNotFound(last)) << last;
  EXPECT_LT(shmget(name.key(), 0, 0), 0) << "a segment is left at the key";
  EXPECT_LT(semget(name.key(), 0, 0), 0) << "a semaphore set is left at the key";
  const int seen = std::min(seen_count[0].load(), kMaxIds);
  std::vector<testutil::SysvShm> listed = testutil::ListSysvShm();
  for (int i = 0; i < seen; ++i) {
    for (const auto& shm : listed) {
      EXPECT_NE(shm.id, seen_ids[i].load()) << "segment id " << shm.id << " outlived the run";
    }
  }
}

}  // namespace
}  // namespace shmkv
