#include "bench/engine/keys_values.h"

namespace shmkv {
namespace bench {

KeyBuffer::KeyBuffer(const WorkloadConfig& config) : bytes_(8, '\0') {
  bytes_ += config.prefix;
  bytes_.resize(8 + config.key_size, '0');
  const size_t digits = config.key_size - config.prefix.size();
  whole_words_ = digits / 8;
  const size_t left = digits % 8;
  kept_ = left == 0 ? ~uint64_t{0} : ~uint64_t{0} >> (8 * left);
}

Workload::Workload(const WorkloadConfig& config) : config_(config) {
  values_.resize(config.value_max);
  for (size_t i = 0; i < values_.size(); ++i) values_[i] = static_cast<char>('a' + i % 26);
  if (config.zipf) zipf_ = ZipfParams(config.keys, config.zipf_theta);
}

size_t Workload::PreloadValueSize(uint64_t i) const {
  const size_t span = config_.value_max - config_.value_min;
  if (span == 0) return config_.value_min;
  Rng rng(i * 0x2545f4914f6cdd1dULL + config_.seed);
  return config_.value_min + rng.Below(span + 1);
}

OpStream::OpStream(const Workload& workload, uint64_t seed)
    : workload_(workload),
      rng_(seed),
      zipf_(workload.config().zipf),
      num_keys_(workload.num_keys()),
      value_min_(workload.config().value_min),
      value_span_(workload.config().value_max - workload.config().value_min) {
  const double share = workload.config().read_pct / 100.0;
  read_threshold_ =
      share >= 1.0 ? UINT64_MAX : static_cast<uint64_t>(share * 18446744073709551616.0);
}

}  // namespace bench
}  // namespace shmkv
