// Whole runs, forked and in-process, against a trivial system, and a run
// whose clients fail.
#include "bench/engine/runner.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "bench/engine/backend.h"
#include "bench/engine/workload_config.h"
#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

// A system that stores nothing: Get always misses.
class NullClient final : public Client {
 public:
  OpResult Get(absl::string_view, std::string*) override { return OpResult::kMiss; }
  OpResult Put(absl::string_view, absl::string_view) override { return OpResult::kOk; }
  std::string LastError() const override { return ""; }
};

class NullBackend final : public Backend {
 public:
  std::string Name() const override { return "null"; }
  absl::Status Create(const WorkloadConfig&) override {
    ++created;
    return absl::OkStatus();
  }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return std::unique_ptr<Client>(new NullClient());
  }
  void Detach() override {}
  void Destroy() override { ++destroyed; }
  int created = 0, destroyed = 0;
};

TEST(RunnerTest, ForkedProcessesRunExactOps) {
  WorkloadConfig c;
  c.procs = 2;
  c.threads = 2;
  c.keys = 1000;
  c.ops = 20000;
  c.warmup = absl::ZeroDuration();
  c.quiet = true;
  NullBackend backend;
  EXPECT_EQ(RunBenchmark(&backend, c), 0);
  EXPECT_EQ(backend.created, 1);
  EXPECT_EQ(backend.destroyed, 1);
}

TEST(RunnerTest, InProcessThreadsForADuration) {
  WorkloadConfig c;
  c.procs = 2;
  c.keys = 1000;
  c.duration = absl::Milliseconds(200);
  c.warmup = absl::Milliseconds(50);
  c.quiet = true;
  c.json = true;
  c.fork_processes = false;
  NullBackend backend;
  EXPECT_EQ(RunBenchmark(&backend, c), 0);
  EXPECT_EQ(backend.destroyed, 1);
}

class FailingBackend final : public Backend {
 public:
  std::string Name() const override { return "failing"; }
  absl::Status Create(const WorkloadConfig&) override { return absl::OkStatus(); }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return absl::UnavailableError("no connection");
  }
  void Detach() override {}
  void Destroy() override { ++destroyed; }
  int destroyed = 0;
};

TEST(RunnerTest, ClientFailureIsReportedAndCleansUp) {
  WorkloadConfig c;
  c.procs = 2;
  c.keys = 10;
  c.ops = 100;
  c.quiet = true;
  c.preload = false;
  FailingBackend backend;
  EXPECT_EQ(RunBenchmark(&backend, c), 1);
  EXPECT_EQ(backend.destroyed, 1);
}

// What the clients of a CountingBackend did, in a shared mapping so that
// forked clients count too.
struct Counts {
  std::atomic<uint64_t> gets{0}, puts{0};                // single-key calls
  std::atomic<uint64_t> get_batches{0}, put_batches{0};  // batch calls
  std::atomic<uint64_t> batch_gets{0}, batch_puts{0};    // keys in them
  std::atomic<uint64_t> largest{0}, smallest{UINT64_MAX};
  std::atomic<uint64_t> bad_sizes{0};               // results.size() != keys.size()
  std::atomic<uint64_t> requests_of_size[17] = {};  // batch calls by key count, up to 16
};

class CountingClient final : public Client {
 public:
  explicit CountingClient(Counts* counts) : counts_(counts) {}
  OpResult Get(absl::string_view, std::string*) override {
    ++counts_->gets;
    return OpResult::kHit;
  }
  OpResult Put(absl::string_view, absl::string_view) override {
    ++counts_->puts;
    return OpResult::kOk;
  }
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    ++counts_->get_batches;
    counts_->batch_gets += keys.size();
    Sizes(keys.size(), results.size());
    for (OpResult& r : results) r = OpResult::kHit;
  }
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    ++counts_->put_batches;
    counts_->batch_puts += keys.size();
    Sizes(keys.size(), results.size());
    if (values.size() != keys.size()) ++counts_->bad_sizes;
    for (OpResult& r : results) r = OpResult::kOk;
  }
  std::string LastError() const override { return ""; }

 private:
  void Sizes(uint64_t keys, uint64_t results) {
    if (results != keys) ++counts_->bad_sizes;
    if (keys <= 16) ++counts_->requests_of_size[keys];
    uint64_t v = counts_->largest.load();
    while (keys > v && !counts_->largest.compare_exchange_weak(v, keys)) {
    }
    v = counts_->smallest.load();
    while (keys < v && !counts_->smallest.compare_exchange_weak(v, keys)) {
    }
  }
  Counts* counts_;
};

