// Unit tests of the shared load generator: parsing, keys, distributions,
// the histogram, and whole runs (forked and in-process) against a trivial
// system.
#include "bench/workload.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(ParseTest, Counts) {
  EXPECT_EQ(*ParseCount("1000000"), 1000000u);
  EXPECT_EQ(*ParseCount("1M"), 1000000u);
  EXPECT_EQ(*ParseCount("250k"), 250000u);
  EXPECT_EQ(*ParseCount("1.5M"), 1500000u);
  EXPECT_FALSE(ParseCount("").ok());
  EXPECT_FALSE(ParseCount("abc").ok());
  EXPECT_FALSE(ParseCount("3X").ok());
}

TEST(ParseTest, SizesAndDurations) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096u);
  EXPECT_EQ(*ParseByteSize("64MiB"), uint64_t{64} << 20);
  EXPECT_FALSE(ParseByteSize("lots").ok());
  EXPECT_EQ(*ParseSeconds("10s"), absl::Seconds(10));
  EXPECT_EQ(*ParseSeconds("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseSeconds("2"), absl::Seconds(2));
  EXPECT_FALSE(ParseSeconds("soon").ok());
}

TEST(WorkloadTest, FlagsParse) {
  WorkloadConfig c;
  FlagSet flags("t", "test");
  AddWorkloadFlags(&flags, &c);
  std::vector<std::string> args = {"t",
                                   "--procs=2",
                                   "--threads",
                                   "3",
                                   "--keys=2k",
                                   "--value-size=10-4000",
                                   "--read-pct=50",
                                   "--dist=zipf:0.9",
                                   "--ops=1M",
                                   "--warmup=0",
                                   "--json",
                                   "--no-preload"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  flags.ParseOrExit(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(c.procs, 2);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.keys, 2000u);
  EXPECT_EQ(c.value_min, 10u);
  EXPECT_EQ(c.value_max, 4000u);
  EXPECT_EQ(c.read_pct, 50);
  EXPECT_TRUE(c.zipf);
  EXPECT_DOUBLE_EQ(c.zipf_theta, 0.9);
  EXPECT_EQ(c.ops, 1000000u);
  EXPECT_EQ(c.warmup, absl::ZeroDuration());
  EXPECT_TRUE(c.json);
  EXPECT_FALSE(c.preload);
  EXPECT_EQ(c.ValueSizeText(), "10-4000");
  EXPECT_EQ(c.DistText(), "zipf:0.9");
  EXPECT_TRUE(Validate(c).ok());
}

TEST(WorkloadTest, KeysAreFixedSizeZeroPadded) {
  WorkloadConfig c;
  c.keys = 1000;
  c.key_size = 12;
  c.prefix = "k:";
  KeyBuffer keys(c);
  EXPECT_EQ(keys.Of(0), "k:0000000000");
  EXPECT_EQ(keys.Of(999), "k:0000000999");
  EXPECT_EQ(keys.Of(5), "k:0000000005");  // every digit rewritten, not just the low ones
  c.key_size = 4;                         // "k:" + 3 digits does not fit
  EXPECT_FALSE(Validate(c).ok());
}

TEST(WorkloadTest, OpMixAndValueSizes) {
  WorkloadConfig c;
  c.keys = 100;
  c.read_pct = 90;
  c.value_min = 10;
  c.value_max = 20;
  Workload w(c);
  OpStream ops(w, 7);
  int gets = 0;
  for (int i = 0; i < 100000; ++i) {
    Op op = ops.Next();
    gets += op.get;
    ASSERT_LT(op.key, 100u);
    ASSERT_GE(op.value_size, 10u);
    ASSERT_LE(op.value_size, 20u);
  }
  EXPECT_NEAR(gets / 100000.0, 0.9, 0.01);
}

TEST(WorkloadTest, ZipfFavorsLowRanks) {
  const uint64_t n = 10000;
  ZipfParams z(n, 0.99);
  Rng rng(1);
  std::vector<uint64_t> counts(n);
  const int draws = 1000000;
  for (int i = 0; i < draws; ++i) {
    uint64_t r = z.Draw(rng.Unit());
    ASSERT_LT(r, n);
    ++counts[r];
  }
  double zeta = 0;
  for (uint64_t i = 1; i <= n; ++i) zeta += 1.0 / std::pow(static_cast<double>(i), 0.99);
  // Rank 0 gets 1/zeta of the draws, rank 1 2^-0.99 of that.
  EXPECT_NEAR(counts[0] / static_cast<double>(draws), 1.0 / zeta, 0.01);
  EXPECT_NEAR(counts[1] / static_cast<double>(draws), std::pow(0.5, 0.99) / zeta, 0.01);
  EXPECT_GT(counts[0], counts[10]);
  EXPECT_GT(counts[10], counts[1000]);
}

TEST(HistogramTest, BucketsCoverEveryValue) {
  for (uint64_t v : {0ull, 1ull, 7ull, 8ull, 15ull, 16ull, 17ull, 1000ull, 123456789ull, ~0ull}) {
    const int i = Histogram::Index(v);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, Histogram::kBuckets);
    EXPECT_LE(Histogram::BucketLow(i), v);
    EXPECT_GE(Histogram::BucketHigh(i), v);
    // Relative width under 12.5%.
    EXPECT_LE(Histogram::BucketHigh(i) - Histogram::BucketLow(i), Histogram::BucketLow(i) / 8 + 1);
  }
}

TEST(HistogramTest, Percentiles) {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.Record(v * 1000);  // 1..1000 us
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1000000u);
  const double p50 = static_cast<double>(h.Percentile(50));
  EXPECT_GE(p50, 500000);
  EXPECT_LE(p50, 500000 * 1.125);
  const double p99 = static_cast<double>(h.Percentile(99));
  EXPECT_GE(p99, 990000);
  EXPECT_LE(p99, 1000000);
  Histogram other;
  other.Record(5);
  h.Merge(other);
  EXPECT_EQ(h.count(), 1001u);
  EXPECT_EQ(h.Percentile(0.01), 5u);
}

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

}  // namespace
}  // namespace bench
}  // namespace shmkv
