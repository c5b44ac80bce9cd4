// Test keys: every test run owns a range of System V keys, and every store,
// segment or semaphore set a test makes lives at a key of that range.
//
// A run claims its range by creating a semaphore set at the range's first
// key with IPC_EXCL (so two runs, of any user, never share a range). The
// remaining keys of the range are handed out one by one and recorded, with
// the name of the test that took them, in a log file, so that whatever is
// left in the range at the end can be removed and blamed on its test.
//
// The guard (guard.h) claims the range and passes it to the tests in the
// environment; AllocateTestKey reads it from there.
#ifndef SHMKV_TESTING_KEY_RANGE_H_
#define SHMKV_TESTING_KEY_RANGE_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shmkv {
namespace testguard {

// Environment variables set by the guard for the process it runs.
inline constexpr char kRangeEnv[] = "SHMKV_TEST_KEY_RANGE";  // "0x5e123400"
inline constexpr char kLogEnv[] = "SHMKV_TEST_KEY_LOG";      // path of the key log

// Keys [claim + 1, claim + kKeysPerRange) belong to the run that holds the
// claim set at `claim`.
inline constexpr int kKeysPerRange = 256;

struct KeyRange {
  key_t claim = 0;       // the claim set's key; never handed out
  std::string log_path;  // the key log
  key_t first() const { return claim + 1; }
  key_t last() const { return claim + kKeysPerRange - 1; }
  bool Contains(key_t key) const {
    return static_cast<uint32_t>(key) >= static_cast<uint32_t>(first()) &&
           static_cast<uint32_t>(key) <= static_cast<uint32_t>(last());
  }
};

// The range the guard passed to this process; FailedPrecondition (saying to
// run under the guard) when there is none.
absl::StatusOr<KeyRange> RangeFromEnvironment();

// A key of this run's range at which no segment and no semaphore set exists,
// recorded in the key log as taken by `owner` (a test name). Keys are handed
// out in turn, so a key comes back only after the whole range has been
// handed out; concurrent callers (threads or processes) never get the same
// key from one turn.
absl::StatusOr<key_t> AllocateTestKey(absl::string_view owner);

// The owners recorded in the log at `log_path`, by key (the last owner of a
// key that was handed out more than once).
std::map<key_t, std::string> ReadKeyOwners(const std::string& log_path);

// "0x5e0a1b02", as kvcli prints keys.
std::string KeyHex(key_t key);

// Whether a segment or a semaphore set exists at `key`.
bool IpcExistsAt(key_t key);

// Every segment and semaphore set on the host (from /proc/sysvipc).
struct IpcObject {
  bool is_segment;
  int id;
  key_t key;
  bool removed;  // a segment marked for removal, alive until its last detach
};
std::vector<IpcObject> ListIpcObjects();

// Keys of the form 0x5eXXXXYY belong to test ranges.
bool IsTestKey(key_t key);
// Whether the range holding `key` is claimed by a guard that is still
// running (a range whose guard died is not; one being claimed this minute
// is).
bool ClaimIsLive(key_t key);

}  // namespace testguard
}  // namespace shmkv

#endif  // SHMKV_TESTING_KEY_RANGE_H_
