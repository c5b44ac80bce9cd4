// near_bench: the near cache (shmkv in front of Redis, kept fresh by kvsync)
// against reading Redis directly, on the shared load generator
// (bench/workload.h). Workload W6 of bench/run.sh.
//
//   near_bench --system=near --key=0xKEY --redis=unix:/run/redis.sock [--json]
//   near_bench --system=direct --redis=unix:/run/redis.sock [--json]
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
#include <sched.h>
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
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "bench/redis_peer.h"
#include "bench/workload.h"
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

// What the clients of every process add up, in one anonymous shared mapping
// made before the fork. For near, two arrays of `keys` entries follow it:
// each key's write generation (bumped after every Set) and the generation
// last read on the host (generation + 1; 0 = never). A Get that finds the host's entry
// behind the key's generation is the first read of that version of the key
// on the host: with one Redis read per key per host between invalidations,
// Redis GETs equal those first reads. Each process keeps the same array for
// itself: its first reads are what a cache per process would have fetched.
struct Shared {
  std::atomic<int> measuring{0};
  std::atomic<uint64_t> ops{0};  // while measuring (the window the commands are counted in)
  std::atomic<uint64_t> hits{0}, fills{0}, shared{0}, direct{0};
  std::atomic<uint64_t> host_versions{0}, process_versions{0};
  std::atomic<int> reason_taken{0};
  char bypass_reason[200] = {};
};

// Key i from its text: the zero-padded number after the prefix.
uint64_t KeyIndex(absl::string_view key, size_t prefix_size) {
  uint64_t i = 0;
  for (size_t p = prefix_size; p < key.size(); ++p)
    i = i * 10 + static_cast<uint64_t>(key[p] - '0');
  return i;
}

// Counts the operations done while measuring (both systems).
class CountingClient final : public Client {
 public:
  CountingClient(std::unique_ptr<Client> client, Shared* shared)
      : client_(std::move(client)), shared_(shared) {}
  ~CountingClient() override { shared_->ops += ops_; }
  OpResult Get(absl::string_view key, std::string* value) override {
    ops_ += shared_->measuring.load(std::memory_order_relaxed);
    return client_->Get(key, value);
  }
  OpResult Put(absl::string_view key, absl::string_view value) override {
    ops_ += shared_->measuring.load(std::memory_order_relaxed);
    return client_->Put(key, value);
  }
  std::string LastError() const override { return client_->LastError(); }

 private:
  std::unique_ptr<Client> client_;
  Shared* shared_;
  uint64_t ops_ = 0;
};

class NearClient final : public Client {
 public:
  NearClient(std::unique_ptr<near::NearCache> cache, Shared* shared, std::atomic<uint16_t>* written,
             std::atomic<uint16_t>* host_read, std::atomic<uint16_t>* process_read,
             size_t prefix_size)
      : cache_(std::move(cache)),
        shared_(shared),
        written_(written),
        host_read_(host_read),
        process_read_(process_read),
        prefix_size_(prefix_size) {}

  ~NearClient() override {
    shared_->hits += hits_;
    shared_->fills += fills_;
    shared_->shared += shared_fills_;
    shared_->direct += direct_;
    shared_->host_versions += host_versions_;
    shared_->process_versions += process_versions_;
  }

  OpResult Get(absl::string_view key, std::string* value) override {
    near::ReadInfo info;
    absl::StatusOr<std::string> v = cache_->Get(key, &info);
    if (!v.ok()) {
      if (absl::IsNotFound(v.status())) return OpResult::kMiss;
      error_ = v.status().ToString();
      return OpResult::kError;
    }
    const bool measuring = shared_->measuring.load(std::memory_order_relaxed) != 0;
    const uint64_t k = KeyIndex(key, prefix_size_);
    const uint16_t version = static_cast<uint16_t>(written_[k].load(std::memory_order_relaxed) + 1);
    if (FirstRead(&host_read_[k], version) && measuring) ++host_versions_;
    if (FirstRead(&process_read_[k], version) && measuring) ++process_versions_;
    if (measuring) {
      switch (info.path) {
        case near::ReadPath::kHit:
          ++hits_;
          break;
        case near::ReadPath::kFilled:
          ++fills_;
          break;
        case near::ReadPath::kShared:
          ++shared_fills_;
          break;
        case near::ReadPath::kDirect:
          if (direct_++ == 0 && shared_->reason_taken.exchange(1) == 0) {
            std::snprintf(shared_->bypass_reason, sizeof(shared_->bypass_reason), "%s",
                          info.bypass_reason.c_str());
          }
          break;
      }
    }
    value->swap(*v);
    return OpResult::kHit;
  }

