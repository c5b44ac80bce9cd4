#include "tests/near/redis_sentinel_env.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kv/near/sentinel.h"
#include "tests/near/redis_cluster_env.h"
#include "tests/near/redis_env.h"

namespace shmkv::neartest {
namespace {

// The value of `name` in a reply of name/value pairs (SENTINEL MASTER, an
// entry of SENTINEL REPLICAS); "" when absent.
std::string PairField(const near::RedisReply& pairs, const std::string& name) {
  for (size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
    if (pairs.elements[i].IsString(name)) return pairs.elements[i + 1].str;
  }
  return "";
}

// Whether something answers PING at `address`.
bool Answers(const near::RedisAddress& address) {
  auto c = near::RedisConnection::Connect(address, absl::Seconds(1));
  if (!c.ok()) return false;
  auto pong = (*c)->Command({"PING"});
  return pong.ok() && pong->IsString("PONG");
}

// PollUntil for conditions that open connections to several servers: a
// pause between tries keeps the polling off the CPU the servers need.
bool PollServers(const std::function<bool()>& done, absl::Duration timeout) {
  return PollUntil(
      [&] {
        if (done()) return true;
        absl::SleepFor(absl::Milliseconds(20));
        return false;
      },
      timeout);
}

near::RedisAddress Loopback(int port) {
  near::RedisAddress a;
  a.host = "127.0.0.1";
  a.port = port;
  return a;
}

}  // namespace

RedisSentinels::RedisSentinels() : dir_(MakeTempDir("sentinel")) {}

RedisSentinels::~RedisSentinels() {
  for (pid_t pid : sentinel_pids_) {
    kill(pid, SIGKILL);
    WaitExit(pid, absl::Seconds(10));
  }
  for (size_t i = 0; i < server_pids_.size(); ++i) KillServer(static_cast<int>(i), SIGKILL);
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

near::RedisAddress RedisSentinels::server_address(int server) const {
  return Loopback(server_ports_[server]);
}

near::RedisAddress RedisSentinels::sentinel_address(int sentinel) const {
  return Loopback(sentinel_ports_[sentinel]);
}

std::string RedisSentinels::target() const {
  std::vector<std::string> sentinels;
  for (int port : sentinel_ports_) sentinels.push_back(Loopback(port).ToString());
  return absl::StrCat(near::kSentinelScheme, absl::StrJoin(sentinels, ","), "/", kMaster);
}

absl::StatusOr<std::unique_ptr<near::RedisConnection>> RedisSentinels::Client(int server) const {
  return near::RedisConnection::Connect(server_address(server), absl::Seconds(5));
}

absl::StatusOr<std::string> RedisSentinels::RunId(int server) const {
  auto c = Client(server);
  if (!c.ok()) return c.status();
  return near::ServerRunId(**c);
}

absl::Status RedisSentinels::StartServer(int server, int primary) {
  const int port = server_ports_[server];
  const std::string server_dir = absl::StrCat(dir_, "/", port);
  std::filesystem::create_directory(server_dir);
  const std::string log = server_dir + "/redis.log";
  std::vector<std::string> argv = LoopbackServerArgs(port, server_dir, log);
  if (primary != server) {
    argv.insert(argv.end(), {"--replicaof", "127.0.0.1", absl::StrCat(server_ports_[primary])});
  }
  absl::StatusOr<pid_t> pid = Spawn(argv, log);
  if (!pid.ok()) return pid.status();
  server_pids_[server] = *pid;
  if (!PollUntil([&] { return Answers(server_address(server)); }, absl::Seconds(10))) {
    return absl::UnavailableError(
        absl::StrCat("redis-server on port ", port, " did not come up; its log:\n", ReadFile(log)));
  }
  return absl::OkStatus();
}

absl::Status RedisSentinels::StartSentinel(int port, int primary_port) {
  const std::string sentinel_dir = absl::StrCat(dir_, "/", port);
  std::filesystem::create_directory(sentinel_dir);
  const std::string config = sentinel_dir + "/sentinel.conf";
  {
    // A sentinel rewrites its configuration file: one of its own each.
    // down-after-milliseconds: small, so a killed primary is failed over
    // within about two seconds; 500 rather than less, as a sentinel resets
    // its links to a new primary and may take it for down meanwhile.
    std::ofstream out(config);
    out << "port " << port << "\nbind 127.0.0.1\ndir " << sentinel_dir << "\nlogfile "
        << sentinel_dir << "/sentinel.log\n"
        << "sentinel monitor " << kMaster << " 127.0.0.1 " << primary_port << " 2\n"
        << "sentinel down-after-milliseconds " << kMaster << " 500\n"
        << "sentinel failover-timeout " << kMaster << " 1000\n";
  }
  absl::StatusOr<pid_t> pid = Spawn({"redis-sentinel", config}, sentinel_dir + "/sentinel.log");
  if (!pid.ok()) return pid.status();
  sentinel_pids_.push_back(*pid);
  if (!PollUntil([&] { return Answers(Loopback(port)); }, absl::Seconds(10))) {
    return absl::UnavailableError(absl::StrCat("redis-sentinel on port ", port,
                                               " did not come up; its log:\n",
                                               ReadFile(sentinel_dir + "/sentinel.log")));
  }
  return absl::OkStatus();
}

absl::Status RedisSentinels::Start() {
  std::mt19937 random(static_cast<unsigned>(getpid()) ^
                      static_cast<unsigned>(absl::ToUnixNanos(absl::Now())));
  std::vector<int> taken;
  for (int i = 0; i < 5; ++i) taken.push_back(PickPort(random, taken));
  server_ports_ = {taken[0], taken[1]};
  sentinel_ports_ = {taken[2], taken[3], taken[4]};
  server_pids_ = {-1, -1};
  for (int server : {0, 1}) {
    if (absl::Status s = StartServer(server, 0); !s.ok()) return s;
  }
  for (int port : sentinel_ports_) {
    if (absl::Status s = StartSentinel(port, server_ports_[0]); !s.ok()) return s;
  }
  for (int s = 0; s < static_cast<int>(sentinel_ports_.size()); ++s) {
    // INFO of every server each second rather than ten, so that a server
    // a test demoted (REPLICAOF) is known as a replica within a second;
    // and a sentinel stopped by a test (SIGSTOP) is out of TILT mode a
    // second after it resumes rather than thirty.
    absl::StatusOr<near::RedisReply> set =
        SentinelCommand(s, {"SENTINEL", "DEBUG", "info-period", "1000", "tilt-period", "1000"});
    if (!set.ok()) return set.status();
  }
  return WaitReady();
}

absl::StatusOr<near::RedisReply> RedisSentinels::SentinelCommand(
    int sentinel, const std::vector<std::string>& argv) const {
  auto c = near::RedisConnection::Connect(Loopback(sentinel_ports_[sentinel]), absl::Seconds(5));
  if (!c.ok()) return c.status();
  absl::StatusOr<near::RedisReply> reply = (*c)->Command(argv);
  if (reply.ok() && reply->type == near::RedisReply::Type::kError) {
    return absl::InternalError(absl::StrCat("sentinel ", sentinel_ports_[sentinel], " answered ",
                                            absl::StrJoin(argv, " "), " with ", reply->Describe()));
  }
  return reply;
}

absl::StatusOr<int> RedisSentinels::Primary() const {
  int agreed = -1;
  for (size_t s = 0; s < sentinel_ports_.size(); ++s) {
    absl::StatusOr<near::RedisAddress> named =
        near::AskSentinel(Loopback(sentinel_ports_[s]), kMaster, absl::Seconds(5));
    if (!named.ok()) return named.status();
    int server = -1;
    for (size_t i = 0; i < server_ports_.size(); ++i) {
      if (server_ports_[i] == named->port) server = static_cast<int>(i);
    }
    if (server < 0 || (agreed >= 0 && server != agreed)) {
      return absl::UnavailableError("the sentinels do not agree on the primary yet");
    }
    // kvsync follows no primary while a sentinel is failing the master over.
    absl::StatusOr<bool> failing =
        near::FailoverUnderWay(Loopback(sentinel_ports_[s]), kMaster, absl::Seconds(5));
    if (!failing.ok()) return failing.status();
    if (*failing) {
      return absl::UnavailableError(
          absl::StrCat("sentinel ", sentinel_ports_[s], " is still failing over ", kMaster));
    }
    agreed = server;
  }
  return agreed;
}

bool RedisSentinels::InStep(int replica, int primary, std::string* why) const {
  auto role = Client(replica);
  absl::StatusOr<near::RedisReply> r =
      role.ok() ? (*role)->Command({"ROLE"}) : absl::StatusOr<near::RedisReply>(role.status());
  if (!r.ok() || r->elements.size() < 4 || !r->elements[0].IsString("slave") ||
      r->elements[2].integer != server_ports_[primary] || !r->elements[3].IsString("connected")) {
    *why = absl::StrCat("server ", replica, " is not a replica in step: ",
                        r.ok() ? r->Describe() : std::string(r.status().message()));
    return false;
  }
  return true;
}

absl::Status RedisSentinels::WaitInStep(int replica, int primary) const {
  std::string why;
  if (!PollServers([&] { return InStep(replica, primary, &why); }, absl::Seconds(20))) {
    return absl::DeadlineExceededError(why);
  }
  return absl::OkStatus();
}

bool RedisSentinels::Ready(int primary, std::string* why) const {
  const int replica = 1 - primary;
  if (!InStep(replica, primary, why)) return false;
  for (size_t s = 0; s < sentinel_ports_.size(); ++s) {
    absl::StatusOr<near::RedisReply> master =
        SentinelCommand(static_cast<int>(s), {"SENTINEL", "MASTER", kMaster});
    absl::StatusOr<near::RedisReply> replicas =
        SentinelCommand(static_cast<int>(s), {"SENTINEL", "REPLICAS", kMaster});
    if (!master.ok() || !replicas.ok()) {
      *why = std::string((master.ok() ? replicas.status() : master.status()).message());
      return false;
    }
    bool replica_known = false;
    for (const near::RedisReply& entry : replicas->elements) {
      replica_known =
          replica_known ||
          (PairField(entry, "port") == absl::StrCat(server_ports_[replica]) &&
           PairField(entry, "flags") == "slave" && PairField(entry, "master-link-status") == "ok" &&
           PairField(entry, "master-port") == absl::StrCat(server_ports_[primary]));
    }
    if (PairField(*master, "flags") != "master" ||
        PairField(*master, "num-other-sentinels") != "2" || !replica_known) {
      *why = absl::StrCat("sentinel ", sentinel_ports_[s], " sees ", master->Describe(),
                          " with replicas ", replicas->Describe());
      return false;
    }
  }
  return true;
}

absl::Status RedisSentinels::WaitReady() const {
  std::string why;
  const bool ready = PollServers(
      [&] {
        absl::StatusOr<int> primary = Primary();
        if (!primary.ok()) {
          why = std::string(primary.status().message());
          return false;
        }
        auto c = Client(*primary);
        if (!c.ok() || !near::CheckPrimaryRole(**c).ok()) {
          why = absl::StrCat("server ", *primary, " does not answer as a primary yet");
          return false;
        }
        return Ready(*primary, &why);
      },
      absl::Seconds(30));
  if (!ready) return absl::UnavailableError("the sentinels did not become ready: " + why);
  return absl::OkStatus();
}

absl::Status RedisSentinels::WaitPrimary(int server) const {
  const bool switched = PollServers(
      [&] {
        absl::StatusOr<int> primary = Primary();
        return primary.ok() && *primary == server;
      },
      absl::Seconds(20));
  if (!switched) {
    return absl::DeadlineExceededError(
        absl::StrCat("the sentinels did not all name server ", server, " as the primary"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RedisSentinels::Failover() {
  absl::StatusOr<int> primary = Primary();
  if (!primary.ok()) return primary.status();
  absl::StatusOr<near::RedisReply> ok = SentinelCommand(0, {"SENTINEL", "FAILOVER", kMaster});
  if (!ok.ok()) return ok.status();
  if (absl::Status s = WaitPrimary(1 - *primary); !s.ok()) return s;
  return 1 - *primary;
}

void RedisSentinels::SignalSentinel(int sentinel, int sig) const {
  kill(sentinel_pids_[sentinel], sig);
}

void RedisSentinels::KillServer(int server, int sig) {
  if (server_pids_[server] <= 0) return;
  kill(server_pids_[server], sig);
  WaitExit(server_pids_[server], absl::Seconds(10));
  server_pids_[server] = -1;
}

}  // namespace shmkv::neartest
