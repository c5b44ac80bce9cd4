// The clients of near_bench (W6): one that counts the measured operations
// of either system, and one that reads and writes through a NearCache and
// counts how each read was served and which reads were the first of a key's
// version on the host and in the process.
#ifndef SHMKV_BENCH_NEAR_NEAR_CLIENTS_H_
#define SHMKV_BENCH_NEAR_NEAR_CLIENTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "bench/engine/backend.h"
#include "shmkv/near/near_cache.h"

namespace shmkv {
namespace bench {

// What the clients of every process add up, in one anonymous shared mapping
// made before the fork. For near, an array of `keys` HostVersions follows it.
// A Get that finds the host's read generation behind the key's write
// generation is the first read of that version of the key on the host: with
// one Redis read per key per host between invalidations, Redis GETs equal
// those first reads. Each process keeps its own read generations too: its
// first reads are what a cache per process would have fetched.
struct Shared {
  std::atomic<int> measuring{0};
  std::atomic<uint64_t> ops{0};  // while measuring (the window the commands are counted in)
  std::atomic<uint64_t> hits{0}, fills{0}, shared{0}, direct{0};
  std::atomic<uint64_t> host_versions{0}, process_versions{0};
  std::atomic<int> reason_taken{0};
  char bypass_reason[200] = {};
};

// One key's write generation (bumped after every Set) and the generation
// last read on the host (generation + 1; 0 = never), side by side so that
// the bookkeeping of a Get costs one cache miss, not two.
struct HostVersions {
  std::atomic<uint16_t> written{0};
  std::atomic<uint16_t> read{0};
};

// Counts the operations done while measuring (both systems): adds them to
// Shared::ops when it is destroyed.
class CountingClient final : public Client {
 public:
  CountingClient(std::unique_ptr<Client> client, Shared* shared);
  ~CountingClient() override;
  OpResult Get(absl::string_view key, std::string* value) override;
  OpResult Put(absl::string_view key, absl::string_view value) override;
  std::string LastError() const override;

 private:
  std::unique_ptr<Client> client_;
  Shared* shared_;
  uint64_t ops_ = 0;
};

// Reads and writes through `cache`. While measuring, counts how each read
// was served (ReadPath) and the first reads of a key's version on the host
// (`host`, the array after Shared) and in this process (`process_read`),
// both indexed by the number after the keys' `prefix_size` bytes; adds the
// counts to `shared` when it is destroyed.
class NearClient final : public Client {
 public:
  NearClient(std::unique_ptr<near::NearCache> cache, Shared* shared, HostVersions* host,
             std::atomic<uint16_t>* process_read, size_t prefix_size);
  ~NearClient() override;
  OpResult Get(absl::string_view key, std::string* value) override;
  OpResult Put(absl::string_view key, absl::string_view value) override;
  std::string LastError() const override;

 private:
  std::unique_ptr<near::NearCache> cache_;
  Shared* shared_;
  HostVersions* host_;
  std::atomic<uint16_t>* process_read_;
  size_t prefix_size_;
  uint64_t hits_ = 0, fills_ = 0, shared_fills_ = 0, direct_ = 0;
  uint64_t host_versions_ = 0, process_versions_ = 0;
  std::string error_;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_NEAR_NEAR_CLIENTS_H_
