// A private Redis under Sentinel for the near-cache tests: two Debian
// redis-servers (a primary and its replica) and three redis-sentinels
// monitoring them, on loopback TCP ports this process picks, each in a
// directory of its own under one temporary directory. Start it once per
// suite (a SetUpTestSuite); the destructor kills every process and removes
// the directory, on failure too, and the IPC guard's subreaper kills
// anything left should the test process itself die.
#ifndef SHMKV_TESTS_NEAR_REDIS_SENTINEL_ENV_H_
#define SHMKV_TESTS_NEAR_REDIS_SENTINEL_ENV_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/near/redis_client.h"

namespace shmkv::neartest {

class RedisSentinels {
 public:
  // The name the sentinels monitor the primary under.
  static constexpr char kMaster[] = "shmkv";

  RedisSentinels();  // makes the temporary directory
  ~RedisSentinels();
  RedisSentinels(const RedisSentinels&) = delete;
  RedisSentinels& operator=(const RedisSentinels&) = delete;

  // Starts server 0 (the primary), server 1 (its replica) and the three
  // sentinels, then WaitReady().
  absl::Status Start();
  // Waits until every sentinel names the same primary, which answers ROLE
  // as one, the other server is its replica in step and known to every
  // sentinel, and every sentinel knows the two others (so that a killed
  // primary is failed over).
  absl::Status WaitReady() const;

  // "sentinel:127.0.0.1:S0,127.0.0.1:S1,127.0.0.1:S2/shmkv": what kvsync
  // and NearCache take.
  std::string target() const;
  near::RedisAddress server_address(int server) const;
  // A fresh raw client of one server.
  absl::StatusOr<std::unique_ptr<near::RedisConnection>> Client(int server) const;
  absl::StatusOr<std::string> RunId(int server) const;
  // The server every sentinel names as the primary (the test's view, from
  // the sentinels themselves), once none of them is failing the master over
  // (until then kvsync follows no primary).
  absl::StatusOr<int> Primary() const;
  // SENTINEL FAILOVER on the first sentinel; waits until every sentinel
  // names the other server. Returns it.
  absl::StatusOr<int> Failover();
  // Waits until `replica` answers ROLE as a replica of `primary` in step
  // (whatever the sentinels know of it yet).
  absl::Status WaitInStep(int replica, int primary) const;
  // Waits until every sentinel names `server` as the primary.
  absl::Status WaitPrimary(int server) const;
  // Runs `argv` on a sentinel; InternalError unless it answers without error.
  absl::StatusOr<near::RedisReply> SentinelCommand(int sentinel,
                                                   const std::vector<std::string>& argv) const;
  near::RedisAddress sentinel_address(int sentinel) const;
  // Sends `sig` (SIGSTOP, SIGCONT) to a sentinel.
  void SignalSentinel(int sentinel, int sig) const;
  // Sends `sig` to a server and reaps it.
  void KillServer(int server, int sig);
  // Starts a killed server again at its address, as a replica of `primary`.
  absl::Status StartServer(int server, int primary);
  const std::string& dir() const { return dir_; }

 private:
  absl::Status StartSentinel(int port, int primary_port);
  bool InStep(int replica, int primary, std::string* why) const;
  // Whether every sentinel sees `primary` as one, its replica as in step,
  // and two other sentinels; `why` says what is missing.
  bool Ready(int primary, std::string* why) const;

  std::string dir_;
  std::vector<int> server_ports_, sentinel_ports_;
  std::vector<pid_t> server_pids_, sentinel_pids_;
};

}  // namespace shmkv::neartest

#endif  // SHMKV_TESTS_NEAR_REDIS_SENTINEL_ENV_H_
