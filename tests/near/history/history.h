// A history of near-cache operations and the check that every read returned
// a value Redis held at some instant of the read, or at most `bound` before
// it.
//
// Every write to a key carries a value no other write uses, so a value read
// names the write that produced it. Times are CLOCK_MONOTONIC nanoseconds of
// one host, so the processes that logged them share one clock.
#ifndef SHMKV_TESTS_NEAR_HISTORY_HISTORY_H_
#define SHMKV_TESTS_NEAR_HISTORY_HISTORY_H_

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
// not contain spaces or newlines (the detail may: it is the last field).
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

struct CheckResult {
  uint64_t reads_checked = 0;  // successful reads, each checked
  uint64_t reads_failed = 0;   // reads that returned an error (not checked)
  uint64_t writes = 0, writes_failed = 0;
  uint64_t faults = 0;  // kFault and kRedisRestart operations
  uint64_t hits = 0;    // reads served from the store
  int64_t max_staleness_ns = 0;
  uint64_t wrong_values = 0;            // values never written to the key read
  uint64_t too_stale = 0;               // values overwritten more than `bound` before the read
  std::vector<std::string> violations;  // the first few, with the operations involved
  bool ok() const { return wrong_values == 0 && too_stale == 0; }
  std::string Summary() const;
};

// Checks every successful read: its value was written to its key, the write
// began before the read ended, and no write known to follow it had ended
// more than `bound_ns` before the read began. A write follows another when it
// began after the other ended; a failed write is never taken to follow
// anything (it may not have applied), and the value of a failed write may be
// current until the end of the history.
CheckResult Check(const std::vector<Op>& ops, int64_t bound_ns);

}  // namespace shmkv::history

#endif  // SHMKV_TESTS_NEAR_HISTORY_HISTORY_H_
