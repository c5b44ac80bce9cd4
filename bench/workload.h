// The load generator shared by kvbench (bench/kvbench.cc) and the peer
// drivers in bench/: flags, pre-generated keys and values, key
// distributions, a log-bucket latency histogram, and the runner that preloads
// a system, forks the client processes (or starts threads, for in-process
// systems), measures every operation and reports the result.
//
// A system plugs in as a Backend (one instance per run, created in the
// parent) that hands out a Client per thread. Nothing in the measured loop
// allocates: keys live in one buffer made before the fork, values are views
// of one pattern buffer, and Get fills a std::string the thread reuses.
#ifndef SHMKV_BENCH_WORKLOAD_H_
#define SHMKV_BENCH_WORKLOAD_H_

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace shmkv {
namespace bench {

// ---------------------------------------------------------------- parsing

// "4096", "64K", "64KiB", "1G": K/M/G/T are powers of 1024 (kvcli's
// cli::ParseSize).
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text);
// "1000000", "1M", "250k", "1.5M": k/M/G are powers of 1000 (counts, not bytes).
absl::StatusOr<uint64_t> ParseCount(absl::string_view text);
// "10s", "500ms", "2m", "1.5s"; a bare number is seconds (kvcli's
// cli::ParseDuration).
absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view text);

// A small --name=value / --name value / --flag command-line parser.
class FlagSet {
 public:
  explicit FlagSet(std::string program, std::string summary);
  // `fn` receives the text after '=' (or the next argument).
  void Value(std::string name, std::string arg_name, std::string help,
             std::function<absl::Status(absl::string_view)> fn);
  // Common shapes of Value: a string stored as given; a byte size parsed by
  // ParseByteSize.
  void String(std::string name, std::string arg_name, std::string help, std::string* target);
  template <typename T>
  void ByteSize(std::string name, std::string help, T* target) {
    Value(std::move(name), "SIZE", std::move(help), [target](absl::string_view v) {
      absl::StatusOr<uint64_t> n = ParseByteSize(v);
      if (!n.ok()) return n.status();
      *target = static_cast<T>(*n);
      return absl::OkStatus();
    });
  }
  void Bool(std::string name, std::string help, bool* target);
  void Bool(std::string name, std::string help, std::function<void(bool)> fn);
  // Parses argv; prints usage and exits 0 on --help, exits 2 on a bad flag.
  void ParseOrExit(int argc, char** argv);
  std::string Usage() const;

 private:
  struct Flag {
    std::string name, arg_name, help;
    bool is_bool = false;
    std::function<absl::Status(absl::string_view)> fn;
    std::function<void(bool)> set_bool;
  };
  std::string program_, summary_;
  std::vector<Flag> flags_;
};

// ---------------------------------------------------------------- workload

struct WorkloadConfig {
  int procs = 1;
  int threads = 1;
  uint64_t keys = 100000;
  size_t key_size = 16;
  size_t value_min = 100, value_max = 100;  // uniform in [min, max]
  double read_pct = 95;                     // share of Get, the rest Put
  bool zipf = false;
  double zipf_theta = 0.99;
  absl::Duration duration = absl::Seconds(10);
  uint64_t ops = 0;  // > 0: measure exactly this many ops in all, not a duration
  absl::Duration warmup = absl::Seconds(2);
  bool json = false;
  bool quiet = false;  // no progress output
  bool preload = true;
  // Before the run, each forked client maps in the pages of its shared
  // mappings (System V segments, /dev/shm files) that already exist, as a
  // long-running process would have: the run measures the steady state, not
  // first-touch page faults.
  bool prefault = true;
  std::string prefix = "kvb:";
  uint64_t seed = 42;
  // false: run procs * threads threads in this process (in-process systems).
  bool fork_processes = true;

  std::string ValueSizeText() const;  // "100" or "10-4000"
  std::string DistText() const;       // "uniform" or "zipf:0.99"
  double MeanValueSize() const { return (value_min + value_max) / 2.0; }
  // Bytes of keys plus values once every key is written at the mean size.
  double DataBytes() const { return keys * (key_size + MeanValueSize()); }
};