  OpResult Put(absl::string_view key, absl::string_view value) override {
    absl::Status s = cache_->Set(key, value);
    if (!s.ok()) {
      error_ = s.ToString();
      return OpResult::kError;
    }
    written_[KeyIndex(key, prefix_size_)].fetch_add(1, std::memory_order_relaxed);
    return OpResult::kOk;
  }

  std::string LastError() const override { return error_; }

 private:
  static bool FirstRead(std::atomic<uint16_t>* seen, uint16_t version) {
    uint16_t was = seen->load(std::memory_order_relaxed);
    return was != version && seen->compare_exchange_strong(was, version);
  }

  std::unique_ptr<near::NearCache> cache_;
  Shared* shared_;
  std::atomic<uint16_t>*written_, *host_read_, *process_read_;
  size_t prefix_size_;
  uint64_t hits_ = 0, fills_ = 0, shared_fills_ = 0, direct_ = 0;
  uint64_t host_versions_ = 0, process_versions_ = 0;
  std::string error_;
};

// Staleness on this host after a write made elsewhere (another host, or a
// writer not using this store): one probe every --probe-interval, on keys of
// its own under the workload's prefix that nothing else touches. Each probe
// fills its key through a NearCache, checks that the store holds it, sends
// a plain SET to Redis (what NearCache::Set on another host sends; its local
// delete happens on that host's store) and polls this store until kvsync
// has deleted the entry. Staleness is from the SET being sent (an upper
// bound: it includes the request's trip to Redis) and, as a lower bound,
// from its reply, which may come after the delete (then 0). The poll
// yields the CPU between looks (Store::Contains, well under a microsecond).
class StalenessProbe {
 public:
  struct Result {
    std::vector<uint64_t> from_send_ns, from_ack_ns;
    uint64_t skipped = 0, timeouts = 0, redis_sets = 0, redis_gets = 0;
    std::string error;
  };

  void Start(const StoreName& name, const std::string& redis, const std::string& prefix,
             absl::Duration interval, std::string value) {
    thread_ = std::thread([this, name, redis, prefix, interval, v = std::move(value)] {
      Run(name, redis, prefix, interval, v);
    });
  }
  // Stops and joins the thread; returns what it measured.
  Result Stop() {
    if (thread_.joinable()) {
      stop_.Notify();
      thread_.join();
    }
    return std::move(result_);
  }
  ~StalenessProbe() { Stop(); }

 private:
  void Run(const StoreName& name, const std::string& redis, const std::string& prefix,
           absl::Duration interval, const std::string& value) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(name, Options(), OpenMode::kAttach);
    if (!store.ok()) {
      result_.error = absl::StrCat("probe: ", store.status().ToString());
      return;
    }
    near::NearCacheOptions options;
    options.redis = redis;
    absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
        near::NearCache::Create(store->get(), options);
    absl::StatusOr<RedisContextPtr> writer = ConnectRedis(redis);
    if (!cache.ok() || !writer.ok()) {
      result_.error =
          absl::StrCat("probe: ", (cache.ok() ? writer.status() : cache.status()).ToString());
      return;
    }
    constexpr int kKeys = 16;
    std::vector<std::string> keys;
    for (int i = 0; i < kKeys; ++i) {
      keys.push_back(absl::StrCat(prefix, "probe:", i));
      if (!Set(writer->get(), keys.back(), value)) return;
    }
    // Let kvsync apply the invalidations of those first SETs.
    if (stop_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) return;
    for (uint64_t n = 0;; ++n) {
      const std::string& key = keys[n % kKeys];
      Probe(store->get(), cache->get(), writer->get(), key, value);
      if (!result_.error.empty()) break;
      if (stop_.WaitForNotificationWithTimeout(interval)) break;
    }
    result_.redis_gets = (*cache)->Stats().redis_reads;
  }

  bool Set(redisContext* c, absl::string_view key, absl::string_view value) {
    ++result_.redis_sets;
    absl::StatusOr<RedisReplyPtr> r = RedisRun(c, {"SET", key, value});
    if (!r.ok()) result_.error = absl::StrCat("probe SET: ", r.status().ToString());
    return r.ok();
  }

  void Probe(Store* store, near::NearCache* cache, redisContext* writer, const std::string& key,
             const std::string& value) {
    near::ReadInfo info;
    absl::StatusOr<std::string> v = cache->Get(key, &info);
    if (!v.ok() || info.path == near::ReadPath::kDirect) {  // kvsync not serving now
      ++result_.skipped;
      return;
    }
    absl::StatusOr<bool> held = store->Contains(key);
    if (!held.ok() || !*held) {  // a late invalidation took it already
      ++result_.skipped;
      return;
    }
    const uint64_t t0 = MonotonicNanos();
    if (!Set(writer, key, value)) return;
    const uint64_t ack = MonotonicNanos();
    for (;;) {
      held = store->Contains(key);
      const uint64_t now = MonotonicNanos();
      if (held.ok() && !*held) {
        result_.from_send_ns.push_back(now - t0);
        result_.from_ack_ns.push_back(now > ack ? now - ack : 0);
        return;
      }
      if (now - t0 > 2000000000ULL) {  // no invalidation within 2 s
        ++result_.timeouts;
        return;
      }
      sched_yield();
    }
  }

  std::thread thread_;
  absl::Notification stop_;
  Result result_;
};

