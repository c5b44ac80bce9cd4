// One operation of a near-cache history (a read, a write, a fault), its
// one-line text form, and the per-process log files it is written to.
//
// Times are CLOCK_MONOTONIC nanoseconds of one host, so the processes that
// logged them share one clock.
#ifndef SHMKV_TESTS_NEAR_HISTORY_OP_LOG_H_
#define SHMKV_TESTS_NEAR_HISTORY_OP_LOG_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shmkv::history {

// The value a read of an absent key returns, and a Redis restart writes to
// every key (redis-server runs without persistence).
inline constexpr char kAbsent[] = "-";

enum class OpKind : char {
  kRead = 'R',          // value = what was read; ok = false: the read failed
  kWrite = 'W',         // value = what was written; ok = false: failed, may or may not have applied
  kFault = 'F',         // key = the fault's name
  kRedisRestart = 'X',  // every key became absent between start and end
};

struct Op {
  OpKind kind = OpKind::kRead;
  int process = 0;
  std::string key, value;
  bool ok = true;
  std::string detail;  // a read's path ("hit", "filled", ...) or error; a fault's target
  int64_t start_ns = 0, end_ns = 0;
};

int64_t MonotonicNs();

// One line per operation: fields separated by spaces, keys and values must
// not contain spaces or newlines (the detail may hold spaces: it is the last
// field; its newlines are written as spaces).
std::string FormatOp(const Op& op);
absl::StatusOr<Op> ParseOp(absl::string_view line);

// Appends operations to a file of its own (one per process), buffered;
// Flush before fork and before exit.
class OpLog {
 public:
  explicit OpLog(const std::string& path);
  ~OpLog();
  OpLog(const OpLog&) = delete;
  OpLog& operator=(const OpLog&) = delete;
  bool ok() const { return file_ != nullptr; }
  void Append(const Op& op);
  void Flush();

 private:
  FILE* file_;
};

// Reads every operation of the files.
absl::StatusOr<std::vector<Op>> ReadOps(const std::vector<std::string>& paths);

}  // namespace shmkv::history

#endif  // SHMKV_TESTS_NEAR_HISTORY_OP_LOG_H_
