// Whole runs, forked and in-process, against a trivial system, and a run
// whose clients fail.
#include "bench/runner.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/backend.h"
#include "bench/workload_config.h"
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

}  // namespace
}  // namespace bench
}  // namespace shmkv
