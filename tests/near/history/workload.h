// Reader threads and a writer thread working through NearCache while a test
// injects faults into the Redis topology behind it (a cluster, a primary
// under Sentinel), logged as a history for Check (history.h).
//
// After each fault, once kvsync says synced again, ExpectCurrentReads pauses
// the writer, waits until kvsync's heartbeat covers its last write (every
// invalidation applied), and marks a window in which every read (a hundred
// per reader) must return Redis's value; ExpectWindowsCurrent checks them
// once the threads have stopped.
#ifndef SHMKV_TESTS_NEAR_HISTORY_WORKLOAD_H_
#define SHMKV_TESTS_NEAR_HISTORY_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/store.h"
#include "tests/near/history/history.h"
#include "tests/near/history/op_log.h"

namespace shmkv::history {

class Workload {
 public:
  static constexpr int kReaders = 3;
  static constexpr int kWriter = kReaders;  // the writer's process number
  // Reads each reader makes, after each fault, that must return Redis's value.
  static constexpr int kReadsAfterFault = 100;

  struct Config {
    Store* store = nullptr;  // kvsync's, which the readers read through
    std::string redis;       // NearCacheOptions::redis
    int keys = 0;            // keys 0 .. keys-1, named by `key`
    std::function<std::string(int)> key;
    // When given: a key's value in Redis (kAbsent when absent), read from
    // the primary at the start of each window. A write acknowledged and
    // then lost in a failover (Redis replicates asynchronously) shows there
    // as an older value: the writes after that value are logged as lost
    // (failed), and the window's reads must return Redis's value.
    std::function<absl::StatusOr<std::string>(const std::string&)> redis_value;
  };

  explicit Workload(Config config);
  ~Workload();  // Stop()
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Writes every key once, then starts the threads (gtest assertions).
  void Start();
  // Runs `faults` in turn, once or (with the environment variable
  // `length_env` set to N) in rounds for N seconds, stopping at a fatal
  // failure; returns the rounds completed.
  int RunRounds(const char* length_env, const std::vector<std::function<void()>>& faults);
  // Logs a fault that began at `start` (MonotonicNs) and ends now. With
  // `writes_may_be_lost`, the writes made meanwhile are logged as failed
  // (may or may not have applied): Redis's asynchronous replication may lose
  // what the old primary acknowledged after the promotion.
  void Fault(const std::string& name, int64_t start, bool writes_may_be_lost);
  void ExpectCurrentReads(const std::string& after);
  // Pauses the writer (once its write under way has ended), and lets it go
  // on, having read every key's value from Redis (Config::redis_value): a
  // primary killed while the writer is paused cannot lose a write that a
  // later one hides from the next window.
  void PauseWrites();
  void ResumeWrites(const std::string& after);
  // Joins the threads (once).
  void Stop();
  // Stops, then expects every read of each window to have returned Redis's
  // value, and the whole history to pass Check with `bound`; prints the
  // figures, headed by `what`.
  void ExpectHistoryOk(const std::string& what, absl::Duration bound);
  // A NearCache of the store and Redis (EXPECT_OK; nullptr on failure).
  std::unique_ptr<near::NearCache> Cache() const;

 private:
  void ReadLoop(int process);
  void WriteLoop();
  void ExpectWindowsCurrent() const;

  Config config_;
  std::vector<std::vector<Op>> ops_;  // per thread, then the faults
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false}, pause_writes_{false}, writer_paused_{false};
  std::atomic<uint64_t> completed_[kReaders] = {};  // reads each reader has logged
  // The spans in which every read must return Redis's value.
  struct Window {
    std::string after;
    int64_t from, to;
    std::map<std::string, std::string> redis;  // Config::redis_value's, at `from`
    bool reads = true;                         // false: Redis's values only
  };
  // Reads every key's value from Redis into `w`.
  void ReadRedisValues(Window& w);
  // Marks the writes a window's Redis values show lost; false (with a
  // failure) for a value no write made.
  void MarkLostWrites(const Window& w);
  std::vector<Window> windows_;
  // Spans whose writes may have been lost.
  std::vector<std::pair<int64_t, int64_t>> lossy_;
  uint64_t lost_ = 0;  // writes Redis acknowledged, then lost
};

}  // namespace shmkv::history

#endif  // SHMKV_TESTS_NEAR_HISTORY_WORKLOAD_H_
