// The workload flags and their checks.
#include "bench/engine/workload_config.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(WorkloadConfigTest, FlagsParse) {
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
                                   "--batch=16",
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
  EXPECT_EQ(c.batch, 16);
  EXPECT_EQ(c.ValueSizeText(), "10-4000");
  EXPECT_EQ(c.DistText(), "zipf:0.9");
  EXPECT_TRUE(Validate(c).ok());
}

TEST(WorkloadConfigTest, Durations) {
  WorkloadConfig c;
  FlagSet flags("t", "test");
  AddWorkloadFlags(&flags, &c);
  char* argv[] = {const_cast<char*>("t"), const_cast<char*>("--duration=500ms"),
                  const_cast<char*>("--warmup=2")};
  flags.ParseOrExit(3, argv);
  EXPECT_EQ(c.duration, absl::Milliseconds(500));  // durations are cli::ParseDuration's
  EXPECT_EQ(c.warmup, absl::Seconds(2));
  EXPECT_EQ(c.ops, 0u);
  c.duration = absl::ZeroDuration();
  EXPECT_FALSE(Validate(c).ok());
}

TEST(WorkloadConfigTest, BatchDefaultsToOneKeyPerRequest) {
  WorkloadConfig c;
  EXPECT_EQ(c.batch, 1);
  EXPECT_TRUE(Validate(c).ok());
  c.batch = kMaxBatch;
  EXPECT_TRUE(Validate(c).ok());
}

TEST(WorkloadConfigTest, BadBatchIsRefusedWithItsRange) {
  for (int batch : {0, -3, kMaxBatch + 1}) {
    WorkloadConfig c;
    c.batch = batch;
    absl::Status s = Validate(c);
    EXPECT_FALSE(s.ok()) << batch;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("--batch must be 1..1024")) << batch;
  }
}

TEST(WorkloadConfigDeathTest, BadBatchFlagExits) {
  for (const char* arg : {"--batch=0", "--batch=1025", "--batch=many", "--batch=-2"}) {
    WorkloadConfig c;
    FlagSet flags("t", "test");
    AddWorkloadFlags(&flags, &c);
    char* argv[] = {const_cast<char*>("t"), const_cast<char*>(arg)};
    EXPECT_EXIT(flags.ParseOrExit(2, argv), ::testing::ExitedWithCode(2), "t: --batch: ") << arg;
  }
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
