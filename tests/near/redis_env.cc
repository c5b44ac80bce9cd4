#include "tests/near/redis_env.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "shmkv/near/sync_state.h"

namespace shmkv::neartest {
namespace {

std::string MakeTempDir() {
  // A unix socket path must fit in 108 bytes: Bazel's TEST_TMPDIR may not.
  const char* test_tmp = getenv("TEST_TMPDIR");
  std::string base = (test_tmp != nullptr && std::string(test_tmp).size() < 60) ? test_tmp : "";
  if (base.empty()) {
    const char* tmp = getenv("TMPDIR");
    base = (tmp != nullptr && std::string(tmp).size() < 60) ? tmp : "/tmp";
  }
  std::string pattern = base + "/near.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    perror("mkdtemp");
    abort();
  }
  return pattern;
}

}  // namespace

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Microseconds(200));
  }
}

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
                            const std::vector<std::string>& env) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    if (!stderr_path.empty()) {
      const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (err >= 0) dup2(err, 2);
    }
    for (const std::string& e : env) putenv(const_cast<char*>(e.c_str()));
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s failed\n", args[0]);
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid, absl::Duration timeout) {
  int status = 0;
  pid_t got = 0;
  if (!PollUntil(
          [&] {
            got = waitpid(pid, &status, WNOHANG);
            return got != 0;
          },
          timeout)) {
    return -1;
  }
  if (got < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> LoopbackServerArgs(int port, const std::string& dir,
                                            const std::string& log) {
  return {"redis-server",
          "--port",
          absl::StrCat(port),
          "--bind",
          "127.0.0.1",
          "--repl-diskless-sync-delay",
          "0",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--logfile",
          log};
}

std::string LogTails(const std::string& dir, int lines) {
  std::vector<std::string> paths;
  std::error_code ignored;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ignored);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
    if (it->path().extension() == ".log") paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::string out;
  for (const std::string& path : paths) {
    std::vector<std::string> all = absl::StrSplit(ReadFile(path), '\n');
    const size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
    absl::StrAppend(&out, "==> ", path, " <==\n");
    for (size_t i = from; i < all.size(); ++i) absl::StrAppend(&out, all[i], "\n");
  }
  return out;
}

RedisServer::RedisServer() : dir_(MakeTempDir()) {}

RedisServer::~RedisServer() {
  Kill(SIGKILL);
  // The tests keep their kvsync logs here too.
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status RedisServer::Start() {
  if (pid_ > 0) return absl::FailedPreconditionError("redis-server already running");
  absl::StatusOr<pid_t> pid =
      Spawn({"redis-server", "--port", "0", "--unixsocket", socket(), "--save", "", "--appendonly",
             "no", "--dir", dir_, "--enable-debug-command", "local"},
            dir_ + "/redis.log");
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  absl::StatusOr<near::RedisAddress> address = near::ParseRedisAddress(this->address());
  bool up = PollUntil(
      [&] {
        auto c = near::RedisConnection::Connect(*address, absl::Seconds(1));
        if (!c.ok()) return false;
        auto pong = (*c)->Command({"PING"});
        return pong.ok() && pong->IsString("PONG");
      },
      absl::Seconds(10));
  if (!up) {
    return absl::UnavailableError(
        absl::StrCat("redis-server did not come up; its log:\n", ReadFile(dir_ + "/redis.log")));
  }
  return absl::OkStatus();
}

void RedisServer::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  WaitExit(pid_, absl::Seconds(10));
  pid_ = -1;
}

absl::StatusOr<std::unique_ptr<near::RedisConnection>> RedisServer::Client() const {
  absl::StatusOr<near::RedisAddress> address = near::ParseRedisAddress(this->address());
  if (!address.ok()) return address.status();
  return near::RedisConnection::Connect(*address, absl::Seconds(5));
}

absl::StatusOr<std::string> RedisServer::RunId() const {
  auto c = Client();
  if (!c.ok()) return c.status();
  return near::ServerRunId(**c);
}

absl::StatusOr<long long> RedisServer::CommandCalls(const std::string& command) const {
  auto c = Client();
  if (!c.ok()) return c.status();
  return neartest::CommandCalls(**c, command);
}

absl::StatusOr<long long> CommandCalls(near::RedisConnection& client, const std::string& command) {
  auto info = client.Command({"INFO", "commandstats"});
  if (!info.ok()) return info.status();
  const std::string want = absl::StrCat("cmdstat_", command, ":calls=");
  for (absl::string_view line : absl::StrSplit(info->str, "\r\n")) {
    if (!absl::ConsumePrefix(&line, want)) continue;
    long long calls = 0;
    if (!absl::SimpleAtoi(line.substr(0, line.find(',')), &calls)) {
      return absl::InternalError(absl::StrCat("bad INFO line ", line));
    }
    return calls;
  }
  return 0;
}

std::string RunfilePath(const std::string& path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/",
                      workspace != nullptr ? workspace : "shmkv", "/", path);
}

