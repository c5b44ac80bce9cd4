// kvbench: a multi-process load generator for shmkv, in the spirit of
// redis-benchmark and memtier_benchmark.
//
//   kvbench --procs=2 --threads=1 --keys=1M --value-size=100 --read-pct=95 \
//           --dist=zipf:0.99 --duration=10s --warmup=2s [--json]
//
// By default it creates a store of its own under a fresh key, preloads the
// keys, forks --procs client processes (each opens the store itself) with
// --threads threads each, measures every operation, and destroys the store
// at the end, also on SIGINT/SIGTERM. SIGKILL cannot be caught: the store
// then stays (still usable) until `kvcli destroy --key=KEY` removes it; the
// key is printed when the store is created. With --key or --path it uses an
// existing store and leaves it in place.
//
// The load generator itself (flags, processes, histogram, report) is
// //bench/engine:workload (bench/engine/workload.h), shared with the peer drivers of
// bench/run.sh.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/engine/workload.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/util/json.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace bench {
namespace {

// Operations on a store destroyed during the run fail (FailedPrecondition,
// "store was destroyed"): they are counted as errors, like any failure.
class ShmkvClient final : public Client {
 public:
  explicit ShmkvClient(Store* store) : store_(store) {}
  OpResult Get(absl::string_view key, std::string* value) override {
    absl::Status s = store_->Get(key, value);
    if (s.ok()) return OpResult::kHit;
    if (absl::IsNotFound(s)) return OpResult::kMiss;
    return Error(s);
  }
  OpResult Put(absl::string_view key, absl::string_view value) override {
    absl::Status s = store_->Put(key, value);
    return s.ok() ? OpResult::kOk : Error(s);
  }
  // One GetMany; the values stay in get_results_, which keeps its strings'
  // capacity from one batch to the next.
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    absl::Status call = store_->GetMany(keys, &get_results_);
    if (!call.ok()) Error(call);
    for (size_t i = 0; i < keys.size(); ++i) {
      const absl::Status& s = get_results_[i].status;
      results[i] = s.ok() ? OpResult::kHit : absl::IsNotFound(s) ? OpResult::kMiss : Error(s);
    }
  }
  // One PutMany.
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    items_.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      items_[i].key = keys[i];
      items_[i].value = values[i];
    }
    absl::Status call = store_->PutMany(items_, WriteOptions(), &put_results_);
    if (!call.ok()) Error(call);
    for (size_t i = 0; i < keys.size(); ++i) {
      const absl::Status& s = put_results_[i].status;
      results[i] = s.ok() ? OpResult::kOk : Error(s);
    }
  }
  std::string LastError() const override { return error_; }

 private:
  OpResult Error(const absl::Status& s) {
    error_ = s.ToString();
    return OpResult::kError;
  }
  Store* store_;
  std::string error_;
  std::vector<GetResult> get_results_;
  std::vector<PutItem> items_;
  std::vector<PutResult> put_results_;
};

struct ShmkvFlags {
  std::optional<StoreName> name;         // an existing store
  std::optional<StoreName> create_name;  // where to create its own store
  uint64_t capacity = 0;                 // 0: sized from the workload
  uint32_t stripes = 0;                  // 0: the store's default
  bool huge_pages = false;
  bool populate = false;  // each client opens with Options::populate
};

class ShmkvBackend final : public Backend {
 public:
  explicit ShmkvBackend(const ShmkvFlags& flags) : flags_(flags) {}
  std::string Name() const override { return "shmkv"; }

