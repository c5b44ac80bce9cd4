#include "tests/near/history/workload.h"

#include <stdlib.h>

#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "shmkv/near/sync_state.h"
#include "tests/near/redis_env.h"
#include "tests/test_util.h"

namespace shmkv::history {
namespace {

using near::NearCache;
using testutil::TestRng;

// The values each key may hold in Redis at `at`, the writes being paused:
// its last successful write before `at`, and the failed writes after that
// one (they may have applied). `writes` are in the order they were made.
std::map<std::string, std::set<std::string>> CurrentValues(const std::vector<Op>& writes,
                                                           int64_t at) {
  std::map<std::string, std::set<std::string>> current;
  for (const Op& w : writes) {
    if (w.start_ns >= at) break;
    if (w.ok) current[w.key].clear();
    current[w.key].insert(w.value);
  }
  return current;
}

}  // namespace

Workload::Workload(Config config) : config_(std::move(config)), ops_(kReaders + 2) {}

Workload::~Workload() { Stop(); }

std::unique_ptr<NearCache> Workload::Cache() const {
  near::NearCacheOptions o;
  o.redis = config_.redis;
  absl::StatusOr<std::unique_ptr<NearCache>> cache = NearCache::Create(config_.store, o);
  EXPECT_OK(cache.status());
  return cache.ok() ? *std::move(cache) : nullptr;
}

void Workload::Start() {
  std::unique_ptr<NearCache> writer = Cache();
  ASSERT_NE(writer, nullptr);
  for (int i = 0; i < config_.keys; ++i) {
    Op op{OpKind::kWrite, kWriter, config_.key(i), absl::StrCat("v", kWriter, ".init", i),
          true,           "",      MonotonicNs(),  0};
    ASSERT_OK(writer->Set(op.key, op.value));
    op.end_ns = MonotonicNs();
    ops_[kWriter].push_back(op);
  }
  for (int r = 0; r < kReaders; ++r) threads_.emplace_back([this, r] { ReadLoop(r); });
  threads_.emplace_back([this] { WriteLoop(); });
}

int Workload::RunRounds(const char* length_env, const std::vector<std::function<void()>>& faults) {
  const char* env = getenv(length_env);
  int seconds = 0;
  if (env == nullptr || !absl::SimpleAtoi(env, &seconds)) seconds = 0;
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  int rounds = 0;
  do {
    absl::SleepFor(absl::Milliseconds(200));
    for (const std::function<void()>& fault : faults) {
      fault();
      if (::testing::Test::HasFatalFailure()) return rounds;
    }
    ++rounds;
  } while (absl::Now() < end);
  absl::SleepFor(absl::Milliseconds(200));
  return rounds;
}

void Workload::ReadLoop(int process) {
  std::unique_ptr<NearCache> cache = Cache();
  if (cache == nullptr) return;
  TestRng rng(process);
  while (!stop_.load()) {
    Op op{
        OpKind::kRead, process, config_.key(rng.Uniform(0, config_.keys)), kAbsent, true, "", 0, 0};
    near::ReadInfo info;
    op.start_ns = MonotonicNs();
    absl::StatusOr<std::string> v = cache->Get(op.key, &info);
    op.end_ns = MonotonicNs();
    if (v.ok()) op.value = *v;
    op.ok = v.ok() || absl::IsNotFound(v.status());
    op.detail = op.ok ? near::ReadPathName(info.path) : v.status().ToString();
    ops_[process].push_back(op);
    completed_[process].fetch_add(1);
    absl::SleepFor(absl::Microseconds(200));
  }
}

void Workload::WriteLoop() {
  std::unique_ptr<NearCache> cache = Cache();
  if (cache == nullptr) return;
  TestRng rng(kWriter);
  for (int n = 0; !stop_.load(); ++n) {
    if (pause_writes_.load()) {
      writer_paused_ = true;
      absl::SleepFor(absl::Milliseconds(1));
      continue;
    }
    writer_paused_ = false;
    Op op{OpKind::kWrite,
          kWriter,
          config_.key(rng.Uniform(0, config_.keys)),
          absl::StrCat("v", kWriter, ".", n),
          true,
          "",
          MonotonicNs(),
          0};
    absl::Status s = cache->Set(op.key, op.value);
    op.end_ns = MonotonicNs();
    op.ok = s.ok();
    op.detail = s.ok() ? "" : s.ToString();
    ops_[kWriter].push_back(op);
    absl::SleepFor(absl::Microseconds(500));
  }
}

void Workload::Fault(const std::string& name, int64_t start, bool writes_may_be_lost) {
  const int64_t end = MonotonicNs();
  ops_[kReaders + 1].push_back({OpKind::kFault, kReaders + 1, name, "-", true, "", start, end});
  if (writes_may_be_lost) lossy_.emplace_back(start, end);
}

void Workload::PauseWrites() {
  writer_paused_ = false;
  pause_writes_ = true;
  ASSERT_TRUE(neartest::PollUntil([&] { return writer_paused_.load(); }, absl::Seconds(10)));
}

void Workload::ResumeWrites(const std::string& after) {
  Window window{after, MonotonicNs(), 0, {}, false};
  ReadRedisValues(window);
  window.to = window.from;
  windows_.push_back(std::move(window));
  pause_writes_ = false;
}

void Workload::ReadRedisValues(Window& w) {
  for (int i = 0; config_.redis_value && i < config_.keys; ++i) {
    absl::StatusOr<std::string> v = config_.redis_value(config_.key(i));
    ASSERT_OK(v.status()) << "reading " << config_.key(i) << " from Redis after " << w.after;
    w.redis[config_.key(i)] = *v;
  }
}

void Workload::ExpectCurrentReads(const std::string& after) {
  PauseWrites();
  if (::testing::Test::HasFatalFailure()) return;
  const int64_t last_write_ms = near::MonotonicNowMs();
  ASSERT_TRUE(neartest::PollUntil(
      [&] {
        absl::StatusOr<near::SyncState> s = near::ReadSyncState(*config_.store);
        return s.ok() && s->synced() && s->heartbeat_ms > last_write_ms;
      },
      absl::Seconds(10)))
      << "kvsync did not cover the last write after " << after;
  const int64_t from = MonotonicNs();
  Window window{after, from, 0, {}, true};
  ReadRedisValues(window);
  if (::testing::Test::HasFatalFailure()) return;
  // Every reader completes reads begun from then on (the first may have
  // begun before).
  uint64_t before[kReaders];
  for (int r = 0; r < kReaders; ++r) before[r] = completed_[r].load();
  ASSERT_TRUE(neartest::PollUntil(
      [&] {
        for (int r = 0; r < kReaders; ++r) {
          if (completed_[r].load() < before[r] + kReadsAfterFault + 1) return false;
        }
        return true;
      },
      absl::Seconds(10)))
      << "a reader did not complete " << kReadsAfterFault << " reads in 10 s after " << after;
  window.to = MonotonicNs();
  windows_.push_back(std::move(window));
  pause_writes_ = false;
}

void Workload::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  for (Op& w : ops_[kWriter]) {
    for (const auto& [from, to] : lossy_) {
      if (w.ok && w.end_ns >= from && w.start_ns <= to) {
        w.ok = false;
        w.detail = "made during a failover: Redis may have lost it";
      }
    }
  }
  for (const Window& w : windows_) MarkLostWrites(w);
}