std::string KvsyncPath() { return RunfilePath("tools/kvsync/kvsync"); }

Kvsync::~Kvsync() {
  if (pid_ > 0) Stop(SIGKILL);
}

absl::Status Kvsync::Start(const std::string& key_hex, const std::string& redis,
                           const std::vector<std::string>& prefixes, const std::string& log_path,
                           const std::vector<std::string>& env,
                           const std::vector<std::string>& launcher) {
  std::vector<std::string> argv = launcher;
  for (std::string arg : {KvsyncPath(), "--key=" + key_hex, "--redis=" + redis}) {
    argv.push_back(std::move(arg));
  }
  for (const std::string& p : prefixes) argv.push_back("--prefix=" + p);
  absl::StatusOr<pid_t> pid = Spawn(argv, log_path, env);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  return absl::OkStatus();
}

int Kvsync::Stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = WaitExit(pid_, absl::Seconds(10));
  if (status == -1 && kill(pid_, 0) == 0) {  // still there (not reaped before)
    // Say what kvsync was doing (its signal masks and where it sleeps), then
    // make sure it is gone.
    std::string proc = absl::StrCat("/proc/", pid_);
    std::string diagnosis;
    for (absl::string_view line : absl::StrSplit(ReadFile(proc + "/status"), '\n')) {
      if (absl::StartsWith(line, "State") || absl::StartsWith(line, "Sig") ||
          absl::StartsWith(line, "ShdPnd") || absl::StartsWith(line, "Threads")) {
        absl::StrAppend(&diagnosis, "  ", line, "\n");
      }
    }
    absl::StrAppend(&diagnosis, "  wchan: ", ReadFile(proc + "/wchan"), "\n",
                    ReadFile(proc + "/stack"));
    std::fprintf(stderr, "kvsync (pid %d) did not exit within 10 s of signal %d:\n%s",
                 static_cast<int>(pid_), sig, diagnosis.c_str());
    kill(pid_, SIGKILL);
    WaitExit(pid_, absl::Seconds(10));
  }
  pid_ = -1;
  return status;
}

bool WaitSynced(Store& store, uint64_t resyncs, absl::Duration timeout) {
  return PollUntil(
      [&] {
        absl::StatusOr<near::SyncState> s = near::ReadSyncState(store);
        return s.ok() && s->synced() && s->resyncs >= resyncs;
      },
      timeout);
}

bool WaitInvalidationsApplied(Store& store, absl::Duration timeout) {
  const int64_t now_ms = near::MonotonicNowMs();
  return PollUntil(
      [&] {
        absl::StatusOr<near::SyncState> s = near::ReadSyncState(store);
        return s.ok() && s->synced() && s->heartbeat_ms > now_ms;
      },
      timeout);
}