  absl::Status Create(const WorkloadConfig& config) override {
    quiet_ = config.quiet;
    if (flags_.name.has_value()) {
      name_ = flags_.name;
      Options options;
      options.populate = flags_.populate;
      absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(*name_, options, OpenMode::kAttach);
      if (!s.ok()) return s.status();
      store_ = std::move(*s);
      RememberIdentity();
      if (flags_.capacity != 0) {
        std::fprintf(stderr, "kvbench: --capacity is ignored for an existing store\n");
      }
      return absl::OkStatus();
    }
    Options options;
    options.capacity_bytes = flags_.capacity;
    if (options.capacity_bytes == 0) {
      // Twice the records (28-byte header + key + value, 8-byte aligned), so
      // that the log does not wrap around during a run and nothing is evicted.
      const double record = 28 + config.key_size + config.MeanValueSize() + 7;
      options.capacity_bytes = static_cast<size_t>(2 * record * static_cast<double>(config.keys));
      options.capacity_bytes = std::max<size_t>(options.capacity_bytes, size_t{64} << 20);
      options.capacity_bytes = (options.capacity_bytes + (size_t{1} << 20) - 1) >> 20 << 20;
    }
    options.expected_items = config.keys;
    if (flags_.stripes != 0) options.lock_stripes = flags_.stripes;
    options.huge_pages = flags_.huge_pages;
    if (config.value_max > options.max_value_size) options.max_value_size = config.value_max;
    uint64_t mix = platform::MonotonicNanos() ^ (static_cast<uint64_t>(getpid()) << 20);
    Rng rng(mix);
    const int attempts = flags_.create_name.has_value() ? 1 : 100;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      // 0x6b62xxxx: "kb", so `ipcs` shows whose segment it is.
      const key_t key =
          flags_.create_name.has_value()
              ? flags_.create_name->key()
              : static_cast<key_t>(0x6b620000u | static_cast<uint32_t>(rng.Below(0xffff) + 1));
      absl::StatusOr<StoreName> name = StoreName::FromKey(key);
      if (!name.ok()) return name.status();
      absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(*name, options, OpenMode::kCreate);
      if (absl::IsAlreadyExists(s.status()) && !flags_.create_name.has_value()) continue;
      if (!s.ok()) return s.status();
      store_ = std::move(*s);
      name_ = *name;
      owned_ = true;
      RememberIdentity();
      if (!quiet_) {
        std::fprintf(
            stderr,
            "kvbench: created a %zu MiB store at %s; it is destroyed at the end (if kvbench "
            "is SIGKILLed, remove it with: kvcli destroy --key=0x%08x)\n",
            options.capacity_bytes >> 20, name_->ToString().c_str(), static_cast<unsigned>(key));
      }
      return absl::OkStatus();
    }
    return absl::ResourceExhaustedError("no free IPC key in 0x6b62xxxx after 100 tries");
  }

  absl::Status Attach() override {
    if (store_ != nullptr) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(*name_, Options(), OpenMode::kAttach);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return std::unique_ptr<Client>(new ShmkvClient(store_.get()));
  }

  void Detach() override { store_.reset(); }

  // The store's lock waits around the measured phase, so that the report
  // can give those of the measurement alone.
  void MeasureStarted() override { waits_at_start_ = LockWaits(); }
  void MeasureEnded() override { waits_at_end_ = LockWaits(); }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    fields->emplace_back("store", util::JsonString(name_->ToString()));
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(*name_, Options(), OpenMode::kAttach);
    if (!s.ok()) return;
    absl::StatusOr<StoreInfo> info = (*s)->Info();
    if (!info.ok()) return;
    if (info->shm_id != shm_id_ || info->created_at_ms != created_at_ms_) {
      // The store measured was destroyed and another created at its name:
      // its figures are not this run's.
      fields->emplace_back("store_replaced", "true");
      std::fprintf(stderr,
                   "kvbench: the store was destroyed during the run and re-created; its "
                   "counters are not reported\n");
      return;
    }
    fields->emplace_back("lock_stripes", absl::StrCat(info->lock_stripes));
    // bench/run.sh sizes memory_probe's table from it.
    fields->emplace_back("segment_bytes", absl::StrCat(info->segment_bytes));
    if (absl::StatusOr<StoreStats> st = (*s)->Stats(); st.ok()) {
      // Counted since the store was created: preload and warmup included.
      fields->emplace_back("capacity", absl::StrCat(st->capacity));
      fields->emplace_back("items", absl::StrCat(st->items));
      fields->emplace_back("evictions", absl::StrCat(st->evictions));
      fields->emplace_back("lock_waits", absl::StrCat(st->lock_waits));
    }
    if (waits_at_start_.has_value() && waits_at_end_.has_value() &&
        *waits_at_end_ >= *waits_at_start_) {
      fields->emplace_back("lock_waits_measured", absl::StrCat(*waits_at_end_ - *waits_at_start_));
    }
  }

  void Destroy() override {
    store_.reset();
    if (!owned_) return;
    owned_ = false;
    absl::Status s = Store::Destroy(*name_);
    if (!s.ok()) std::fprintf(stderr, "kvbench: destroying the store: %s\n", s.ToString().c_str());
  }

 private:
  // Which store this run measures (a store re-created at the name differs).
  void RememberIdentity() {
    if (absl::StatusOr<StoreInfo> info = store_->Info(); info.ok()) {
      shm_id_ = info->shm_id;
      created_at_ms_ = info->created_at_ms;
    }
  }

  // The store's lock_waits counter now (the parent is detached: it opens the
  // store for the reading); nothing if it cannot be read.
  std::optional<uint64_t> LockWaits() const {
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(*name_, Options(), OpenMode::kAttach);
    if (!s.ok()) return std::nullopt;
    absl::StatusOr<StoreStats> st = (*s)->Stats();
    if (!st.ok()) return std::nullopt;
    return st->lock_waits;
  }

  ShmkvFlags flags_;
  std::optional<uint64_t> waits_at_start_, waits_at_end_;
  int shm_id_ = -1;
  int64_t created_at_ms_ = 0;
  bool quiet_ = false;
  std::optional<StoreName> name_;
  bool owned_ = false;
  std::unique_ptr<Store> store_;
};