void Workload::MarkLostWrites(const Window& w) {
  std::vector<Op>& writes = ops_[kWriter];
  for (const auto& [key, value] : w.redis) {
    // The last write of `value` begun before the window, then the
    // acknowledged writes of the key after it, which Redis lost.
    size_t end = 0;
    while (end < writes.size() && writes[end].start_ns < w.from) ++end;
    size_t made = end;
    for (size_t i = end; i-- > 0;) {
      if (writes[i].key == key && writes[i].value == value) {
        made = i;
        break;
      }
    }
    if (made == end) {
      if (value != kAbsent) {
        ADD_FAILURE() << "after " << w.after << ", Redis holds " << key << " = " << value
                      << ", which no write made before";
      }
      continue;
    }
    for (size_t i = made + 1; i < end; ++i) {
      if (writes[i].key != key || !writes[i].ok) continue;
      writes[i].ok = false;
      writes[i].detail = "acknowledged, then lost by Redis: a failover";
      ++lost_;
    }
  }
}

void Workload::ExpectWindowsCurrent() const {
  for (const Window& w : windows_) {
    if (!w.reads) continue;
    std::map<std::string, std::set<std::string>> current = CurrentValues(ops_[kWriter], w.from);
    for (const auto& [key, value] : w.redis) current[key] = {value};
    for (int r = 0; r < kReaders; ++r) {
      int reads = 0, wrong = 0;
      for (const Op& op : ops_[r]) {
        if (op.start_ns < w.from || op.end_ns > w.to) continue;
        ++reads;
        if (op.ok && current[op.key].count(op.value) > 0) continue;
        if (++wrong <= 3) {
          ADD_FAILURE() << "after " << w.after << ", reader " << r << " read " << op.key << " = "
                        << op.value << " (" << op.detail << "), not Redis's value";
        }
      }
      EXPECT_GT(reads, 0) << "reader " << r << " read nothing after " << w.after;
      EXPECT_EQ(wrong, 0) << "reader " << r << " after " << w.after << ": " << reads << " reads";
    }
  }
}

void Workload::ExpectHistoryOk(const std::string& what, absl::Duration bound) {
  Stop();
  ExpectWindowsCurrent();
  std::vector<Op> all;
  for (const std::vector<Op>& ops : ops_) all.insert(all.end(), ops.begin(), ops.end());
  const CheckResult result = Check(all, absl::ToInt64Nanoseconds(bound));
  std::printf("%s; %s; acknowledged writes Redis lost in failovers %llu\n", what.c_str(),
              result.Summary().c_str(), static_cast<unsigned long long>(lost_));
  for (const std::string& v : result.violations) std::printf("  %s\n", v.c_str());
  EXPECT_TRUE(result.ok()) << result.Summary();
  EXPECT_GT(result.hits, 0u) << "nothing was served from the store: the check proves nothing";
}

}  // namespace shmkv::history
