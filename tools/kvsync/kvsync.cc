// kvsync: keeps one shmkv store, used as a host's near cache in front of
// Redis (kv/near), in step with Redis's invalidation messages. Run one per
// host and store:
//
//   kvsync --key=0x5f3e0001 --redis=unix:/run/redis/redis.sock --prefix=user:
//   kvsync --key=0x5f3e0001 --redis=cluster:10.0.0.1:7000,10.0.0.2:7000 --prefix=user:
//   kvsync --key=0x5f3e0001 --redis=sentinel:10.0.0.1:26379,10.0.0.2:26379/mymaster \
//          --prefix=user:
//
// It attaches the store (create it first, e.g. with kvcli create), follows
// Redis until SIGTERM or SIGINT, logs one line per state change to stderr,
// and records its state in the store (shmkv/near/sync_state.h). Exit codes:
// 0 stopped by a signal, 1 error, 2 usage.
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "kv/near/sentinel.h"
#include "kv/near/slot_map.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tools/kvsync/syncer.h"

namespace {

constexpr char kUsage[] =
    "usage: kvsync --key=KEY|--path=FILE [--proj=N] "
    "--redis=unix:/path|host:port|cluster:host:port[,host:port...]"
    "|sentinel:host:port[,host:port...]/MASTERNAME --prefix=P [--prefix=Q ...]";

int Usage(const std::string& message) {
  std::fprintf(stderr, "kvsync: %s\n%s\n", message.c_str(), kUsage);
  return 2;
}

// The command line, parsed.
struct Args {
  std::string key_text, path, redis_text;
  int proj = 1;
  bool have_proj = false;
  std::vector<std::string> prefixes;
};

// Parses one argument into *args. -1 to go on; otherwise the exit code
// (0 after --help, 2 after a usage error).
int ParseArg(absl::string_view arg, Args* args) {
  if (arg == "--help" || arg == "-h") {
    std::printf(
        "%s\n\nKeeps a shmkv store, used as a near cache in front of Redis, in step with\n"
        "Redis's invalidations (CLIENT TRACKING BCAST). One per host and store.\n"
        "--redis=cluster:HOST:PORT[,HOST:PORT...] follows a Redis Cluster: any of its\n"
        "nodes will do; kvsync tracks on every primary and is synced only while all do.\n"
        "--redis=sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME follows the primary the\n"
        "sentinels name for MASTERNAME (one that answers ROLE as a primary): the start\n"
        "of a failover (+try-failover), a +switch-master, a primary that answers as a\n"
        "replica or a sentinel connection lost is a loss (clear, wait until no sentinel\n"
        "is failing it over, ask the sentinels again, resubscribe).\n"
        "Before saying synced it clears the prefixes: at once on a store that holds\n"
        "nothing else, otherwise a walk of the whole index (about a second per GiB of\n"
        "capacity); readers read Redis directly until then. See doc/near_cache.md.\n",
        kUsage);
    return 0;
  }
  if (absl::ConsumePrefix(&arg, "--key=")) {
    args->key_text = std::string(arg);
  } else if (absl::ConsumePrefix(&arg, "--path=")) {
    args->path = std::string(arg);
  } else if (absl::ConsumePrefix(&arg, "--proj=")) {
    args->have_proj = true;
    if (!absl::SimpleAtoi(arg, &args->proj) || args->proj < 1 || args->proj > 255) {
      return Usage(absl::StrCat("bad --proj \"", arg, "\": want 1..255"));
    }
  } else if (absl::ConsumePrefix(&arg, "--redis=")) {
    args->redis_text = std::string(arg);
  } else if (absl::ConsumePrefix(&arg, "--prefix=")) {
    if (arg.empty()) {
      return Usage("--prefix must not be empty (tracking every key would include other data)");
    }
    for (const std::string& p : args->prefixes) {
      if (absl::StartsWith(arg, p) || absl::StartsWith(p, arg)) {
        return Usage(absl::StrCat("prefixes \"", p, "\" and \"", arg,
                                  "\" overlap; Redis refuses overlapping prefixes: keep one"));
      }
    }
    args->prefixes.emplace_back(arg);
  } else {
    return Usage(absl::StrCat("unknown argument \"", arg, "\""));
  }
  return -1;
}

// SIGTERM and SIGINT are blocked and read from a signalfd the main loop
// polls: no handler runs asynchronously, so none can be lost between a
// check and a wait, and a mask inherited from the parent changes nothing.
// The signalfd, or -1 after reporting.
int BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
    std::fprintf(stderr, "kvsync: error: cannot block SIGTERM and SIGINT: %s\n",
                 std::strerror(errno));
    return -1;
  }
  const int stop_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (stop_fd < 0) {
    std::fprintf(stderr, "kvsync: error: signalfd: %s\n", std::strerror(errno));
    return -1;
  }
  return stop_fd;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    if (int code = ParseArg(argv[i], &args); code >= 0) return code;
  }
  if (args.key_text.empty() == args.path.empty()) {
    return Usage("give exactly one of --key and --path");
  }
  if (args.have_proj && args.path.empty()) return Usage("--proj goes with --path");
  if (args.redis_text.empty()) return Usage("--redis is required");
  if (args.prefixes.empty()) return Usage("give at least one --prefix");

  absl::StatusOr<shmkv::StoreName> name = args.key_text.empty()
                                              ? shmkv::StoreName::FromPath(args.path, args.proj)
                                              : shmkv::StoreName::ParseKey(args.key_text);
  if (!name.ok()) return Usage(std::string(name.status().message()));
  shmkv::kvsync::SyncerConfig config;
  if (shmkv::near::IsSentinelTarget(args.redis_text)) {
    absl::StatusOr<shmkv::near::SentinelTarget> sentinel =
        shmkv::near::ParseSentinelTarget(args.redis_text);
    if (!sentinel.ok()) return Usage(absl::StrCat("--redis: ", sentinel.status().message()));
    config.sentinel = *std::move(sentinel);
  } else if (shmkv::near::IsClusterTarget(args.redis_text)) {
    absl::StatusOr<std::vector<shmkv::near::RedisAddress>> seeds =
        shmkv::near::ParseClusterSeeds(args.redis_text);
    if (!seeds.ok()) return Usage(absl::StrCat("--redis: ", seeds.status().message()));
    config.cluster_seeds = *std::move(seeds);
  } else {
    absl::StatusOr<shmkv::near::RedisAddress> redis =
        shmkv::near::ParseRedisAddress(args.redis_text);
    if (!redis.ok()) return Usage(std::string(redis.status().message()));
    config.redis = *std::move(redis);
  }

  const int stop_fd = BlockStopSignals();
  if (stop_fd < 0) return 1;
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
      shmkv::Store::Open(*name, shmkv::Options(), shmkv::OpenMode::kAttach);
  if (!store.ok()) {
    std::fprintf(
        stderr, "kvsync: error: opening %s: %s%s\n", name->ToString().c_str(),
        std::string(store.status().message()).c_str(),
        absl::IsNotFound(store.status()) ? " (create it first, e.g. with kvcli create)" : "");
    return 1;
  }
  config.prefixes = args.prefixes;
  config.store_name = name->ToString();
  shmkv::kvsync::Syncer syncer(store->get(), config);
  absl::Status result = syncer.Run(stop_fd);
  if (!result.ok()) {
    std::fprintf(stderr, "kvsync: error: %s\n", std::string(result.message()).c_str());
    return 1;
  }
  return 0;
}
