// The keys, values and operations of a run: made the same way for every
// system, and cheap enough to make inside the measured loop.
#ifndef SHMKV_BENCH_ENGINE_KEYS_VALUES_H_
#define SHMKV_BENCH_ENGINE_KEYS_VALUES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "bench/engine/rng.h"
#include "bench/engine/workload_config.h"
#include "bench/engine/zipf.h"

namespace shmkv {
namespace bench {

// Everything the clients read, made once in the parent before the fork.
// Keys are not stored: KeyBuffer formats key i when it is needed, as an
// application has its key at hand when it asks for it. (A table of 1M keys
// would add a cache miss per operation that belongs to no system.)
class Workload {
 public:
  explicit Workload(const WorkloadConfig& config);
  const WorkloadConfig& config() const { return config_; }
  uint64_t num_keys() const { return config_.keys; }
  absl::string_view Value(size_t size) const { return absl::string_view(values_.data(), size); }
  // The size key i gets when preloaded (deterministic).
  size_t PreloadValueSize(uint64_t i) const;
  const ZipfParams& zipf() const { return zipf_; }

 private:
  WorkloadConfig config_;
  std::string values_;
  ZipfParams zipf_;
};

// Key i of a workload: the prefix, then i in zero-padded decimal filling
// key_size bytes. One buffer per user; each Of() overwrites the last key.
class KeyBuffer {
 public:
  explicit KeyBuffer(const WorkloadConfig& config);
  absl::string_view Of(uint64_t i) {
    char* end = bytes_.data() + bytes_.size();
    for (size_t d = 0; d < digits_; ++d) {
      *--end = static_cast<char>('0' + i % 10);
      i /= 10;
    }
    return absl::string_view(bytes_.data(), bytes_.size());
  }

 private:
  std::string bytes_;
  size_t digits_;
};

struct Op {
  bool get;
  uint64_t key;
  size_t value_size;  // for puts
};

// One thread's stream of operations.
class OpStream {
 public:
  OpStream(const Workload& workload, uint64_t seed);
  Op Next() {
    Op op;
    op.get = rng_.Next() < read_threshold_;
    op.key = zipf_ ? workload_.zipf().Draw(rng_.Unit()) : rng_.Below(num_keys_);
    op.value_size = value_span_ == 0 ? value_min_ : value_min_ + rng_.Below(value_span_ + 1);
    return op;
  }

 private:
  const Workload& workload_;
  Rng rng_;
  uint64_t read_threshold_;
  bool zipf_;
  uint64_t num_keys_;
  size_t value_min_, value_span_;
};

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_ENGINE_KEYS_VALUES_H_