// Registers --procs --threads --keys --key-size --value-size --read-pct
// --dist --duration --ops --warmup --json --quiet --no-preload --no-prefault
// --prefix --seed. Validation happens in Validate().
void AddWorkloadFlags(FlagSet* flags, WorkloadConfig* config);
absl::Status Validate(const WorkloadConfig& config);

// splitmix64: small, fast, good enough to pick keys.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without a division.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double Unit() { return (Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

// Zipf-distributed ranks in [0, n), rank 0 the most popular, after Gray et
// al., "Quickly generating billion-record synthetic databases" (SIGMOD 1994).
// Setup is O(n); each draw is one pow(). Requires 0 < theta < 1.
class ZipfParams {
 public:
  ZipfParams() = default;
  ZipfParams(uint64_t n, double theta);
  uint64_t Draw(double u) const;

 private:
  uint64_t n_ = 1;
  double zetan_ = 1, alpha_ = 1, eta_ = 0, half_pow_ = 0;
};

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

// ---------------------------------------------------------------- histogram

// Latencies in nanoseconds, 8 sub-buckets per power of two (relative error
// under 12.5%). Trivially copyable, so it travels through shared memory.
class Histogram {
 public:
  static constexpr int kSubBits = 3;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int Index(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int e = 63 - __builtin_clzll(v);
    return (e - kSubBits + 1) * kSub + static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
  }
  static uint64_t BucketLow(int index);
  static uint64_t BucketHigh(int index);

  void Record(uint64_t v) {
    ++counts_[Index(v)];
    ++count_;
    if (v > max_) max_ = v;
  }
  void Merge(const Histogram& other);
  void Clear();
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The upper bound of the bucket holding the p-th percentile (0 < p <= 100),
  // never above the largest recorded value.
  uint64_t Percentile(double p) const;

 private:
  uint64_t counts_[kBuckets] = {};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

inline uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// ---------------------------------------------------------------- systems

enum class OpResult { kHit, kMiss, kOk, kError };

// One thread's connection to the system under test. Get and Put must not
// allocate in steady state (beyond what the system itself does).
class Client {
 public:
  virtual ~Client() = default;
  // kHit (value filled) / kMiss / kError.
  virtual OpResult Get(absl::string_view key, std::string* value) = 0;
  // kOk / kError.
  virtual OpResult Put(absl::string_view key, absl::string_view value) = 0;
  // What the last kError was.
  virtual std::string LastError() const = 0;
};

// Progress callback for long setup steps: `done` of `total`; false = stop.
using ProgressFn = std::function<bool(uint64_t done, uint64_t total)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string Name() const = 0;
  // Parent, once, before anything else: create (or find) the instance.
  virtual absl::Status Create(const WorkloadConfig& config) = 0;
  // Attaches the calling process: each forked child calls it once; the parent
  // calls it for the preload and, without fork, for the run.
  virtual absl::Status Attach() = 0;
  // Called in each client thread, concurrently.
  virtual absl::StatusOr<std::unique_ptr<Client>> NewClient() = 0;
  // Drops this process's attachment (the parent calls it before forking).
  virtual void Detach() = 0;
  // Parent, attached: writes every key once. The default goes through one
  // Client; systems with a faster bulk path (batches, pipelining) override.
  virtual absl::Status Preload(const Workload& workload, const ProgressFn& progress);
  // Parent, after the run, detached: extra report fields as JSON values
  // (numbers, or quoted strings) and a note for the human report.
  virtual void Describe(std::vector<std::pair<std::string, std::string>>* fields) { (void)fields; }
  // Parent, last (also after an interrupt): removes what Create made,
  // unless the instance was given from outside.
  virtual void Destroy() = 0;
};

// Runs the whole benchmark; returns the process exit code: 0, 1 when
// setup failed or any operation failed, 128+signal when interrupted.
int RunBenchmark(Backend* backend, const WorkloadConfig& config);

// Maps in every resident page of this process's shared file mappings
// (System V segments and /dev/shm files; mincore() finds the pages that exist,
// so holes are not allocated). Returns the number of bytes mapped in.
uint64_t PrefaultSharedMappings();

// Set by SIGINT/SIGTERM once RunBenchmark installed its handlers; backends
// check it in long loops of their own.
bool StopRequested();

// Shortens a count for humans: 1234567 -> "1.23M".
std::string HumanCount(double v);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_WORKLOAD_H_
