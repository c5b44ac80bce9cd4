// A private Redis Cluster for the near-cache tests: Debian's redis-server
// started as cluster nodes on loopback TCP ports this process picks (each
// port and its cluster bus port, port + 10000, free), each in a directory
// of its own under one temporary directory, joined with
// `redis-cli --cluster create`. Start it once per suite (a SetUpTestSuite);
// the destructor kills every node and removes the directory, on failure
// too, and the IPC guard's subreaper kills anything left should the test
// process itself die.
#ifndef SHMKV_TESTS_NEAR_REDIS_CLUSTER_ENV_H_
#define SHMKV_TESTS_NEAR_REDIS_CLUSTER_ENV_H_

#include <sys/types.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kv/near/redis_client.h"

namespace shmkv::neartest {

// A new directory under TEST_TMPDIR (else /tmp) named `stem`.XXXXXX.
std::string MakeTempDir(const std::string& stem);

// A port in 20000..29999 that is free with its cluster bus port, and not
// already in `taken`. Below the kernel's ephemeral range (32768+), so no
// outgoing connection takes it meanwhile.
int PickPort(std::mt19937& random, const std::vector<int>& taken);

class RedisCluster {
 public:
  RedisCluster();  // makes the temporary directory
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Starts `primaries` nodes (3 or more: redis-cli's minimum), each with
  // `replicas_per_primary` replicas, creates the cluster and waits until
  // every node reports cluster_state:ok with all slots assigned.
  absl::Status Start(int primaries, int replicas_per_primary = 0);
  // A new cluster, started (Start), for a suite's SetUpTestSuite.
  static absl::StatusOr<std::unique_ptr<RedisCluster>> Started(int primaries,
                                                               int replicas_per_primary);

  // "cluster:127.0.0.1:P" for the first node: what kvsync and NearCache take.
  std::string target() const;
  int node_count() const { return static_cast<int>(ports_.size()); }
  int port(int node) const { return ports_[node]; }
  near::RedisAddress address(int node) const;
  // A fresh raw client of one node.
  absl::StatusOr<std::unique_ptr<near::RedisConnection>> Client(int node) const;
  // The node index of the primary serving `slot`, from that node's own
  // CLUSTER SLOTS (the test's view, independent of the code under test).
  absl::StatusOr<int> PrimaryOfSlot(int slot) const;
  // The node index of the first replica of the primary serving `slot`.
  absl::StatusOr<int> ReplicaOfSlot(int slot) const;
  // Waits until every running node says `node` is the primary serving
  // `slot`.
  absl::Status WaitPrimaryOfSlot(int slot, int node) const;
  // Moves `slot`, with its keys, from the primary serving it to `to`, as
  // redis-cli --cluster reshard does (SETSLOT IMPORTING and MIGRATING,
  // MIGRATE, SETSLOT NODE on both), and waits until every node agrees.
  absl::Status MoveSlot(int slot, int to);
  // MoveSlot's two halves: the keys moved, the slot still served by its
  // old primary, which answers ASK for the keys it no longer has; then the
  // slot given to `to` for good.
  absl::Status BeginSlotMove(int slot, int to);
  absl::Status FinishSlotMove(int slot, int to);
  // Sends `sig` to one node and reaps it.
  void Kill(int node, int sig);
  // Starts a killed node again at its address, with its directory and
  // cluster config (it rejoins as what the cluster says it is now: a
  // replica after a failover), and waits until it answers PING.
  absl::Status Restart(int node);
  // Waits until `node` is a replica whose replication link to its primary
  // is up and whose cluster-bus link to it is connected: what CLUSTER
  // FAILOVER sent to it needs (its request to the primary goes over that
  // link, and is dropped while the link is down: the failover then times
  // out after 5 s).
  absl::Status WaitReplicaInStep(int node) const;
  // Stops one node (SIGSTOP): it answers nobody, clients nor the cluster
  // bus, for as long as the test needs, however slow the machine.
  void Pause(int node);
  // Lets it run again (SIGCONT) and waits until the cluster is whole again
  // (the others may have marked it failing meanwhile).
  absl::Status Resume(int node);
  const std::string& dir() const { return dir_; }

 private:
  absl::Status StartNode(int port);
  // Runs redis-server as node `node` at its port, and waits for its PING.
  absl::Status RunNode(int node);
  // Every node says cluster_state:ok with all slots assigned, every
  // primary lists its replicas, and each replica is in step with it.
  absl::Status WaitReady(int replicas_per_primary) const;
  // The node at `position` of the slot's entry in CLUSTER SLOTS (0: the
  // primary, 1: its first replica).
  absl::StatusOr<int> NodeOfSlot(int slot, size_t position) const;
  // Runs `argv` on `node`; InternalError unless it answers with no error.
  absl::StatusOr<near::RedisReply> Run(int node, const std::vector<std::string>& argv) const;

  std::string dir_;
  std::vector<int> ports_;
  std::vector<pid_t> pids_;
  int starts_ = 0;  // redis-server processes started, naming their logs
  int replicas_per_primary_ = 0;
};

}  // namespace shmkv::neartest

#endif  // SHMKV_TESTS_NEAR_REDIS_CLUSTER_ENV_H_
