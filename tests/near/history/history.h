// A history of near-cache operations and the check that every read returned
// a value Redis held at some instant of the read, or at most `bound` before
// it.
//
// Every write to a key carries a value no other write uses, so a value read
// names the write that produced it.
#ifndef SHMKV_TESTS_NEAR_HISTORY_HISTORY_H_
#define SHMKV_TESTS_NEAR_HISTORY_HISTORY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tests/near/history/op_log.h"

namespace shmkv::history {

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