double Percentile(std::vector<uint64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100 * static_cast<double>(v.size()));
  if (i >= v.size()) i = v.size() - 1;
  return static_cast<double>(v[i]) / 1e3;
}

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
      return absl::InvalidArgumentError("--redis=unix:PATH (or host:port) is required");
    }
    if (absl::Status s = AwaitRedis(flags_.redis); !s.ok()) return s;
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
    map_bytes_ = sizeof(Shared) + (near ? 2 * sizeof(std::atomic<uint16_t>) * config.keys : 0);
    void* mem =
        mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      map_bytes_ = 0;
      return absl::ResourceExhaustedError(absl::StrCat("mmap: ", std::strerror(errno)));
    }
    shared_ = new (mem) Shared();
    if (near) {
      written_ = reinterpret_cast<std::atomic<uint16_t>*>(shared_ + 1);
      host_read_ = written_ + config.keys;
      if (flags_.prewarm) return Prewarm();
    }
    return absl::OkStatus();
  }

  // --prewarm: reads every key once through a NearCache (two threads), as a
  // long-running host has, so that the run measures the steady state rather
  // than the cold fills of a fresh cache. The keys must be in Redis already.
  absl::Status Prewarm() {
    const uint64_t t0 = MonotonicNanos();
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
          host_read_[k].store(1, std::memory_order_relaxed);  // version 0 read
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failed > 0) return absl::AbortedError(absl::StrCat("--prewarm: ", first_error));
    if (!config_.quiet) {
      std::fprintf(stderr, "near: prewarmed %llu keys in %.1f s\n",
                   static_cast<unsigned long long>(config_.keys),
                   static_cast<double>(MonotonicNanos() - t0) / 1e9);
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
    if (host_read_ != nullptr) {
      // This process's read generations (see Shared), starting from what the
      // host has read (--prewarm): a cache per process warmed the same way.
      process_read_.reset(new std::atomic<uint16_t>[config_.keys]());
      for (uint64_t k = 0; k < config_.keys; ++k) {
        process_read_[k].store(host_read_[k].load(std::memory_order_relaxed),
                               std::memory_order_relaxed);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    if (flags_.system == System::kDirect) {
      absl::StatusOr<RedisContextPtr> c = ConnectRedis(flags_.redis);
      if (!c.ok()) return c.status();
      return std::unique_ptr<Client>(
          new CountingClient(std::make_unique<RedisGetSetClient>(std::move(*c)), shared_));
    }
    near::NearCacheOptions options;
    options.redis = flags_.redis;
    absl::StatusOr<std::unique_ptr<near::NearCache>> cache =
        near::NearCache::Create(store_.get(), options);
    if (!cache.ok()) return cache.status();
    return std::unique_ptr<Client>(new CountingClient(
        std::make_unique<NearClient>(std::move(*cache), shared_, written_, host_read_,
                                     process_read_.get(), config_.prefix.size()),
        shared_));
  }

  void Detach() override {
    store_.reset();
    process_read_.reset();
  }

  absl::Status Preload(const Workload& workload, const ProgressFn& progress) override {
    return PreloadRedis(flags_.redis, workload, progress);
  }

  void MeasureStarted() override {
    absl::StatusOr<std::map<std::string, uint64_t>> calls = RedisCommandCalls(flags_.redis);
    if (calls.ok()) calls_before_ = std::move(*calls);
    shared_->measuring.store(1);
    if (flags_.system == System::kNear) {
      probe_.Start(*flags_.name, flags_.redis, config_.prefix, flags_.probe_interval,
                   std::string(config_.value_min, 'p'));
    }
  }

  void MeasureEnded() override {
    shared_->measuring.store(0);
    probe_result_ = probe_.Stop();
    absl::StatusOr<std::map<std::string, uint64_t>> calls = RedisCommandCalls(flags_.redis);
    if (calls.ok()) calls_after_ = std::move(*calls);
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    fields->emplace_back("redis", util::JsonString(flags_.redis));
    // Commands in the measured phase: all but the INFO that read them and
    // the probe's (kvsync's PINGs, 20 a second, are included).
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
                             absl::StrFormat("%.1f", Percentile(p.from_send_ns, 50)));
        fields->emplace_back("staleness_p99_us",
                             absl::StrFormat("%.1f", Percentile(p.from_send_ns, 99)));
        fields->emplace_back("staleness_max_us",
                             absl::StrFormat("%.1f", Percentile(p.from_send_ns, 100)));
        fields->emplace_back("staleness_from_ack_p99_us",
                             absl::StrFormat("%.1f", Percentile(p.from_ack_ns, 99)));
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
    written_ = host_read_ = nullptr;
  }

  NearFlags flags_;
  WorkloadConfig config_;
  std::unique_ptr<Store> store_;
  Shared* shared_ = nullptr;
  size_t map_bytes_ = 0;
  std::atomic<uint16_t>*written_ = nullptr, *host_read_ = nullptr;
  std::unique_ptr<std::atomic<uint16_t>[]> process_read_;
  std::map<std::string, uint64_t> calls_before_, calls_after_;
  StalenessProbe probe_;
  StalenessProbe::Result probe_result_;
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  WorkloadConfig config;
  config.procs = 2;
  config.keys = 1000000;
  config.read_pct = 99;
  config.zipf = true;
  config.zipf_theta = 0.99;
  NearFlags near_flags;
  FlagSet flags("near_bench",
                "The near cache (--system=near: NearCache over a store kvsync keeps) against\n"
                "direct Redis reads (--system=direct: one hiredis GET per op). Defaults: W6 (2\n"
                "processes, 1M keys, zipf 0.99, 1% writes). The last stdout line is one JSON\n"
                "object with --json.");
  AddWorkloadFlags(&flags, &config);
  flags.Value("system", "near|direct", "what to measure (default near)",
              [&](absl::string_view v) -> absl::Status {
                if (v == "near") {
                  near_flags.system = System::kNear;
                } else if (v == "direct") {
                  near_flags.system = System::kDirect;
                } else {
                  return absl::InvalidArgumentError("use near or direct");
                }
                return absl::OkStatus();
              });
  flags.String("redis", "ADDR", "Redis: unix:PATH or host:port (required)", &near_flags.redis);
  flags.Value("key", "0xKEY", "near: the store kvsync keeps in step with --redis",
              [&](absl::string_view v) -> absl::Status {
                auto name = shmkv::StoreName::ParseKey(v);
                if (!name.ok()) return name.status();
                near_flags.name = *name;
                return absl::OkStatus();
              });
  flags.Value("write-pct", "P", "percent of operations that are Set (default 1; --read-pct's rest)",
              [&](absl::string_view v) -> absl::Status {
                double p;
                if (!absl::SimpleAtod(absl::StripSuffix(v, "%"), &p) || !(p >= 0 && p <= 100)) {
                  return absl::InvalidArgumentError("must be 0..100");
                }
                config.read_pct = 100 - p;
                return absl::OkStatus();
              });
  flags.Value("zipf", "THETA", "zipf key popularity (default 0.99; --dist=uniform for none)",
              [&](absl::string_view v) -> absl::Status {
                double theta;
                if (!absl::SimpleAtod(v, &theta) || !(theta > 0 && theta < 1)) {
                  return absl::InvalidArgumentError("zipf theta must be in (0, 1)");
                }
                config.zipf = true;
                config.zipf_theta = theta;
                return absl::OkStatus();
              });
  flags.Duration("probe-interval", "near: time between staleness probes (default 10ms)",
                 &near_flags.probe_interval);
  flags.Bool("prewarm",
             "near: read every key once through the near cache before the run (not measured), "
             "so that the run measures a warm cache",
             &near_flags.prewarm);
  flags.ParseOrExit(argc, argv);
  NearBenchBackend backend(near_flags);
  const int rc = RunBenchmark(&backend, config);
  if (rc == 0 && backend.ProbeFailed()) {
    std::fprintf(stderr,
                 "near_bench: the staleness probe failed or saw an invalidation take over 2 s "
                 "(see probe_error / staleness_timeouts)\n");
    return 1;
  }
  return rc;
}
