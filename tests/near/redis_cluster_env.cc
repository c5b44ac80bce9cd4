#include "tests/near/redis_cluster_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "kv/near/slot_map.h"
#include "tests/near/redis_env.h"

namespace shmkv::neartest {
namespace {

// Whether nothing listens on (or holds) 127.0.0.1:port right now.
bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return free;
}

// Whether CLUSTER NODES, as a replica answers it, shows its own link to its
// primary on the cluster bus connected (the 8th field of the primary's
// line). A replica sends CLUSTER FAILOVER's request to its primary over
// that link, and drops it when the link is not up yet (a node that has just
// restarted), so that the manual failover then times out.
bool BusLinkedToPrimary(const std::string& nodes) {
  std::vector<std::vector<std::string>> lines;
  for (absl::string_view line : absl::StrSplit(nodes, '\n', absl::SkipEmpty())) {
    lines.push_back(absl::StrSplit(line, ' '));
  }
  std::string primary;
  for (const std::vector<std::string>& f : lines) {
    if (f.size() > 3 && absl::StrContains(f[2], "myself")) primary = f[3];
  }
  for (const std::vector<std::string>& f : lines) {
    if (f.size() > 7 && f[0] == primary) return f[7] == "connected";
  }
  return false;
}

}  // namespace

int PickPort(std::mt19937& random, const std::vector<int>& taken) {
  std::uniform_int_distribution<int> in_range(20000, 29999);
  for (;;) {
    const int port = in_range(random);
    bool used = false;
    for (int t : taken) used = used || t == port;
    if (!used && PortFree(port) && PortFree(port + 10000)) return port;
  }
}

std::string MakeTempDir(const std::string& stem) {
  const char* test_tmp = getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(test_tmp != nullptr ? test_tmp : "/tmp", "/", stem, ".XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    perror("mkdtemp");
    abort();
  }
  return pattern;
}

RedisCluster::RedisCluster() : dir_(MakeTempDir("cluster")) {}

