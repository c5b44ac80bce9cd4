// The clients of near_bench (W6): one that counts the measured operations
// of either system, and one that reads and writes through a NearCache and
// counts how each read was served and which reads were the first of a key's
// version on the host and in the process.
#ifndef SHMKV_BENCH_NEAR_CLIENTS_H_
#define SHMKV_BENCH_NEAR_CLIENTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "bench/backend.h"
#include "shmkv/near/near_cache.h"

namespace shmkv {
namespace bench {

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
inline uint64_t KeyIndex(absl::string_view key, size_t prefix_size) {
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

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_NEAR_CLIENTS_H_
