// DriverMain: a driver's flags and the workload's reach its run.
#include "bench/engine/driver_main.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

TEST(DriverMainTest, RunsWithTheDefaultsTheWorkloadFlagsAndTheDriversOwn) {
  WorkloadConfig defaults;
  defaults.procs = 2;
  defaults.read_pct = 99;
  std::string socket;
  WorkloadConfig seen;
  char* argv[] = {const_cast<char*>("driver"), const_cast<char*>("--keys=1k"),
                  const_cast<char*>("--socket=/tmp/s")};
  const int rc = DriverMain(
      3, argv, "driver", "a test driver", defaults,
      [&](FlagSet* flags, WorkloadConfig*) {
        flags->String("socket", "PATH", "the server's socket", &socket);
      },
      [&](const WorkloadConfig& config) {
        seen = config;
        return 7;
      });
  EXPECT_EQ(rc, 7);  // the run's exit code
  EXPECT_EQ(seen.keys, 1000u);
  EXPECT_EQ(seen.procs, 2);  // defaults no flag changed stay
  EXPECT_EQ(seen.read_pct, 99);
  EXPECT_EQ(socket, "/tmp/s");
}

TEST(DriverMainTest, TheDriversFlagsMayChangeTheWorkload) {
  char* argv[] = {const_cast<char*>("driver"), const_cast<char*>("--write-pct=5")};
  double read_pct = 0;
  DriverMain(
      2, argv, "driver", "a test driver", WorkloadConfig(),
      [](FlagSet* flags, WorkloadConfig* config) {
        flags->Value("write-pct", "P", "share of writes", [config](absl::string_view v) {
          config->read_pct = v == "5" ? 95 : 0;
          return absl::OkStatus();
        });
      },
      [&](const WorkloadConfig& config) {
        read_pct = config.read_pct;
        return 0;
      });
  EXPECT_EQ(read_pct, 95);
}

TEST(DriverMainDeathTest, ABadFlagExitsWithCode2NamingIt) {
  char* argv[] = {const_cast<char*>("driver"), const_cast<char*>("--keys=many")};
  EXPECT_EXIT(DriverMain(
                  2, argv, "driver", "a test driver", WorkloadConfig(),
                  [](FlagSet*, WorkloadConfig*) {}, [](const WorkloadConfig&) { return 0; }),
              testing::ExitedWithCode(2), "--keys");
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