RedisCluster::~RedisCluster() {
  for (int node = 0; node < node_count(); ++node) Kill(node, SIGKILL);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

near::RedisAddress RedisCluster::address(int node) const {
  near::RedisAddress a;
  a.host = "127.0.0.1";
  a.port = ports_[node];
  return a;
}

std::string RedisCluster::target() const {
  return absl::StrCat(near::kClusterScheme, address(0).ToString());
}

absl::StatusOr<std::unique_ptr<near::RedisConnection>> RedisCluster::Client(int node) const {
  return near::RedisConnection::Connect(address(node), absl::Seconds(5));
}

absl::Status RedisCluster::StartNode(int port) {
  std::filesystem::create_directory(absl::StrCat(dir_, "/", port));
  ports_.push_back(port);
  pids_.push_back(-1);
  return RunNode(node_count() - 1);
}

absl::Status RedisCluster::Restart(int node) {
  if (pids_[node] > 0) return absl::FailedPreconditionError("the node still runs: Kill it first");
  return RunNode(node);
}

absl::Status RedisCluster::RunNode(int node) {
  const int port = ports_[node];
  const std::string node_dir = absl::StrCat(dir_, "/", port);
  const std::string log = absl::StrCat(node_dir, "/redis.", ++starts_, ".log");
  std::vector<std::string> argv = LoopbackServerArgs(port, node_dir, log);
  argv.insert(argv.end(), {"--cluster-enabled", "yes", "--cluster-config-file",
                           node_dir + "/nodes.conf", "--cluster-node-timeout", "1000"});
  absl::StatusOr<pid_t> pid = Spawn(argv, log);
  if (!pid.ok()) return pid.status();
  pids_[node] = *pid;
  const bool up = PollUntil(
      [&] {
        auto c = near::RedisConnection::Connect(address(node), absl::Seconds(1));
        if (!c.ok()) return false;
        auto pong = (*c)->Command({"PING"});
        return pong.ok() && pong->IsString("PONG");
      },
      absl::Seconds(10));
  if (!up) {
    return absl::UnavailableError(
        absl::StrCat("cluster node on port ", port, " did not come up; its log:\n", ReadFile(log)));
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::Start(int primaries, int replicas_per_primary) {
  replicas_per_primary_ = replicas_per_primary;
  std::mt19937 random(static_cast<unsigned>(getpid()) ^
                      static_cast<unsigned>(absl::ToUnixNanos(absl::Now())));
  const int nodes = primaries * (1 + replicas_per_primary);
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < nodes; ++i) {
    if (absl::Status s = StartNode(PickPort(random, ports_)); !s.ok()) return s;
    create.push_back(address(i).ToString());
  }
  create.push_back("--cluster-replicas");
  create.push_back(absl::StrCat(replicas_per_primary));
  create.push_back("--cluster-yes");
  const std::string log = dir_ + "/create.log";
  absl::StatusOr<pid_t> cli = Spawn(create, log);
  if (!cli.ok()) return cli.status();
  if (const int exit = WaitExit(*cli, absl::Seconds(30)); exit != 0) {
    if (exit == -1) {
      kill(*cli, SIGKILL);
      WaitExit(*cli, absl::Seconds(5));
    }
    return absl::UnavailableError(
        absl::StrCat("redis-cli --cluster create exited ", exit, ":\n", ReadFile(log)));
  }
  return WaitReady(replicas_per_primary);
}

absl::StatusOr<std::unique_ptr<RedisCluster>> RedisCluster::Started(int primaries,
                                                                    int replicas_per_primary) {
  auto cluster = std::make_unique<RedisCluster>();
  if (absl::Status s = cluster->Start(primaries, replicas_per_primary); !s.ok()) return s;
  return cluster;
}

absl::Status RedisCluster::WaitReady(int replicas_per_primary) const {
  std::string last;
  const bool ready = PollUntil(
      [&] {
        for (int node = 0; node < node_count(); ++node) {
          absl::StatusOr<near::RedisReply> info = Run(node, {"CLUSTER", "INFO"});
          if (!info.ok()) {
            last = std::string(info.status().message());
            return false;
          }
          last = info->str;
          if (near::InfoField(info->str, "cluster_state") != "ok" ||
              near::InfoField(info->str, "cluster_slots_ok") != "16384" ||
              near::InfoField(info->str, "cluster_known_nodes") != absl::StrCat(node_count())) {
            return false;
          }
          absl::StatusOr<near::RedisReply> replication = Run(node, {"INFO", "replication"});
          if (!replication.ok()) return false;
          last = replication->str;
          if (near::InfoField(replication->str, "role") == "slave" &&
              near::InfoField(replication->str, "master_link_status") != "up") {
            return false;
          }
          absl::StatusOr<near::RedisReply> slots = Run(node, {"CLUSTER", "SLOTS"});
          if (!slots.ok()) return false;
          for (const near::RedisReply& range : slots->elements) {
            if (range.elements.size() < 3 + static_cast<size_t>(replicas_per_primary)) {
              last = absl::StrCat("a primary does not list its replicas yet: ", range.Describe());
              return false;
            }
          }
        }
        return true;
      },
      absl::Seconds(20));
  if (!ready) return absl::UnavailableError("the cluster did not become ready: " + last);
  return absl::OkStatus();
}

absl::StatusOr<int> RedisCluster::PrimaryOfSlot(int slot) const { return NodeOfSlot(slot, 0); }

absl::StatusOr<int> RedisCluster::ReplicaOfSlot(int slot) const { return NodeOfSlot(slot, 1); }

absl::StatusOr<int> RedisCluster::NodeOfSlot(int slot, size_t position) const {
  absl::StatusOr<near::RedisReply> slots = Run(0, {"CLUSTER", "SLOTS"});
  if (!slots.ok()) return slots.status();
  for (const near::RedisReply& range : slots->elements) {
    if (range.elements[0].integer > slot || range.elements[1].integer < slot) continue;
    if (range.elements.size() <= 2 + position) break;
    const long long port = range.elements[2 + position].elements[1].integer;
    for (int node = 0; node < node_count(); ++node) {
      if (ports_[node] == port) return node;
    }
  }
  return absl::NotFoundError(absl::StrCat("no node serves slot ", slot));
}

absl::StatusOr<near::RedisReply> RedisCluster::Run(int node,
                                                   const std::vector<std::string>& argv) const {
  auto c = Client(node);
  if (!c.ok()) return c.status();
  absl::StatusOr<near::RedisReply> reply = (*c)->Command(argv);
  if (reply.ok() && reply->type == near::RedisReply::Type::kError) {
    return absl::InternalError(absl::StrCat("node ", ports_[node], " answered ", argv[0], " ",
                                            argv.size() > 1 ? argv[1] : "", " with ",
                                            reply->Describe()));
  }
  return reply;
}

absl::Status RedisCluster::BeginSlotMove(int slot, int to) {
  absl::StatusOr<int> from = PrimaryOfSlot(slot);
  if (!from.ok()) return from.status();
  absl::StatusOr<near::RedisReply> from_id = Run(*from, {"CLUSTER", "MYID"});
  absl::StatusOr<near::RedisReply> to_id = Run(to, {"CLUSTER", "MYID"});
  if (!from_id.ok()) return from_id.status();
  if (!to_id.ok()) return to_id.status();
  const std::string s = absl::StrCat(slot);
  std::vector<std::pair<int, std::vector<std::string>>> steps = {
      {to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id->str}},
      {*from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id->str}}};
  for (const auto& [node, argv] : steps) {
    if (auto r = Run(node, argv); !r.ok()) return r.status();
  }
  for (;;) {
    absl::StatusOr<near::RedisReply> keys = Run(*from, {"CLUSTER", "GETKEYSINSLOT", s, "100"});
    if (!keys.ok()) return keys.status();
    if (keys->elements.empty()) break;
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", absl::StrCat(ports_[to]), "", "0",
                                        "5000",    "KEYS"};
    for (const near::RedisReply& k : keys->elements) migrate.push_back(k.str);
    if (auto r = Run(*from, migrate); !r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::FinishSlotMove(int slot, int to) {
  absl::StatusOr<int> from = PrimaryOfSlot(slot);
  if (!from.ok()) return from.status();
  absl::StatusOr<near::RedisReply> to_id = Run(to, {"CLUSTER", "MYID"});
  if (!to_id.ok()) return to_id.status();
  const std::string s = absl::StrCat(slot);
  for (int node : {to, *from}) {
    if (auto r = Run(node, {"CLUSTER", "SETSLOT", s, "NODE", to_id->str}); !r.ok()) {
      return r.status();
    }
  }
  return WaitPrimaryOfSlot(slot, to);
}

absl::Status RedisCluster::WaitPrimaryOfSlot(int slot, int to) const {
  const bool agreed = PollUntil(
      [&] {
        for (int node = 0; node < node_count(); ++node) {
          if (pids_[node] <= 0) continue;  // killed
          absl::StatusOr<near::RedisReply> slots = Run(node, {"CLUSTER", "SLOTS"});
          if (!slots.ok()) return false;
          auto map = near::SlotMap::FromClusterSlots(*slots, address(node));
          if (!map.ok() || map->PrimaryOf(slot) == nullptr ||
              map->PrimaryOf(slot)->port != ports_[to]) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(10));
  if (!agreed) {
    return absl::DeadlineExceededError(
        absl::StrCat("the nodes did not agree that node ", ports_[to], " serves slot ", slot));
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::WaitReplicaInStep(int node) const {
  std::string last;
  const bool in_step = PollUntil(
      [&] {
        absl::StatusOr<near::RedisReply> replication = Run(node, {"INFO", "replication"});
        if (!replication.ok()) return false;
        last = replication->str;
        if (near::InfoField(last, "role") != "slave" ||
            near::InfoField(last, "master_link_status") != "up") {
          return false;
        }
        absl::StatusOr<near::RedisReply> nodes = Run(node, {"CLUSTER", "NODES"});
        if (!nodes.ok()) return false;
        last = nodes->str;
        return BusLinkedToPrimary(last);
      },
      absl::Seconds(10));
  if (!in_step) {
    return absl::DeadlineExceededError(
        absl::StrCat("node ", ports_[node], " is not a replica in step: ", last));
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::MoveSlot(int slot, int to) {
  if (absl::Status s = BeginSlotMove(slot, to); !s.ok()) return s;
  return FinishSlotMove(slot, to);
}

void RedisCluster::Pause(int node) {
  if (pids_[node] > 0) kill(pids_[node], SIGSTOP);
}

absl::Status RedisCluster::Resume(int node) {
  if (pids_[node] > 0) kill(pids_[node], SIGCONT);
  return WaitReady(replicas_per_primary_);
}

void RedisCluster::Kill(int node, int sig) {
  if (pids_[node] <= 0) return;
  kill(pids_[node], sig);
  WaitExit(pids_[node], absl::Seconds(10));
  pids_[node] = -1;
}

}  // namespace shmkv::neartest
