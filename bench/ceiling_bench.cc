// The ceiling for shmkv: the same workload against an in-process
// absl::flat_hash_map<std::string, std::string> behind one absl::Mutex
// (readers share it, writers hold it alone). Threads stand in for processes
// (--procs=2 --threads=1 runs 2 threads), since nothing is shared across
// processes here. It never evicts: it holds every key.
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/workload.h"

namespace shmkv {
namespace bench {
namespace {

struct LockedMap {
  absl::Mutex mu;
  absl::flat_hash_map<std::string, std::string> map ABSL_GUARDED_BY(mu);
};

class CeilingClient final : public Client {
 public:
  explicit CeilingClient(LockedMap* m) : m_(m) {}
  OpResult Get(absl::string_view key, std::string* value) override {
    absl::ReaderMutexLock lock(&m_->mu);
    auto it = m_->map.find(key);
    if (it == m_->map.end()) return OpResult::kMiss;
    value->assign(it->second.data(), it->second.size());
    return OpResult::kHit;
  }
  OpResult Put(absl::string_view key, absl::string_view value) override {
    absl::MutexLock lock(&m_->mu);
    auto it = m_->map.find(key);
    if (it != m_->map.end()) {
      it->second.assign(value.data(), value.size());
    } else {
      m_->map.emplace(std::string(key), std::string(value));
    }
    return OpResult::kOk;
  }
  std::string LastError() const override { return ""; }

 private:
  LockedMap* m_;
};

class CeilingBackend final : public Backend {
 public:
  std::string Name() const override { return "ceiling"; }
  absl::Status Create(const WorkloadConfig& config) override {
    map_ = std::make_unique<LockedMap>();
    absl::MutexLock lock(&map_->mu);
    map_->map.reserve(config.keys);
    return absl::OkStatus();
  }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return std::unique_ptr<Client>(new CeilingClient(map_.get()));
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
  FlagSet flags("ceiling_bench",
                "In-process ceiling: absl::flat_hash_map behind one absl::Mutex; --procs counts\n"
                "thread groups in this one process (no fork).");
  AddWorkloadFlags(&flags, &config);
  flags.ParseOrExit(argc, argv);
  config.fork_processes = false;
  CeilingBackend backend;
  return RunBenchmark(&backend, config);
}
