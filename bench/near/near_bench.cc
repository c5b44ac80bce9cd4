// near_bench: the near cache (shmkv in front of Redis, kept fresh by kvsync)
// against reading Redis directly, on the shared load generator
// (bench/engine/workload.h). Workload W6 of bench/run.sh.
//
//   near_bench --system=near --key=0xKEY --redis=unix:/run/redis.sock [--json]
//   near_bench --system=direct --redis=unix:/run/redis.sock [--json]
//   near_bench --system=direct --redis=cluster:127.0.0.1:7000 [--json]
//
// --redis takes what NearCache and kvsync take: one server, a Redis Cluster
// (cluster:HOST:PORT[,...]: direct reads and the preload go to the primary
// serving each key's slot, and the command counts are summed over the
// primaries) or a primary under Sentinel (sentinel:HOST:PORT[,...]/NAME:
// direct reads go to the primary the sentinels name).
//
// --system=near: every client thread reads through its own NearCache over
// the store at --key, which a running kvsync must keep in step with the same
// Redis (kvsync --key=0xKEY --redis=ADDR --prefix=kvb:); writes are
// NearCache::Set (write-through). --system=direct: one hiredis GET (or SET)
// per operation, as a plain Redis client does.
//
// Beyond the runner's report: Redis commands per operation, from INFO
// commandstats read as the measured phase starts and ends; for near, how
// each Get was served and how many Redis reads one per key per host (and one
// per key per process) would have made; and the staleness a write from
// elsewhere leaves on this host, measured by a probe (bench/README.md, W6).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "bench/engine/workload.h"
#include "bench/near/near_clients.h"
#include "bench/near/redis_target.h"
#include "bench/near/staleness_probe.h"
#include "bench/peers/redis_peer.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/util/json.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace bench {
namespace {

enum class System { kNear, kDirect };

struct NearFlags {
  System system = System::kNear;
  std::string redis;              // "unix:PATH" or "host:port"
  std::optional<StoreName> name;  // near: the store kvsync keeps
  absl::Duration probe_interval = absl::Milliseconds(10);
  bool prewarm = false;  // near: read every key once before the run
};

class NearBenchBackend final : public Backend {
 public:
  explicit NearBenchBackend(NearFlags flags) : flags_(std::move(flags)) {}
  ~NearBenchBackend() override { Unmap(); }
  std::string Name() const override {
    return flags_.system == System::kNear ? "near" : "redis_direct";
  }

  absl::Status Create(const WorkloadConfig& config) override {
    config_ = config;
    if (flags_.redis.empty()) {
      return absl::InvalidArgumentError(
          "--redis=unix:PATH (or host:port, cluster:HOST:PORT[,...], "
          "sentinel:HOST:PORT[,...]/MASTERNAME) is required");
    }
    absl::StatusOr<RedisTarget> target = RedisTarget::Resolve(flags_.redis);
    if (!target.ok()) return target.status();
    target_ = std::move(*target);
    const bool near = flags_.system == System::kNear;
    if (near && !flags_.name.has_value()) {
      return absl::InvalidArgumentError(
          "--system=near needs --key=0xKEY: the store kvsync keeps (kvcli create, then kvsync "
          "--key=0xKEY --redis=ADDR --prefix=PREFIX)");
    }
    if (near) {
      if (absl::Status s = Attach(); !s.ok()) return s;
      if (absl::Status s = CheckKvsync(); !s.ok()) return s;
    }
    map_bytes_ = sizeof(Shared) + (near ? sizeof(HostVersions) * config.keys : 0);
    void* mem =
        mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      map_bytes_ = 0;
      return absl::ResourceExhaustedError(absl::StrCat("mmap: ", std::strerror(errno)));
    }
    shared_ = new (mem) Shared();
    if (near) {
      host_ = reinterpret_cast<HostVersions*>(shared_ + 1);
      std::uninitialized_default_construct_n(host_, config.keys);
      if (flags_.prewarm) return Prewarm();
    }
    return absl::OkStatus();
  }

