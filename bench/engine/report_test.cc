// The report's JSON line, byte for byte: bench/run.sh and the smoke tests
// read it, and results are compared across versions by its field names and
// formats.
#include "bench/engine/report.h"

#include <string>
#include <utility>
#include <vector>

#include "bench/engine/workload_config.h"
#include "gtest/gtest.h"

namespace shmkv {
namespace bench {
namespace {

WorkloadConfig JsonConfig() {
  WorkloadConfig config;
  config.procs = 2;
  config.threads = 1;
  config.keys = 1000;
  config.read_pct = 99.5;
  config.json = true;
  return config;
}

RunTotals Totals() {
  RunTotals t;
  for (uint64_t ns : {1000, 2000, 4000, 900000}) t.latency.Record(ns);
  t.ops = 4;
  t.gets = 3;
  t.hits = 2;
  t.misses = 1;
  t.puts = 1;
  t.per_proc = {1234.4, 2000.6};
  t.seconds = 1.5;
  t.ops_per_sec = 2.6666;
  return t;
}

std::string JsonLine(const std::string& label, const WorkloadConfig& config, const RunTotals& t,
                     const std::vector<std::pair<std::string, std::string>>& extra) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();  // the human report
  PrintReport(label, config, t, extra);
  testing::internal::GetCapturedStderr();
  return testing::internal::GetCapturedStdout();
}

TEST(ReportJsonTest, TheLineIsByteForByteTheKnownFormat) {
  EXPECT_EQ(JsonLine("sys\"1", JsonConfig(), Totals(), {{"items", "1000"}, {"store", "\"0x1\""}}),
            "{\"system\":\"sys\\\"1\",\"procs\":2,\"threads\":1,\"keys\":1000,\"key_size\":16,"
            "\"value_size\":\"100\",\"read_pct\":99.5,\"dist\":\"uniform\",\"batch\":1,"
            "\"requests\":4,\"prefault\":true,\"measured_s\":1.500,\"ops\":4,\"ops_per_sec\":3,"
            "\"p50_us\":2.047,\"p90_us\":900.000,\"p99_us\":900.000,\"p999_us\":900.000,"
            "\"max_us\":900.000,\"hit_ratio\":0.6667,\"gets\":3,\"misses\":1,\"puts\":1,"
            "\"errors\":0,\"per_process_ops_per_sec\":[1234,2001],\"items\":1000,"
            "\"store\":\"0x1\"}\n");
}

TEST(ReportJsonTest, NoGetsIsANullHitRatioAndAnErrorIsQuoted) {
  WorkloadConfig config = JsonConfig();
  config.fork_processes = false;  // then nothing is prefaulted
  RunTotals t = Totals();
  t.gets = t.hits = t.misses = 0;
  t.errors = 1;
  t.first_error = "refused\n";
  const std::string line = JsonLine("s", config, t, {});
  EXPECT_NE(line.find(",\"prefault\":false,"), std::string::npos) << line;
  EXPECT_NE(line.find(",\"hit_ratio\":null,\"gets\":0,"), std::string::npos) << line;
  EXPECT_NE(line.find(",\"errors\":1,"), std::string::npos) << line;
  const std::string tail = "],\"first_error\":\"refused\\u000a\"}\n";
  ASSERT_GE(line.size(), tail.size()) << line;
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail);
}

}  // namespace
}  // namespace bench
}  // namespace shmkv
