// A private Redis and a kvsync for the near-cache tests: Debian's
// redis-server on a unix socket in a temporary directory (no persistence),
// and the kvsync binary from this build, both real processes. Destructors
// kill what is still running; the IPC guard's subreaper kills anything left
// should the test process itself die.
#ifndef SHMKV_TESTS_NEAR_REDIS_ENV_H_
#define SHMKV_TESTS_NEAR_REDIS_ENV_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kv/near/redis_client.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"

namespace shmkv::neartest {

// Polls `done` (every 200 µs) until it is true or `timeout` passes; returns
// whether it became true.
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout);

// Starts `argv` (argv[0] looked up in PATH) with stdout to /dev/null and
// stderr to `stderr_path` ("" keeps the test's stderr), and `env`
// ("NAME=value" each) added to the test's environment. Returns the pid.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
                            const std::vector<std::string>& env = {});

// Exit status of `pid` as test_util's DescribeExit counts it (exit code, or
// 128 + signal), waiting up to `timeout`; -1 when it did not end in time.
int WaitExit(pid_t pid, absl::Duration timeout);

class RedisServer {
 public:
  RedisServer();  // makes the temporary directory
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server (DEBUG allowed, over the socket) and waits until it
  // answers PING.
  absl::Status Start();
  // Sends `sig` and reaps it.
  void Kill(int sig);
  bool running() const { return pid_ > 0; }

  const std::string& dir() const { return dir_; }
  std::string socket() const { return dir_ + "/redis.sock"; }
  std::string address() const { return "unix:" + socket(); }

  // A fresh raw client (for writes "from outside", INFO, FLUSHALL).
  absl::StatusOr<std::unique_ptr<near::RedisConnection>> Client() const;
  // This server's run_id (INFO server): the identity kvsync records.
  absl::StatusOr<std::string> RunId() const;
  // cmdstat_<command>:calls from INFO commandstats (0 when never called).
  absl::StatusOr<long long> CommandCalls(const std::string& command) const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// cmdstat_<command>:calls from the INFO commandstats of the server
// `client` reached: the commands it ran (0 when none; a command refused
// with MOVED or ASK is not counted).
absl::StatusOr<long long> CommandCalls(near::RedisConnection& client, const std::string& command);

// A file of this build, `path` in the workspace, from the test's runfiles.
std::string RunfilePath(const std::string& path);
// The kvsync binary of this build, from the test's runfiles.
std::string KvsyncPath();

class Kvsync {
 public:
  Kvsync() = default;
  ~Kvsync();
  Kvsync(const Kvsync&) = delete;
  Kvsync& operator=(const Kvsync&) = delete;

  // Starts kvsync for the store at `key` following `redis`; its stderr goes
  // to `log_path`, `env` is added to its environment (Spawn). `launcher`,
  // when given, is the command kvsync's command line is appended to (e.g.
  // unshare --pid --kill-child: pid() is then the launcher's).
  absl::Status Start(const std::string& key_hex, const std::string& redis,
                     const std::vector<std::string>& prefixes, const std::string& log_path,
                     const std::vector<std::string>& env = {},
                     const std::vector<std::string>& launcher = {});
  // Sends `sig` and returns the exit status (WaitExit).
  int Stop(int sig);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

std::string ReadFile(const std::string& path);
// redis-server's command line for a test server on 127.0.0.1:`port` (the
// Sentinel and cluster suites'): no persistence, replicas synced at once,
// its files in `dir` and its log in `log` (a server logs to stdout, which
// Spawn sends nowhere, unless told).
std::vector<std::string> LoopbackServerArgs(int port, const std::string& dir,
                                            const std::string& log);
// The last `lines` lines of every *.log file under `dir` (the servers',
// sentinels' and kvsync's), each under its path: what a failed test prints
// so that the servers' view of a fault is not lost with the directory.
std::string LogTails(const std::string& dir, int lines = 60);

// Waits (up to `timeout`) until kvsync's record in `store` says synced with
// at least `resyncs` resyncs.
bool WaitSynced(Store& store, uint64_t resyncs, absl::Duration timeout);

// Waits (up to `timeout`) until kvsync, synced, has applied every
// invalidation Redis sent before this call: its heartbeat is the instant as
// of which it had. A fill after this cannot be deleted by the invalidation
// of a write made before it.
bool WaitInvalidationsApplied(Store& store, absl::Duration timeout);

// Runs this build's kvcli (from the test's runfiles) with `args` (shell
// words) and returns what it printed on stdout; an error, with the output,
// unless it exits 0.
absl::StatusOr<std::string> KvcliOutput(const std::string& args);

// Waits (up to `timeout`) until `key` is not in `store` (an invalidation
// applied, a clear).
bool WaitGone(Store& store, const std::string& key, absl::Duration timeout);

// Waits until kvsync has applied the invalidations of every write made to
// Redis so far. Redis delivers them in order, so it puts `marker` (a key
// kvsync tracks) in the store (not a fill), writes it in Redis (value
// `round`) and waits up to 5 s for kvsync to delete it. Tests that want a
// fill to stay call it between their writes and their reads: an
// invalidation that arrives during a fill cancels the fill.
absl::Status Drain(Store& store, near::RedisConnection& client, const std::string& marker,
                   int round);

// Stands in for kvsync: writes its record into `store` with `phase` and
// `epoch`, alive (this process's pid), beating now, tracking "p:", following
// the Redis server of `run_id`.
absl::Status WriteSyncRecord(Store& store, near::SyncPhase phase, uint32_t epoch,
                             const std::string& run_id);

// Sets `count` keys `prefix`0, `prefix`1, ... in Redis, each holding
// "value of " and its key (MSET, 500 keys a command).
absl::Status SetNumberedKeys(near::RedisConnection& client, const std::string& prefix, int count);

// The entries under `prefix` in `store` that readers would serve (flags ==
// kvsync's current epoch): how many there are, and how many differ from
// Redis's value for their key (the first few are printed to stderr).
struct CachedComparison {
  int cached = 0, wrong = 0;
};
absl::StatusOr<CachedComparison> CompareCachedWithRedis(Store& store, near::RedisConnection& client,
                                                        const std::string& prefix);

}  // namespace shmkv::neartest

#endif  // SHMKV_TESTS_NEAR_REDIS_ENV_H_
