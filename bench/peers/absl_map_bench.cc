// absl_map_in_process: the same workload against an in-process
// absl::flat_hash_map<std::string, std::string> behind one absl::Mutex
// (readers share it, writers hold it alone). A peer, not a bound on shmkv:
// it shares nothing between processes, and its own layout (a node per
// string) costs it misses of its own. Threads stand in for processes
// (--procs=2 --threads=1 runs 2 threads). It never evicts: it holds every
// key. With --batch, a request's gets (or puts) run under one lock.
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/engine/workload.h"

namespace shmkv {
namespace bench {
namespace {

struct LockedMap {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::string> map ABSL_GUARDED_BY(mu);
};

class MapClient final : public Client {
 public:
  explicit MapClient(LockedMap* m) : m_(m) {}
  OpResult Get(absl::string_view key, std::string* value) override {
    absl::ReaderMutexLock lock(&m_->mu);
    return Lookup(key, value);
  }
  OpResult Put(absl::string_view key, absl::string_view value) override {
    absl::MutexLock lock(&m_->mu);
    Store(key, value);
    return OpResult::kOk;
  }
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    if (values_.size() < keys.size()) values_.resize(keys.size());
    absl::ReaderMutexLock lock(&m_->mu);
    for (size_t i = 0; i < keys.size(); ++i) results[i] = Lookup(keys[i], &values_[i]);
  }
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    absl::MutexLock lock(&m_->mu);
    for (size_t i = 0; i < keys.size(); ++i) {
      Store(keys[i], values[i]);
      results[i] = OpResult::kOk;
    }
  }
  std::string LastError() const override { return ""; }

 private:
  OpResult Lookup(absl::string_view key, std::string* value) ABSL_SHARED_LOCKS_REQUIRED(m_->mu) {
    auto it = m_->map.find(key);
    if (it == m_->map.end()) return OpResult::kMiss;
    value->assign(it->second.data(), it->second.size());
    return OpResult::kHit;
  }
  void Store(absl::string_view key, absl::string_view value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(m_->mu) {
    auto it = m_->map.find(key);
    if (it != m_->map.end()) {
      it->second.assign(value.data(), value.size());
    } else {
      m_->map.emplace(std::string(key), std::string(value));
    }
  }

  LockedMap* m_;
  std::vector<std::string> values_;  // GetBatch's values, reused
};

class MapBackend final : public Backend {
 public:
  std::string Name() const override { return "absl_map_in_process"; }
  absl::Status Create(const WorkloadConfig& config) override {
    map_ = std::make_unique<LockedMap>();
    absl::MutexLock lock(&map_->mu);
    map_->map.reserve(config.keys);
    return absl::OkStatus();
  }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return std::unique_ptr<Client>(new MapClient(map_.get()));
  }
  void Detach() override {}
  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    absl::MutexLock lock(&map_->mu);
    fields->emplace_back("items", absl::StrCat(map_->map.size()));
  }
  void Destroy() override { map_.reset(); }

 private:
  std::unique_ptr<LockedMap> map_;
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  WorkloadConfig config;
  config.fork_processes = false;
  return DriverMain(
      argc, argv, "absl_map_bench",
      "absl_map_in_process: absl::flat_hash_map behind one absl::Mutex in this process;\n"
      "--procs counts thread groups in this one process (no fork).",
      config, [](FlagSet*, WorkloadConfig*) {},
      [](const WorkloadConfig& config) {
        MapBackend backend;
        return RunBenchmark(&backend, config);
      });
}
