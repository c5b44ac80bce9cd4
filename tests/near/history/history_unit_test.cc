// The history check (history.h) on histories made by hand: what it accepts
// and what it reports.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/near/history/history.h"
#include "tests/near/history/op_log.h"

namespace shmkv::history {
namespace {

constexpr int64_t kMs = 1000000;
constexpr int64_t kBound = 100 * kMs;

Op Write(const std::string& key, const std::string& value, int64_t start, int64_t end,
         bool ok = true) {
  return Op{OpKind::kWrite, 1, key, value, ok, "", start * kMs, end * kMs};
}

Op Read(const std::string& key, const std::string& value, int64_t start, int64_t end) {
  return Op{OpKind::kRead, 2, key, value, true, "hit", start * kMs, end * kMs};
}

TEST(HistoryCheck, ReadsOfCurrentAndOverlappingValuesPass) {
  const std::vector<Op> ops = {Write("k", "a", 0, 1),   Read("k", "a", 2, 3),
                               Write("k", "b", 10, 20), Read("k", "a", 12, 13),
                               Read("k", "b", 15, 16),  Read("k", "b", 30, 31)};
  const CheckResult r = Check(ops, kBound);
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.reads_checked, 4u);
  EXPECT_EQ(r.max_staleness_ns, 0);
}

TEST(HistoryCheck, StalenessIsMeasuredFromTheEndOfTheReplacingWrite) {
  const std::vector<Op> ops = {Write("k", "a", 0, 1), Write("k", "b", 10, 20),
                               Read("k", "a", 70, 71)};
  const CheckResult r = Check(ops, kBound);
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.max_staleness_ns, 50 * kMs);
}

TEST(HistoryCheck, AReadStalerThanTheBoundIsReportedWithItsWrites) {
  const std::vector<Op> ops = {Write("k", "a", 0, 1), Write("k", "b", 10, 20),
                               Read("k", "a", 200, 201)};
  const CheckResult r = Check(ops, kBound);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.too_stale, 1u);
  EXPECT_EQ(r.max_staleness_ns, 180 * kMs);
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_NE(r.violations[0].find("W 1 k b"), std::string::npos) << r.violations[0];
}

TEST(HistoryCheck, AValueOfAnotherKeyOrFromTheFutureIsWrong) {
  const std::vector<Op> ops = {Write("k", "a", 0, 1), Write("j", "x", 0, 1), Read("k", "x", 2, 3),
                               Read("k", "c", 4, 5), Write("k", "c", 10, 11)};
  const CheckResult r = Check(ops, kBound);
  EXPECT_EQ(r.wrong_values, 2u);
  EXPECT_EQ(r.violations.size(), 2u);
}

TEST(HistoryCheck, AFailedWriteMayHaveAppliedAndNeverReplacesAnything) {
  const std::vector<Op> ops = {Write("k", "a", 0, 1), Write("k", "b", 10, 11, false),
                               Read("k", "a", 500, 501), Read("k", "b", 900, 901)};
  const CheckResult r = Check(ops, kBound);
  EXPECT_TRUE(r.ok()) << r.Summary();
  EXPECT_EQ(r.writes_failed, 1u);
}

TEST(HistoryCheck, ARedisRestartMakesEveryKeyAbsent) {
  const std::vector<Op> ops = {
      Write("k", "a", 0, 1),
      Read("k", kAbsent, 2, 3),  // the key was absent before the write
      Op{OpKind::kRedisRestart, 0, "redis-restart", "-", true, "", 10 * kMs, 20 * kMs},
      Read("k", kAbsent, 30, 31),
      Write("k", "b", 40, 41),
      Read("k", kAbsent, 300, 301)};
  const CheckResult r = Check(ops, kBound);
  EXPECT_EQ(r.faults, 1u);
  EXPECT_EQ(r.wrong_values, 0u);
  EXPECT_EQ(r.too_stale, 1u) << r.Summary();  // absent 259 ms after "b" was written
}

TEST(HistoryCheck, OperationsRoundTripThroughTheirLogLines) {
  const Op op{OpKind::kRead, 7, "h:3", "v4.12", false, "UNAVAILABLE: redis down", 5, 9};
  absl::StatusOr<Op> back = ParseOp(FormatOp(op));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(FormatOp(*back), FormatOp(op));
  EXPECT_FALSE(ParseOp("R 1 k").ok());
  Op multiline = op;
  multiline.detail = "first\nsecond";
  back = ParseOp(FormatOp(multiline));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->detail, "first second");
}

}  // namespace
}  // namespace shmkv::history