  // --prewarm: reads every key once through a NearCache (two threads), as a
  // long-running host has, so that the run measures the steady state rather
  // than the cold fills of a fresh cache. The keys must be in Redis already.
  absl::Status Prewarm() {
    const uint64_t t0 = platform::MonotonicNanos();
    constexpr int kThreads = 2;
    std::atomic<uint64_t> failed{0};
    std::string first_error;
    std::atomic<int> error_taken{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        near::NearCacheOptions options;
        options.redis = flags_.redis;
        absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
            near::NearCache::Create(store_.get(), options);
        KeyBuffer keys(config_);
        for (uint64_t k = static_cast<uint64_t>(t); k < config_.keys && failed == 0;
             k += kThreads) {
          absl::Status s = cache.ok() ? (*cache)->Get(keys.Of(k)).status() : cache.status();
          if (!s.ok() || StopRequested()) {
            if (failed++ == 0 && error_taken.exchange(1) == 0) {
              first_error = absl::IsNotFound(s) ? absl::StrCat("key ", keys.Of(k),
                                                               " is not in Redis: preload it first")
                                                : s.ToString();
            }
            break;
          }
          host_[k].read.store(1, std::memory_order_relaxed);  // version 0 read
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failed > 0) return absl::AbortedError(absl::StrCat("--prewarm: ", first_error));
    if (!config_.quiet) {
      std::fprintf(stderr, "near: prewarmed %llu keys in %.1f s\n",
                   static_cast<unsigned long long>(config_.keys),
                   static_cast<double>(platform::MonotonicNanos() - t0) / 1e9);
    }
    return absl::OkStatus();
  }

  absl::Status Attach() override {
    if (flags_.system == System::kDirect || store_ != nullptr) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<Store>> s =
        Store::Open(*flags_.name, Options(), OpenMode::kAttach);
    if (!s.ok()) {
      return absl::Status(s.status().code(),
                          absl::StrCat("the near cache's store (--key): ", s.status().message(),
                                       " (create it with kvcli create and start kvsync on it)"));
    }
    store_ = std::move(*s);
    if (host_ != nullptr) {
      // This process's read generations (see Shared), starting from what the
      // host has read (--prewarm): a cache per process warmed the same way.
      process_read_.reset(new std::atomic<uint16_t>[config_.keys]());
      for (uint64_t k = 0; k < config_.keys; ++k) {
        process_read_[k].store(host_[k].read.load(std::memory_order_relaxed),
                               std::memory_order_relaxed);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    if (flags_.system == System::kDirect) {
      absl::StatusOr<std::unique_ptr<Client>> c = target_->NewGetSetClient();
      if (!c.ok()) return c.status();
      return std::unique_ptr<Client>(new CountingClient(std::move(*c), shared_));
    }
    near::NearCacheOptions options;
    options.redis = flags_.redis;
    absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
        near::NearCache::Create(store_.get(), options);
    if (!cache.ok()) return cache.status();
    return std::unique_ptr<Client>(
        new CountingClient(std::make_unique<NearClient>(std::move(*cache), shared_, host_,
                                                        process_read_.get(), config_.prefix.size()),
                           shared_));
  }

  void Detach() override {
    store_.reset();
    process_read_.reset();
  }

  absl::Status Preload(const Workload& workload, const ProgressFn& progress) override {
    return target_->Preload(workload, progress);
  }

  void MeasureStarted() override {
    absl::StatusOr<std::map<std::string, uint64_t>> calls = target_->CommandCalls();
    if (calls.ok()) calls_before_ = std::move(*calls);
    shared_->measuring.store(1);
    if (flags_.system == System::kNear) {
      probe_.Start(*flags_.name, flags_.redis, *target_, config_.prefix, flags_.probe_interval,
                   std::string(config_.value_min, 'p'));
    }
  }

  void MeasureEnded() override {
    shared_->measuring.store(0);
    probe_result_ = probe_.Stop();
    absl::StatusOr<std::map<std::string, uint64_t>> calls = target_->CommandCalls();
    if (calls.ok()) calls_after_ = std::move(*calls);
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    fields->emplace_back("redis", util::JsonString(flags_.redis));
    fields->emplace_back("redis_primaries", absl::StrCat(target_->primaries().size()));
    // Commands in the measured phase, summed over the primaries: all but the
    // INFO that read them and the probe's (kvsync's heartbeat commands, 20-30
    // a second per primary, are included, and under Sentinel the
    // sentinels' own).
    uint64_t commands = 0;
    for (const auto& [name, n] : calls_after_) {
      if (name != "info") commands += n - Before(name);
    }
    const uint64_t probe_commands = probe_result_.redis_sets + probe_result_.redis_gets;
    commands -= std::min(commands, probe_commands);
    const uint64_t gets = Count(calls_after_, "get") - Before("get") - probe_result_.redis_gets;
    const uint64_t ops = shared_->ops;
    fields->emplace_back("counted_ops", absl::StrCat(ops));
    fields->emplace_back("redis_commands", absl::StrCat(commands));
    fields->emplace_back("redis_gets", absl::StrCat(gets));
    fields->emplace_back("redis_commands_per_op", PerOp(commands, ops));
    fields->emplace_back("redis_gets_per_op", PerOp(gets, ops));
    if (flags_.system == System::kNear) {
      const uint64_t h = shared_->hits, f = shared_->fills, s = shared_->shared,
                     d = shared_->direct;
      fields->emplace_back("near_hits", absl::StrCat(h));
      fields->emplace_back("near_fills", absl::StrCat(f));
      fields->emplace_back("near_shared", absl::StrCat(s));
      fields->emplace_back("near_direct", absl::StrCat(d));
      fields->emplace_back(
          "near_hit_ratio",
          h + f + s + d
              ? absl::StrFormat("%.4f", static_cast<double>(h) / static_cast<double>(h + f + s + d))
              : "null");
      if (shared_->bypass_reason[0] != '\0') {
        fields->emplace_back("bypass_reason", util::JsonString(shared_->bypass_reason));
      }
      const uint64_t host = shared_->host_versions, procs = shared_->process_versions;
      fields->emplace_back("first_reads_per_host", absl::StrCat(host));
      fields->emplace_back("first_reads_per_process", absl::StrCat(procs));
      fields->emplace_back(
          "redis_gets_per_first_read_per_host",
          host ? absl::StrFormat("%.3f", static_cast<double>(gets) / static_cast<double>(host))
               : "null");
      const StalenessProbe::Result& p = probe_result_;
      fields->emplace_back("staleness_samples", absl::StrCat(p.from_send_ns.size()));
      fields->emplace_back("staleness_skipped", absl::StrCat(p.skipped));
      fields->emplace_back("staleness_timeouts", absl::StrCat(p.timeouts));
      if (!p.from_send_ns.empty()) {
        fields->emplace_back("staleness_p50_us",
                             absl::StrFormat("%.1f", PercentileUs(p.from_send_ns, 50)));
        fields->emplace_back("staleness_p99_us",
                             absl::StrFormat("%.1f", PercentileUs(p.from_send_ns, 99)));
        fields->emplace_back("staleness_max_us",
                             absl::StrFormat("%.1f", PercentileUs(p.from_send_ns, 100)));
        fields->emplace_back("staleness_from_ack_p99_us",
                             absl::StrFormat("%.1f", PercentileUs(p.from_ack_ns, 99)));
      } else {
        fields->emplace_back("staleness_p99_us", "null");
      }
      if (!p.error.empty()) {
        fields->emplace_back("probe_error", util::JsonString(p.error));
      }
    }
  }

  void Destroy() override {
    probe_.Stop();
    Detach();
    Unmap();
  }

  // Whether the probe failed or missed invalidations (near_bench then exits 1).
  bool ProbeFailed() const {
    return !probe_result_.error.empty() || probe_result_.timeouts > 0 ||
           (flags_.system == System::kNear && probe_result_.from_send_ns.empty());
  }

 private:
  static std::string PerOp(uint64_t n, uint64_t ops) {
    return ops ? absl::StrFormat("%.5f", static_cast<double>(n) / static_cast<double>(ops))
               : "null";
  }
  uint64_t Before(const std::string& name) const { return Count(calls_before_, name); }
  static uint64_t Count(const std::map<std::string, uint64_t>& calls, const std::string& name) {
    auto it = calls.find(name);
    return it == calls.end() ? 0 : it->second;
  }

  // kvsync must be running, synced and tracking the workload's keys.
  absl::Status CheckKvsync() {
    const std::string start = absl::StrCat("start it: kvsync --key=0x",
                                           absl::Hex(static_cast<uint32_t>(flags_.name->key())),
                                           " --redis=", flags_.redis, " --prefix=", config_.prefix);
    // kvsync may have just started: give it 5 s to connect and write its record.
    absl::StatusOr<near::SyncState> state;
    near::SyncHealth health;
    for (int i = 0; i < 50; ++i) {
      if (i > 0) usleep(100000);
      state = near::ReadSyncState(*store_);
      if (state.ok()) health = near::EvaluateSync(*state, absl::Seconds(1));
      if (health.serving || (!state.ok() && !absl::IsNotFound(state.status()))) break;
    }
    if (!state.ok()) {
      return absl::FailedPreconditionError(
          absl::IsNotFound(state.status())
              ? absl::StrCat("no kvsync keeps this store; ", start)
              : absl::StrCat("kvsync's record: ", state.status().message(), "; ", start));
    }
    if (!health.serving) {
      return absl::FailedPreconditionError(
          absl::StrCat("kvsync is not serving this store: ", health.reason, "; ", start));
    }
    if (!state->Tracks(config_.prefix)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "kvsync does not track the workload's prefix \"", config_.prefix, "\"; ", start));
    }
    return absl::OkStatus();
  }

  void Unmap() {
    if (shared_ != nullptr) munmap(shared_, map_bytes_);
    shared_ = nullptr;
    host_ = nullptr;
  }

  NearFlags flags_;
  WorkloadConfig config_;
  std::unique_ptr<Store> store_;
  Shared* shared_ = nullptr;
  size_t map_bytes_ = 0;
  HostVersions* host_ = nullptr;
  std::unique_ptr<std::atomic<uint16_t>[]> process_read_;
  std::optional<RedisTarget> target_;  // resolved by Create
  std::map<std::string, uint64_t> calls_before_, calls_after_;
  StalenessProbe probe_;
  StalenessProbe::Result probe_result_;
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  WorkloadConfig defaults;
  defaults.procs = 2;
  defaults.keys = 1000000;
  defaults.read_pct = 99;
  defaults.zipf = true;
  defaults.zipf_theta = 0.99;
  NearFlags near_flags;
  const auto add_flags = [&](FlagSet* flags, WorkloadConfig* config) {
    flags->Value("system", "near|direct", "what to measure (default near)",
                 [&near_flags](absl::string_view v) -> absl::Status {
                   if (v == "near") {
                     near_flags.system = System::kNear;
                   } else if (v == "direct") {
                     near_flags.system = System::kDirect;
                   } else {
                     return absl::InvalidArgumentError("use near or direct");
                   }
                   return absl::OkStatus();
                 });
    flags->String("redis", "ADDR",
                  "Redis: unix:PATH, host:port, cluster:HOST:PORT[,...] or "
                  "sentinel:HOST:PORT[,...]/MASTERNAME (required)",
                  &near_flags.redis);
    flags->Parsed("key", "0xKEY", "near: the store kvsync keeps in step with --redis",
                  &shmkv::StoreName::ParseKey, &near_flags.name);
    flags->Value("write-pct", "P",
                 "percent of operations that are Set (default 1; --read-pct's rest)",
                 [config](absl::string_view v) -> absl::Status {
                   double p;
                   if (!absl::SimpleAtod(absl::StripSuffix(v, "%"), &p) || !(p >= 0 && p <= 100)) {
                     return absl::InvalidArgumentError("must be 0..100");
                   }
                   config->read_pct = 100 - p;
                   return absl::OkStatus();
                 });
    flags->Value("zipf", "THETA", "zipf key popularity (default 0.99; --dist=uniform for none)",
                 [config](absl::string_view v) -> absl::Status {
                   double theta;
                   if (!absl::SimpleAtod(v, &theta) || !(theta > 0 && theta < 1)) {
                     return absl::InvalidArgumentError("zipf theta must be in (0, 1)");
                   }
                   config->zipf = true;
                   config->zipf_theta = theta;
                   return absl::OkStatus();
                 });
    flags->Duration("probe-interval", "near: time between staleness probes (default 10ms)",
                    &near_flags.probe_interval);
    flags->Bool("prewarm",
                "near: read every key once through the near cache before the run (not measured), "
                "so that the run measures a warm cache",
                &near_flags.prewarm);
  };
  return DriverMain(
      argc, argv, "near_bench",
      "The near cache (--system=near: NearCache over a store kvsync keeps) against\n"
      "direct Redis reads (--system=direct: one hiredis GET per op). Defaults: W6 (2\n"
      "processes, 1M keys, zipf 0.99, 1% writes). The last stdout line is one JSON\n"
      "object with --json.",
      defaults, add_flags, [&](const WorkloadConfig& config) {
        NearBenchBackend backend(near_flags);
        const int rc = RunBenchmark(&backend, config);
        if (rc == 0 && backend.ProbeFailed()) {
          std::fprintf(stderr,
                       "near_bench: the staleness probe failed or saw an invalidation take over "
                       "2 s (see probe_error / staleness_timeouts)\n");
          return 1;
        }
        return rc;
      });
}
