// The keys, values and operations of a run: made the same way for every
// system, and cheap enough to make inside the measured loop.
#ifndef SHMKV_BENCH_ENGINE_KEYS_VALUES_H_
#define SHMKV_BENCH_ENGINE_KEYS_VALUES_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/base/attributes.h"
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

// Eight decimal digits of n (below 10^8), zero-padded, as the bytes of a
// little-endian word: the first digit in the lowest byte. Lane arithmetic
// instead of a division per digit: the 4-digit halves go to 32-bit lanes,
// each is split into 2-digit 16-bit lanes (x / 100 == x * 5243 >> 19 for
// x < 10^4), then into bytes (x / 10 == x * 103 >> 10 for x < 100); no
// lane's product reaches the next lane. A key of 12 digits costs about half
// the instructions of a division per digit (83 against ~150 under
// callgrind), which every system's W5 figure pays per key.
inline uint64_t EightDigits(uint64_t n) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "digits are laid out little-endian");
  uint64_t v = (n / 10000) | ((n % 10000) << 32);
  uint64_t high = ((v * 5243) >> 19) & 0x0000007F0000007FULL;
  v = high | ((v - 100 * high) << 16);
  high = ((v * 103) >> 10) & 0x000F000F000F000FULL;
  v = high | ((v - 10 * high) << 8);
  return v + 0x3030303030303030ULL;
}

// Key i of a workload: the prefix, then i in zero-padded decimal filling
// key_size bytes (its low digits when i has more). One buffer per user;
// each Of() overwrites the last key. Every digit is written a word at a
// time: the leading digits that fill less than a word are merged into the
// word that ends where they end, whose first bytes (the prefix, or the
// buffer's 8 bytes of room before the key) it keeps.
class KeyBuffer {
 public:
  explicit KeyBuffer(const WorkloadConfig& config);
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::string_view Of(uint64_t i) {
    char* const key = bytes_.data() + 8;
    char* end = bytes_.data() + bytes_.size();
    for (size_t words = whole_words_; words != 0; --words, i /= 100000000) {
      const uint64_t digits = i == 0 ? kEightZeros : EightDigits(i % 100000000);
      end -= 8;
      std::memcpy(end, &digits, 8);
    }
    if (kept_ != ~uint64_t{0}) {
      uint64_t word;
      std::memcpy(&word, end - 8, 8);
      word = (word & kept_) | ((i == 0 ? kEightZeros : EightDigits(i % 100000000)) & ~kept_);
      std::memcpy(end - 8, &word, 8);
    }
    return absl::string_view(key, bytes_.size() - 8);
  }

 private:
  // "00000000": the leading words of a number with fewer digits.
  static constexpr uint64_t kEightZeros = 0x3030303030303030ULL;
  // 8 bytes of room, then the key.
  std::string bytes_;
  // The words of eight digits, and the bytes the word before them keeps
  // (all of them when no digit is left).
  size_t whole_words_;
  uint64_t kept_;
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
    op.key = NextKey();
    op.value_size = NextValueSize();
    return op;
  }
  // The parts of an operation alone: a request of several keys draws
  // whether it gets or puts once, with its first key (Next).
  uint64_t NextKey() { return zipf_ ? workload_.zipf().Draw(rng_.Unit()) : rng_.Below(num_keys_); }
  size_t NextValueSize() {
    return value_span_ == 0 ? value_min_ : value_min_ + rng_.Below(value_span_ + 1);
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