class CountingBackend final : public Backend {
 public:
  CountingBackend() {
    void* mem =
        mmap(nullptr, sizeof(Counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    counts_ = new (mem) Counts();
  }
  ~CountingBackend() override { munmap(counts_, sizeof(Counts)); }
  std::string Name() const override { return "counting"; }
  absl::Status Create(const WorkloadConfig&) override { return absl::OkStatus(); }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return std::unique_ptr<Client>(new CountingClient(counts_));
  }
  void Detach() override {}
  void Destroy() override {}
  const Counts& counts() const { return *counts_; }

 private:
  Counts* counts_;
};

WorkloadConfig ExactOps(uint64_t ops, int batch) {
  WorkloadConfig c;
  c.procs = 2;
  c.threads = 2;
  c.keys = 1000;
  c.ops = ops;
  c.batch = batch;
  c.warmup = absl::ZeroDuration();
  c.quiet = true;
  c.preload = false;
  return c;
}

// 4 threads of 2,500 keys each: 156 requests of 16 keys and one of 4 per
// thread, so exactly 10,000 keys in 628 requests, and no single-key call.
// Clients start requesting as soon as they are let go, before the measured
// phase begins (that is the warmup, however short), and those full requests
// reach the backend too: so the backend sees at least 156 requests of 16 per
// thread, and exactly one cut request each (only the measured phase cuts).
// The report's exact key and request counts are checked in
// kvbench_smoke_test.
TEST(RunnerTest, BatchedForkedRunIsExactInKeys) {
  CountingBackend backend;
  EXPECT_EQ(RunBenchmark(&backend, ExactOps(10000, 16)), 0);
  const Counts& n = backend.counts();
  EXPECT_EQ(n.requests_of_size[4], 4u);
  EXPECT_GE(n.requests_of_size[16], 4u * 156);
  EXPECT_EQ(n.get_batches + n.put_batches, n.requests_of_size[4] + n.requests_of_size[16]);
  EXPECT_EQ(n.largest, 16u);
  EXPECT_EQ(n.smallest, 4u);
  EXPECT_EQ(n.bad_sizes, 0u);
  EXPECT_EQ(n.gets + n.puts, 0u);
  EXPECT_GT(n.get_batches, n.put_batches);  // 95% of the requests get
}

TEST(RunnerTest, BatchedInProcessRunIsExactInKeys) {
  CountingBackend backend;
  WorkloadConfig c = ExactOps(1000, 7);
  c.fork_processes = false;
  c.read_pct = 100;
  EXPECT_EQ(RunBenchmark(&backend, c), 0);
  const Counts& n = backend.counts();
  // 4 x 250 = 4 x (35 x 7 + 5); requests before the measured phase add 7s.
  EXPECT_EQ(n.requests_of_size[5], 4u);
  EXPECT_GE(n.requests_of_size[7], 4u * 35);
  EXPECT_EQ(n.get_batches, n.requests_of_size[5] + n.requests_of_size[7]);
  EXPECT_EQ(n.smallest, 5u);
  EXPECT_EQ(n.put_batches + n.gets + n.puts, 0u);
}

// --batch=1 is one Get or Put call per operation, as before batches existed
// (at least the 20,000 measured ones: requests before the measured phase
// reach the backend too).
TEST(RunnerTest, BatchOfOneCallsGetAndPut) {
  CountingBackend backend;
  EXPECT_EQ(RunBenchmark(&backend, ExactOps(20000, 1)), 0);
  const Counts& n = backend.counts();
  EXPECT_GE(n.gets + n.puts, 20000u);
  EXPECT_GT(n.puts, 0u);
  EXPECT_EQ(n.get_batches + n.put_batches, 0u);
}

// A bad --batch stops the run before anything is created.
TEST(RunnerTest, BadBatchIsRefused) {
  for (int batch : {0, -1, kMaxBatch + 1}) {
    NullBackend backend;
    WorkloadConfig c = ExactOps(100, batch);
    EXPECT_EQ(RunBenchmark(&backend, c), 2) << batch;
    EXPECT_EQ(backend.created, 0);
  }
}

// The default GetBatch and PutBatch loop the single-key calls.
TEST(ClientTest, DefaultBatchesLoopSingleKeyCalls) {
  class MapClient final : public Client {
   public:
    OpResult Get(absl::string_view key, std::string* value) override {
      ++gets;
      if (key != "a") return OpResult::kMiss;
      *value = "x";
      return OpResult::kHit;
    }
    OpResult Put(absl::string_view key, absl::string_view) override {
      ++puts;
      return key == "bad" ? OpResult::kError : OpResult::kOk;
    }
    std::string LastError() const override { return "bad key"; }
    int gets = 0, puts = 0;
  } client;
  const std::vector<absl::string_view> keys = {"a", "b", "a"};
  std::vector<OpResult> results(3);
  client.GetBatch(keys, absl::MakeSpan(results));
  EXPECT_EQ(client.gets, 3);
  EXPECT_EQ(results, (std::vector<OpResult>{OpResult::kHit, OpResult::kMiss, OpResult::kHit}));
  const std::vector<absl::string_view> put_keys = {"a", "bad"}, values = {"1", "2"};
  results.resize(2);
  client.PutBatch(put_keys, values, absl::MakeSpan(results));
  EXPECT_EQ(client.puts, 2);
  EXPECT_EQ(results, (std::vector<OpResult>{OpResult::kOk, OpResult::kError}));
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