// kvbench's own flags: the store it creates or uses.
void AddShmkvFlags(FlagSet* flags, ShmkvFlags* shmkv_flags, std::string* path, int* proj) {
  flags->ByteSize("capacity", "capacity of the store it creates (default: twice the data)",
                  &shmkv_flags->capacity);
  flags->Integer("stripes", "lock stripes of the store it creates (default: the store's)", 1,
                 UINT32_MAX, &shmkv_flags->stripes);
  flags->Bool("huge-pages",
              "create the store in huge pages (Options::huge_pages; needs vm.nr_hugepages)",
              &shmkv_flags->huge_pages);
  flags->Bool("populate",
              "clients open the store with Options::populate (compare with --no-prefault)",
              &shmkv_flags->populate);
  flags->Parsed("key", "0xKEY", "use the existing store at this IPC key (left in place)",
                &shmkv::StoreName::ParseKey, &shmkv_flags->name);
  flags->Parsed("create-key", "0xKEY",
                "create its store at this IPC key, which must be free (default: a free "
                "0x6b62xxxx key)",
                &shmkv::StoreName::ParseKey, &shmkv_flags->create_name);
  flags->String("path", "FILE", "use the existing store named by FILE and --proj (left in place)",
                path);
  flags->Integer("proj", "ftok project id for --path (default 1)", 1, 255, proj);
}

// Checks that the store flags go together and turns --path into the store's
// name; false (having said why) when they do not.
bool ResolveStoreFlags(ShmkvFlags* shmkv_flags, const std::string& path, int proj) {
  if (shmkv_flags->create_name.has_value() && (shmkv_flags->name.has_value() || !path.empty())) {
    std::fprintf(stderr,
                 "kvbench: --create-key makes a new store; --key and --path use an "
                 "existing one: give one of them\n");
    return false;
  }
  if (path.empty()) return true;
  if (shmkv_flags->name.has_value()) {
    std::fprintf(stderr, "kvbench: give --key or --path, not both\n");
    return false;
  }
  auto name = shmkv::StoreName::FromPath(path, proj);
  if (!name.ok()) {
    std::fprintf(stderr, "kvbench: --path: %s\n", name.status().ToString().c_str());
    return false;
  }
  shmkv_flags->name = *name;
  return true;
}

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  ShmkvFlags shmkv_flags;
  std::string path;
  int proj = 1;
  return DriverMain(
      argc, argv, "kvbench",
      "Multi-process load generator for shmkv. Creates a store of its own (destroyed at\n"
      "the end, also on SIGINT/SIGTERM) unless --key or --path names an existing one.\n"
      "The last stdout line is one JSON object with --json.",
      WorkloadConfig(),
      [&](FlagSet* flags, WorkloadConfig*) { AddShmkvFlags(flags, &shmkv_flags, &path, &proj); },
      [&](const WorkloadConfig& config) {
        if (!ResolveStoreFlags(&shmkv_flags, path, proj)) return 2;
        ShmkvBackend backend(shmkv_flags);
        return RunBenchmark(&backend, config);
      });
}