absl::StatusOr<std::string> KvcliOutput(const std::string& args) {
  const std::string command = absl::StrCat(RunfilePath("tools/kvcli/kvcli"), " ", args);
  FILE* out = popen(command.c_str(), "r");
  if (out == nullptr) return absl::InternalError("popen failed for " + command);
  std::string printed;
  char buf[512];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), out)) > 0;) printed.append(buf, n);
  const int status = pclose(out);
  if (status != 0) {
    return absl::InternalError(
        absl::StrCat(command, " exited with status ", status, ": ", printed));
  }
  return printed;
}

bool WaitGone(Store& store, const std::string& key, absl::Duration timeout) {
  return PollUntil(
      [&] {
        absl::StatusOr<bool> c = store.Contains(key);
        return c.ok() && !*c;
      },
      timeout);
}

absl::Status Drain(Store& store, near::RedisConnection& client, const std::string& marker,
                   int round) {
  if (absl::Status s = store.Put(marker, "pending"); !s.ok()) return s;
  absl::StatusOr<near::RedisReply> r = client.Command({"SET", marker, absl::StrCat(round)});
  if (!r.ok()) return r.status();
  if (!r->IsString("OK")) return absl::InternalError("Redis refused the marker's SET");
  const bool applied = PollUntil(
      [&] {
        absl::StatusOr<bool> c = store.Contains(marker);
        return c.ok() && !*c;
      },
      absl::Seconds(5));
  if (!applied)
    return absl::DeadlineExceededError("kvsync did not apply an invalidation within 5 s");
  return absl::OkStatus();
}

absl::Status WriteSyncRecord(Store& store, near::SyncPhase phase, uint32_t epoch,
                             const std::string& run_id) {
  near::SyncState state;
  near::SetThisProcess(&state);
  state.boot_id = near::HostBootId();
  state.phase = phase;
  state.epoch = epoch;
  state.heartbeat_ms = near::MonotonicNowMs();
  state.heartbeat_interval_ms = 100;
  state.prefixes = {"p:"};
  state.redis_run_id = run_id;
  WriteOptions forever;
  forever.ttl = absl::InfiniteDuration();
  return store.Put(near::kSyncStateKey, near::FormatSyncState(state), forever);
}

absl::Status SetNumberedKeys(near::RedisConnection& client, const std::string& prefix, int count) {
  for (int start = 0; start < count; start += 500) {
    std::vector<std::string> mset = {"MSET"};
    for (int i = start; i < std::min(count, start + 500); ++i) {
      mset.push_back(absl::StrCat(prefix, i));
      mset.push_back(absl::StrCat("value of ", prefix, i));
    }
    absl::StatusOr<near::RedisReply> r = client.Command(mset);
    if (!r.ok()) return r.status();
    if (!r->IsString("OK")) return absl::InternalError("Redis refused MSET: " + r->Describe());
  }
  return absl::OkStatus();
}

absl::StatusOr<CachedComparison> CompareCachedWithRedis(Store& store, near::RedisConnection& client,
                                                        const std::string& prefix) {
  absl::StatusOr<near::SyncState> state = near::ReadSyncState(store);
  if (!state.ok()) return state.status();
  CachedComparison result;
  absl::Status failed;
  absl::Status walked =
      store.ForEach(prefix, [&](absl::string_view k, absl::string_view v, const EntryMeta& m) {
        if (m.flags != state->epoch) return true;  // never served
        ++result.cached;
        absl::StatusOr<near::RedisReply> r = client.Command({"GET", std::string(k)});
        if (!r.ok()) {
          failed = r.status();
          return false;
        }
        const std::string in_redis = r->type == near::RedisReply::Type::kString ? r->str : "<nil>";
        if (v != in_redis && ++result.wrong <= 3) {
          std::fprintf(stderr, "%.*s is cached as \"%.*s\", Redis holds \"%s\"\n",
                       static_cast<int>(k.size()), k.data(), static_cast<int>(v.size()), v.data(),
                       in_redis.c_str());
        }
        return true;
      });
  if (!walked.ok()) return walked;
  if (!failed.ok()) return failed;
  return result;
}

}  // namespace shmkv::neartest
