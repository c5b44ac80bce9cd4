#include "bench/workload.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/cli/parse.h"

namespace shmkv {
namespace bench {

// ================================================================ parsing

namespace {

// Splits "1.5GiB" into "1.5" and "gib" (lowercased).
bool SplitNumber(absl::string_view text, absl::string_view* number, std::string* suffix) {
  text = absl::StripAsciiWhitespace(text);
  size_t i = 0;
  while (i < text.size() && (absl::ascii_isdigit(text[i]) || text[i] == '.')) ++i;
  if (i == 0) return false;
  *number = text.substr(0, i);
  *suffix = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(i)));
  return true;
}

absl::StatusOr<uint64_t> Scale(absl::string_view number, double multiplier,
                               absl::string_view original) {
  uint64_t whole;
  if (number.find('.') == absl::string_view::npos && absl::SimpleAtoi(number, &whole)) {
    const auto m = static_cast<uint64_t>(multiplier);
    if (m != 0 && whole > UINT64_MAX / m) {
      return absl::InvalidArgumentError(absl::StrCat("too large: \"", original, "\""));
    }
    return whole * m;
  }
  double d;
  if (!absl::SimpleAtod(number, &d) || !(d >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("not a number: \"", original, "\""));
  }
  const double v = d * multiplier;
  if (v >= 1.8e19) return absl::InvalidArgumentError(absl::StrCat("too large: \"", original, "\""));
  return static_cast<uint64_t>(std::llround(v));
}

}  // namespace

absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text) { return cli::ParseSize(text); }

absl::StatusOr<uint64_t> ParseCount(absl::string_view text) {
  absl::string_view number;
  std::string suffix;
  if (!SplitNumber(text, &number, &suffix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a count: \"", text, "\" (e.g. 1000000, 1M, 250k)"));
  }
  double m;
  if (suffix.empty())
    m = 1;
  else if (suffix == "k")
    m = 1e3;
  else if (suffix == "m")
    m = 1e6;
  else if (suffix == "g")
    m = 1e9;
  else
    return absl::InvalidArgumentError(
        absl::StrCat("unknown count unit in \"", text, "\" (use k, M, G)"));
  return Scale(number, m, text);
}

absl::StatusOr<absl::Duration> ParseSeconds(absl::string_view text) {
  return cli::ParseDuration(text);
}

// ================================================================ flags

FlagSet::FlagSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {
  Bool("help", "print this help", [](bool) {});
}

void FlagSet::Value(std::string name, std::string arg_name, std::string help,
                    std::function<absl::Status(absl::string_view)> fn) {
  Flag f;
  f.name = std::move(name);
  f.arg_name = std::move(arg_name);
  f.help = std::move(help);
  f.fn = std::move(fn);
  flags_.push_back(std::move(f));
}

void FlagSet::String(std::string name, std::string arg_name, std::string help,
                     std::string* target) {
  Value(std::move(name), std::move(arg_name), std::move(help), [target](absl::string_view v) {
    *target = std::string(v);
    return absl::OkStatus();
  });
}

void FlagSet::Bool(std::string name, std::string help, bool* target) {
  Bool(std::move(name), std::move(help), [target](bool b) { *target = b; });
}

void FlagSet::Bool(std::string name, std::string help, std::function<void(bool)> fn) {
  Flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.is_bool = true;
  f.set_bool = std::move(fn);
  flags_.push_back(std::move(f));
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("usage: ", program_, " [flags]\n", summary_, "\n\nflags:\n");
  for (const Flag& f : flags_) {
    std::string left = absl::StrCat("  --", f.name);
    if (!f.is_bool) absl::StrAppend(&left, "=", f.arg_name);
    if (left.size() < 26)
      left.resize(26, ' ');
    else
      left += "\n" + std::string(26, ' ');
    absl::StrAppend(&out, left, f.help, "\n");
  }
  return out;
}

void FlagSet::ParseOrExit(int argc, char** argv) {
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program_.c_str(), message.c_str());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (!absl::ConsumePrefix(&arg, "--")) fail(absl::StrCat("unexpected argument \"", arg, "\""));
    absl::string_view name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = nullptr;
    for (const Flag& f : flags_) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) fail(absl::StrCat("unknown flag --", name));
    if (flag->is_bool) {
      bool b = true;
      if (has_value && !absl::SimpleAtob(value, &b))
        fail(absl::StrCat("--", name, ": not a boolean"));
      if (flag->name == "help") {
        std::fputs(Usage().c_str(), stdout);
        std::exit(0);
      }
      flag->set_bool(b);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) fail(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    absl::Status s = flag->fn(value);
    if (!s.ok()) fail(absl::StrCat("--", name, ": ", s.message()));
  }
}

// ================================================================ workload

std::string WorkloadConfig::ValueSizeText() const {
  return value_min == value_max ? absl::StrCat(value_min) : absl::StrCat(value_min, "-", value_max);
}

std::string WorkloadConfig::DistText() const {
  return zipf ? absl::StrCat("zipf:", zipf_theta) : "uniform";
}

void AddWorkloadFlags(FlagSet* flags, WorkloadConfig* c) {
  auto positive_int = [](int* out) {
    return [out](absl::string_view v) -> absl::Status {
      auto n = ParseCount(v);
      if (!n.ok()) return n.status();
      if (*n < 1 || *n > 1024) return absl::InvalidArgumentError("must be 1..1024");
      *out = static_cast<int>(*n);
      return absl::OkStatus();
    };
  };
  flags->Value("procs", "N", "client processes (default 1)", positive_int(&c->procs));
  flags->Value("threads", "N", "threads per process (default 1)", positive_int(&c->threads));
  flags->Value("keys", "N", "distinct keys, e.g. 1M (default 100k)", [c](absl::string_view v) {
    auto n = ParseCount(v);
    if (!n.ok()) return n.status();
    c->keys = *n;
    return absl::OkStatus();
  });
  flags->ByteSize("key-size", "key length: prefix + zero-padded number (default 16)", &c->key_size);
  flags->Value("value-size", "N|MIN-MAX", "value size, fixed or uniform in a range (default 100)",
               [c](absl::string_view v) -> absl::Status {
                 std::vector<absl::string_view> parts = absl::StrSplit(v, absl::MaxSplits('-', 1));
                 auto lo = ParseByteSize(parts[0]);
                 if (!lo.ok()) return lo.status();
                 uint64_t hi = *lo;
                 if (parts.size() == 2) {
                   auto h = ParseByteSize(parts[1]);
                   if (!h.ok()) return h.status();
                   hi = *h;
                 }
                 if (hi < *lo) return absl::InvalidArgumentError("range is MIN-MAX");
                 c->value_min = *lo;
                 c->value_max = hi;
                 return absl::OkStatus();
               });
  flags->Value("read-pct", "P", "percent of operations that are Get, the rest Put (default 95)",
               [c](absl::string_view v) -> absl::Status {
                 double p;
                 if (!absl::SimpleAtod(absl::StripSuffix(v, "%"), &p) || !(p >= 0 && p <= 100)) {
                   return absl::InvalidArgumentError("must be 0..100");
                 }
                 c->read_pct = p;
                 return absl::OkStatus();
               });
  flags->Value(
      "dist", "uniform|zipf[:THETA]", "key popularity (default uniform; zipf theta 0.99)",
      [c](absl::string_view v) -> absl::Status {
        if (v == "uniform") {
          c->zipf = false;
          return absl::OkStatus();
        }
        if (absl::ConsumePrefix(&v, "zipf")) {
          double theta = 0.99;
          if (!v.empty() && (!absl::ConsumePrefix(&v, ":") || !absl::SimpleAtod(v, &theta))) {
            return absl::InvalidArgumentError("use zipf or zipf:THETA");
          }
          if (!(theta > 0 && theta < 1))
            return absl::InvalidArgumentError("zipf theta must be in (0, 1)");
          c->zipf = true;
          c->zipf_theta = theta;
          return absl::OkStatus();
        }
        return absl::InvalidArgumentError("use uniform or zipf:THETA");
      });
  flags->Value("duration", "TIME", "measured time, e.g. 10s (default 10s)",
               [c](absl::string_view v) {
                 auto d = ParseSeconds(v);
                 if (!d.ok()) return d.status();
                 c->duration = *d;
                 c->ops = 0;
                 return absl::OkStatus();
               });
  flags->Value("ops", "N", "measure exactly N operations in all instead of a duration",
               [c](absl::string_view v) {
                 auto n = ParseCount(v);
                 if (!n.ok()) return n.status();
                 c->ops = *n;
                 return absl::OkStatus();
               });
  flags->Value("warmup", "TIME", "unmeasured run before measuring (default 2s)",
               [c](absl::string_view v) {
                 auto d = ParseSeconds(v);
                 if (!d.ok()) return d.status();
                 c->warmup = *d;
                 return absl::OkStatus();
               });
  flags->String("prefix", "TEXT", "key prefix (default kvb:)", &c->prefix);
  flags->Value("seed", "N", "random seed (default 42)", [c](absl::string_view v) {
    return absl::SimpleAtoi(v, &c->seed) ? absl::OkStatus()
                                         : absl::InvalidArgumentError("not a number");
  });
  flags->Bool("json", "print one JSON object as the last stdout line (the report goes to stderr)",
              &c->json);
  flags->Bool("quiet", "no progress output", &c->quiet);
  flags->Bool("no-preload", "do not write every key before the run",
              [c](bool b) { c->preload = !b; });
  flags->Bool("no-prefault",
              "clients do not map in the existing pages of shared memory before the run "
              "(then the run includes first-touch page faults)",
              [c](bool b) { c->prefault = !b; });
}

absl::Status Validate(const WorkloadConfig& c) {
  if (c.keys == 0) return absl::InvalidArgumentError("--keys must be at least 1");
  if (c.key_size == 0 || c.key_size > 4096)
    return absl::InvalidArgumentError("--key-size must be 1..4096");
  const size_t digits = absl::StrCat(c.keys - 1).size();
  if (c.prefix.size() + digits > c.key_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("--key-size=%d cannot hold the prefix \"%s\" and %d digits for %d keys",
                        c.key_size, c.prefix, digits, c.keys));
  }
  if (c.keys > (uint64_t{1} << 40) / c.key_size) return absl::InvalidArgumentError("too many keys");
  if (c.value_max > (size_t{256} << 20))
    return absl::InvalidArgumentError("--value-size at most 256M");
  if (c.procs * c.threads > 4096)
    return absl::InvalidArgumentError("--procs x --threads at most 4096");
  if (c.ops == 0 && c.duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration must be positive (or give --ops)");
  }
  return absl::OkStatus();
}

ZipfParams::ZipfParams(uint64_t n, double theta) : n_(n) {
  double zetan = 0;
  for (uint64_t i = 1; i <= n; ++i) zetan += 1.0 / std::pow(static_cast<double>(i), theta);
  const double zeta2 = 1.0 + std::pow(0.5, theta);
  zetan_ = zetan;
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan);
  half_pow_ = zeta2;
}

uint64_t ZipfParams::Draw(double u) const {
  const double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < half_pow_) return n_ > 1 ? 1 : 0;
  const auto r =
      static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return r < n_ ? r : n_ - 1;
}

KeyBuffer::KeyBuffer(const WorkloadConfig& config)
    : bytes_(config.prefix), digits_(config.key_size - config.prefix.size()) {
  bytes_.resize(config.key_size, '0');
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

// ================================================================ histogram

uint64_t Histogram::BucketLow(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int e = index / kSub + kSubBits - 1;
  const uint64_t sub = static_cast<uint64_t>(index % kSub);
  return (uint64_t{kSub} + sub) << (e - kSubBits);
}

uint64_t Histogram::BucketHigh(int index) {
  if (index < kSub) return static_cast<uint64_t>(index);
  const int e = index / kSub + kSubBits - 1;
  return BucketLow(index) + ((uint64_t{1} << (e - kSubBits)) - 1);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

void Histogram::Clear() { *this = Histogram(); }

uint64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(BucketHigh(i), max_);
  }
  return max_;
}

// ================================================================ backend

absl::Status Backend::Preload(const Workload& workload, const ProgressFn& progress) {
  auto client = NewClient();
  if (!client.ok()) return client.status();
  const uint64_t n = workload.num_keys();
  KeyBuffer key(workload.config());
  for (uint64_t i = 0; i < n; ++i) {
    if ((*client)->Put(key.Of(i), workload.Value(workload.PreloadValueSize(i))) ==
        OpResult::kError) {
      return absl::InternalError(absl::StrCat("preload put: ", (*client)->LastError()));
    }
    if ((i & 4095) == 0 && !progress(i, n)) return absl::CancelledError("interrupted");
  }
  progress(n, n);
  return absl::OkStatus();
}

// ================================================================ prefault

uint64_t PrefaultSharedMappings() {
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  uint64_t total = 0;
  char line[4096];
  std::vector<unsigned char> resident;
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    unsigned long start, end;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3)
      continue;
    const absl::string_view path = absl::StripTrailingAsciiWhitespace(line + path_at);
    if (perms[0] != 'r' || perms[3] != 's') continue;
    if (!absl::StartsWith(path, "/SYSV") && !absl::StartsWith(path, "/dev/shm/")) continue;
    const size_t len = end - start;
    resident.assign(len / page, 0);
    char* base = reinterpret_cast<char*>(start);
    if (mincore(base, len, resident.data()) != 0) continue;
    for (size_t i = 0; i < resident.size();) {
      if (!(resident[i] & 1)) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < resident.size() && (resident[j] & 1)) ++j;
      char* from = base + i * page;
      const size_t bytes = (j - i) * page;
      if (madvise(from, bytes, MADV_POPULATE_READ) != 0) {
        for (size_t off = 0; off < bytes; off += page) {
          (void)*static_cast<volatile char*>(from + off);  // older kernels: touch
        }
      }
      total += bytes;
      i = j;
    }
  }
  std::fclose(maps);
  return total;
}

// ================================================================ runner

namespace {

volatile sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }

enum Phase : int { kWait = 0, kWarmup = 1, kMeasure = 2, kStop = 3 };

struct alignas(64) ThreadSlot {
  std::atomic<uint64_t> progress{0};  // ops so far, all phases (for the progress line)
  alignas(64) uint64_t ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  uint64_t start_ns = 0, end_ns = 0;
  char error[200] = {};
  Histogram hist;
};

struct Control {
  alignas(64) std::atomic<int> phase{kWait};
  alignas(64) std::atomic<int> finished{0};
  std::atomic<int> failed{0};
  std::atomic<int> fail_lock{0};
  char fail_message[400] = {};
};

void RecordFailure(Control* ctl, const std::string& message) {
  if (ctl->fail_lock.exchange(1) == 0) {
    std::snprintf(ctl->fail_message, sizeof(ctl->fail_message), "%s", message.c_str());
  }
  ctl->failed.fetch_add(1);
}

void SleepMillis(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);  // EINTR (a signal) just ends the nap early
}

// Start gates: pipes rather than polling, so that the system calls of a run
// do not depend on how long anything took (see the syscall count in
// bench/README.md). Each client thread writes one byte to `ready` once
// connected, then blocks reading one byte from `go`.
struct Gates {
  int ready[2] = {-1, -1};
  int go[2] = {-1, -1};
};

void WriteBytes(int fd, size_t n) {
  char buf[256];
  std::memset(buf, 'g', sizeof(buf));
  while (n > 0) {
    const ssize_t w = write(fd, buf, std::min(n, sizeof(buf)));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    n -= static_cast<size_t>(w);
  }
}

void RunThread(Backend* backend, const Workload& workload, Control* ctl, const Gates* gates,
               ThreadSlot* slot, uint64_t seed, uint64_t quota) {
  auto client_or = backend->NewClient();
  if (!client_or.ok()) {
    RecordFailure(ctl, absl::StrCat("client: ", client_or.status().ToString()));
    WriteBytes(gates->ready[1], 1);
    return;
  }
  std::unique_ptr<Client> client = std::move(*client_or);
  std::string value;
  value.reserve(workload.config().value_max + 64);
  OpStream stream(workload, seed);
  KeyBuffer key_buffer(workload.config());
  Histogram& hist = slot->hist;
  WriteBytes(gates->ready[1], 1);
  char go;
  while (read(gates->go[0], &go, 1) < 0 && errno == EINTR) {
  }
  int phase = kWait;  // the loop below acts on whichever phase it finds first

  uint64_t total = 0, ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  bool measuring = false;
  uint64_t start = 0, prev = MonotonicNanos();
  for (;;) {
    const int ph = ctl->phase.load(std::memory_order_relaxed);
    if (ph != phase) {
      phase = ph;
      if (ph == kStop) break;
      if (ph == kMeasure && !measuring) {
        measuring = true;
        if (quota == 0) break;
        start = prev = MonotonicNanos();
      }
    }
    const Op op = stream.Next();
    const absl::string_view key = key_buffer.Of(op.key);
    const OpResult r =
        op.get ? client->Get(key, &value) : client->Put(key, workload.Value(op.value_size));
    const uint64_t now = MonotonicNanos();
    if (measuring) {
      hist.Record(now - prev);
      ++ops;
      if (op.get) {
        ++gets;
        if (r == OpResult::kHit)
          ++hits;
        else if (r == OpResult::kMiss)
          ++misses;
      } else {
        ++puts;
      }
      if (r == OpResult::kError && errors++ == 0) {
        std::snprintf(slot->error, sizeof(slot->error), "%s", client->LastError().c_str());
      }
      if (ops == quota) {
        prev = now;
        break;
      }
    }
    prev = now;
    if ((++total & 255) == 0) slot->progress.store(total, std::memory_order_relaxed);
  }
  slot->ops = ops;
  slot->gets = gets;
  slot->hits = hits;
  slot->misses = misses;
  slot->puts = puts;
  slot->errors = errors;
  slot->start_ns = start;
  slot->end_ns = measuring ? prev : start;
  client.reset();
  ctl->finished.fetch_add(1, std::memory_order_release);
}

// Progress on stderr: a redrawn bar on a terminal, a line every 5 s otherwise.
class Progress {
 public:
  Progress(std::string label, bool quiet)
      : label_(std::move(label)), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}
  ~Progress() { Clear(); }
  void Show(absl::string_view phase, double fraction, double rate) {
    if (quiet_) return;
    const uint64_t now = MonotonicNanos();
    if (tty_) {
      if (now - last_ < 200000000ULL && fraction < 1.0) return;
      last_ = now;
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kWidth);
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(kWidth, '.');
      std::string line =
          absl::StrFormat("\r%s: %-8s [%s] %3.0f%%", label_, phase, bar, fraction * 100);
      if (rate > 0) absl::StrAppend(&line, "  ", HumanCount(rate), " ops/s");
      line += "   ";
      std::fputs(line.c_str(), stderr);
      std::fflush(stderr);
      drawn_ = true;
    } else {
      if (last_ == 0) last_ = now;  // first line after 5 s: short phases stay silent
      if (now - last_ < 5000000000ULL) return;
      last_ = now;
      std::string line = absl::StrFormat("%s: %s %.0f%%", label_, phase, fraction * 100);
      if (rate > 0) absl::StrAppend(&line, " ", HumanCount(rate), " ops/s");
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  void Clear() {
    if (drawn_) {
      std::fprintf(stderr, "\r%s\r", std::string(78, ' ').c_str());
      std::fflush(stderr);
      drawn_ = false;
    }
  }

 private:
  std::string label_;
  bool quiet_, tty_;
  bool drawn_ = false;
  uint64_t last_ = 0;
};

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

double Micros(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

class Runner {
 public:
  Runner(Backend* backend, const WorkloadConfig& config)
      : backend_(backend), config_(config), label_(backend->Name()) {}
  int Run();

 private:
  int Fail(const std::string& message, int code = 1);
  void CloseGates() {
    for (int* fd : {&gates_.ready[0], &gates_.ready[1], &gates_.go[0], &gates_.go[1]}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }
  bool Interrupted() const { return g_signal != 0; }
  void StopAll();
  uint64_t ProgressSum() const;
  bool ChildrenAlive(std::string* why);

  Backend* backend_;
  WorkloadConfig config_;
  std::string label_;
  Control* ctl_ = nullptr;
  ThreadSlot* slots_ = nullptr;
  size_t map_bytes_ = 0;
  int total_threads_ = 0;
  std::vector<pid_t> children_;
  std::vector<bool> reaped_;
  std::vector<std::thread> threads_;
  Gates gates_;
  bool created_ = false;
  bool attached_ = false;
};

uint64_t Runner::ProgressSum() const {
  uint64_t sum = 0;
  for (int i = 0; i < total_threads_; ++i)
    sum += slots_[i].progress.load(std::memory_order_relaxed);
  return sum;
}

bool Runner::ChildrenAlive(std::string* why) {
  for (size_t i = 0; i < children_.size(); ++i) {
    if (reaped_[i]) continue;
    int status;
    if (waitpid(children_[i], &status, WNOHANG) == children_[i]) {
      reaped_[i] = true;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!clean || ctl_->phase.load() < kMeasure) {
        *why =
            WIFSIGNALED(status)
                ? absl::StrCat("client process ", i, " killed by signal ", WTERMSIG(status))
                : absl::StrCat("client process ", i, " exited with status ", WEXITSTATUS(status));
        return false;
      }
    }
  }
  return true;
}

// Tells every client to stop and waits for them (processes that do not stop
// within 10 s are killed).
void Runner::StopAll() {
  if (ctl_ != nullptr) ctl_->phase.store(kStop);
  if (gates_.go[1] >= 0) {
    WriteBytes(gates_.go[1], static_cast<size_t>(total_threads_));  // release threads still waiting
    close(gates_.go[1]);
    gates_.go[1] = -1;
  }
  const uint64_t deadline = MonotonicNanos() + 10000000000ULL;
  for (size_t i = 0; i < children_.size(); ++i) {
    while (!reaped_[i]) {
      int status;
      pid_t r = waitpid(children_[i], &status, WNOHANG);
      if (r == children_[i] || (r < 0 && errno == ECHILD)) {
        reaped_[i] = true;
      } else if (MonotonicNanos() > deadline) {
        kill(children_[i], SIGKILL);
        waitpid(children_[i], &status, 0);
        reaped_[i] = true;
      } else {
        SleepMillis(5);
      }
    }
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

int Runner::Fail(const std::string& message, int code) {
  StopAll();
  if (attached_) backend_->Detach();
  attached_ = false;
  if (created_) backend_->Destroy();
  created_ = false;
  if (ctl_ != nullptr) munmap(ctl_, map_bytes_);
  ctl_ = nullptr;
  CloseGates();
  if (g_signal != 0) {
    std::fprintf(stderr, "%s: interrupted; cleaned up\n", label_.c_str());
    return 128 + g_signal;
  }
  std::fprintf(stderr, "%s: %s\n", label_.c_str(), message.c_str());
  return code;
}

int Runner::Run() {
  if (absl::Status s = Validate(config_); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), std::string(s.message()).c_str());
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waits wake up
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const Workload workload(config_);
  total_threads_ = config_.procs * config_.threads;
  map_bytes_ = sizeof(Control) + sizeof(ThreadSlot) * static_cast<size_t>(total_threads_);
  void* mem = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return Fail(absl::StrCat("mmap: ", std::strerror(errno)));
  ctl_ = new (mem) Control();
  if (pipe2(gates_.ready, O_CLOEXEC) != 0 || pipe2(gates_.go, O_CLOEXEC) != 0) {
    return Fail(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  fcntl(gates_.go[1], F_SETFL, O_NONBLOCK);
  slots_ = reinterpret_cast<ThreadSlot*>(static_cast<char*>(mem) + sizeof(Control));
  for (int i = 0; i < total_threads_; ++i) new (&slots_[i]) ThreadSlot();

  if (absl::Status s = backend_->Create(config_); !s.ok()) return Fail(s.ToString());
  created_ = true;
  if (Interrupted()) return Fail("");
  if (absl::Status s = backend_->Attach(); !s.ok()) return Fail(s.ToString());
  attached_ = true;

  Progress progress(label_, config_.quiet);
  if (config_.preload) {
    const uint64_t t0 = MonotonicNanos();
    absl::Status s = backend_->Preload(workload, [&](uint64_t done, uint64_t total) {
      const double secs = static_cast<double>(MonotonicNanos() - t0) / 1e9;
      progress.Show("preload", total ? static_cast<double>(done) / static_cast<double>(total) : 1.0,
                    secs > 0 ? static_cast<double>(done) / secs : 0);
      return !Interrupted();
    });
    progress.Clear();
    if (!s.ok()) return Fail(absl::StrCat("preload failed: ", s.ToString()));
    if (!config_.quiet) {
      std::fprintf(stderr, "%s: preloaded %s keys in %.1f s\n", label_.c_str(),
                   HumanCount(static_cast<double>(config_.keys)).c_str(),
                   static_cast<double>(MonotonicNanos() - t0) / 1e9);
    }
  }

  const uint64_t seed_base = config_.seed * 1000003ULL;
  auto quota_of = [&](int t) -> uint64_t {
    if (config_.ops == 0) return UINT64_MAX;
    const uint64_t n = static_cast<uint64_t>(total_threads_);
    return config_.ops / n + (static_cast<uint64_t>(t) < config_.ops % n ? 1 : 0);
  };

  if (config_.fork_processes) {
    backend_->Detach();
    attached_ = false;
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    for (int p = 0; p < config_.procs; ++p) {
      const pid_t pid = fork();
      if (pid < 0) return Fail(absl::StrCat("fork: ", std::strerror(errno)));
      if (pid == 0) {
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        if (absl::Status s = backend_->Attach(); !s.ok()) {
          RecordFailure(ctl_, absl::StrCat("process ", p, ": attach: ", s.ToString()));
          _exit(1);
        }
        if (config_.prefault) PrefaultSharedMappings();
        std::vector<std::thread> threads;
        for (int t = 0; t < config_.threads; ++t) {
          const int index = p * config_.threads + t;
          threads.emplace_back(RunThread, backend_, std::cref(workload), ctl_, &gates_,
                               &slots_[index], seed_base + static_cast<uint64_t>(index),
                               quota_of(index));
        }
        for (std::thread& t : threads) t.join();
        backend_->Detach();
        _exit(0);
      }
      children_.push_back(pid);
      reaped_.push_back(false);
    }
  } else {
    for (int t = 0; t < total_threads_; ++t) {
      threads_.emplace_back(RunThread, backend_, std::cref(workload), ctl_, &gates_, &slots_[t],
                            seed_base + static_cast<uint64_t>(t), quota_of(t));
    }
  }

  // Every client connected? One byte per thread arrives on the ready pipe.
  std::string why;
  const uint64_t ready_deadline = MonotonicNanos() + 120000000000ULL;
  for (int arrived = 0; arrived < total_threads_;) {
    pollfd pfd{gates_.ready[0], POLLIN, 0};
    if (poll(&pfd, 1, 1000) > 0) {
      char buf[256];
      const ssize_t n = read(gates_.ready[0], buf, sizeof(buf));
      if (n > 0) arrived += static_cast<int>(n);
    }
    if (ctl_->failed.load() > 0) return Fail(ctl_->fail_message);
    if (arrived < total_threads_ && !ChildrenAlive(&why)) {
      return Fail(ctl_->failed.load() > 0 ? ctl_->fail_message : why);
    }
    if (Interrupted()) return Fail("");
    if (MonotonicNanos() > ready_deadline) return Fail("clients did not start within 120 s");
  }

  // Warmup.
  ctl_->phase.store(kWarmup, std::memory_order_release);
  WriteBytes(gates_.go[1], static_cast<size_t>(total_threads_));
  const uint64_t warmup_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(config_.warmup));
  uint64_t t_phase = MonotonicNanos();
  uint64_t last_sum = 0, last_t = t_phase;
  double rate = 0;
  auto update_rate = [&]() {
    const uint64_t now = MonotonicNanos();
    if (now - last_t >= 500000000ULL) {
      const uint64_t sum = ProgressSum();
      rate = static_cast<double>(sum - last_sum) * 1e9 / static_cast<double>(now - last_t);
      last_sum = sum;
      last_t = now;
    }
    return now;
  };
  while (warmup_ns > 0) {
    const uint64_t now = update_rate();
    if (now - t_phase >= warmup_ns) break;
    progress.Show("warmup", static_cast<double>(now - t_phase) / static_cast<double>(warmup_ns),
                  rate);
    if (Interrupted()) return Fail("");
    if (ctl_->failed.load() > 0) return Fail(ctl_->fail_message);
    if (!ChildrenAlive(&why)) return Fail(why);
    SleepMillis(std::min<uint64_t>(100, (warmup_ns - (now - t_phase)) / 1000000 + 1));
  }

  // Measure.
  const uint64_t base = ProgressSum();
  ctl_->phase.store(kMeasure, std::memory_order_release);
  t_phase = MonotonicNanos();
  if (config_.ops == 0) {
    const uint64_t duration_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(config_.duration));
    for (;;) {
      const uint64_t now = update_rate();
      if (now - t_phase >= duration_ns) break;
      progress.Show("measure",
                    static_cast<double>(now - t_phase) / static_cast<double>(duration_ns), rate);
      if (Interrupted()) return Fail("");
      if (!ChildrenAlive(&why)) return Fail(why);
      SleepMillis(std::min<uint64_t>(100, (duration_ns - (now - t_phase)) / 1000000 + 1));
    }
    ctl_->phase.store(kStop, std::memory_order_release);
  } else if (config_.quiet && config_.fork_processes) {
    // No polling at all, so that a syscall count of the run does not depend
    // on its length: block until each child exits.
    for (size_t i = 0; i < children_.size(); ++i) {
      int status;
      while (!reaped_[i]) {
        if (waitpid(children_[i], &status, 0) == children_[i]) {
          reaped_[i] = true;
          if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return Fail("a client process failed");
        } else if (Interrupted()) {
          return Fail("");
        }
      }
    }
  } else {
    while (ctl_->finished.load(std::memory_order_acquire) < total_threads_) {
      update_rate();
      const double done =
          static_cast<double>(ProgressSum() - base) / static_cast<double>(config_.ops);
      progress.Show("measure", done, rate);
      if (Interrupted()) return Fail("");
      if (!ChildrenAlive(&why)) return Fail(why);
      SleepMillis(50);
    }
  }
  progress.Clear();
  StopAll();
  if (attached_) backend_->Detach();
  attached_ = false;
  if (ctl_->failed.load() > 0) return Fail(ctl_->fail_message);

  // Aggregate.
  Histogram all;
  uint64_t ops = 0, gets = 0, hits = 0, misses = 0, puts = 0, errors = 0;
  uint64_t first_start = UINT64_MAX, last_end = 0;
  std::string first_error;
  std::vector<double> per_proc;
  for (int p = 0; p < config_.procs; ++p) {
    uint64_t p_ops = 0, p_start = UINT64_MAX, p_end = 0;
    for (int t = 0; t < config_.threads; ++t) {
      const ThreadSlot& s = slots_[p * config_.threads + t];
      all.Merge(s.hist);
      ops += s.ops;
      gets += s.gets;
      hits += s.hits;
      misses += s.misses;
      puts += s.puts;
      errors += s.errors;
      if (s.errors > 0 && first_error.empty()) first_error = s.error;
      if (s.ops > 0) {
        p_ops += s.ops;
        p_start = std::min(p_start, s.start_ns);
        p_end = std::max(p_end, s.end_ns);
      }
    }
    per_proc.push_back(p_end > p_start
                           ? static_cast<double>(p_ops) * 1e9 / static_cast<double>(p_end - p_start)
                           : 0);
    if (p_ops > 0) {
      first_start = std::min(first_start, p_start);
      last_end = std::max(last_end, p_end);
    }
  }
  const double seconds =
      last_end > first_start ? static_cast<double>(last_end - first_start) / 1e9 : 0;
  const double ops_per_sec = seconds > 0 ? static_cast<double>(ops) / seconds : 0;

  std::vector<std::pair<std::string, std::string>> extra;
  backend_->Describe(&extra);

  // Human report: stdout, or stderr when stdout carries the JSON line.
  FILE* out = config_.json ? stderr : stdout;
  const char* unit = config_.fork_processes ? "process" : "thread group";
  std::fprintf(out,
               "%s: %d %s%s x %d thread%s, %s keys, key %zu B, value %s B, %.4g%% get, %s, %.2f s "
               "measured\n",
               label_.c_str(), config_.procs, unit,
               config_.procs == 1 ? "" : (config_.fork_processes ? "es" : "s"), config_.threads,
               config_.threads == 1 ? "" : "s",
               HumanCount(static_cast<double>(config_.keys)).c_str(), config_.key_size,
               config_.ValueSizeText().c_str(), config_.read_pct, config_.DistText().c_str(),
               seconds);
  std::string per;
  for (double r : per_proc) absl::StrAppend(&per, " ", HumanCount(r));
  std::fprintf(out, "  throughput  %s ops/s (%.0f); per %s:%s\n", HumanCount(ops_per_sec).c_str(),
               ops_per_sec, unit, per.c_str());
  std::fprintf(out, "  latency us  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
               Micros(all.Percentile(50)), Micros(all.Percentile(90)), Micros(all.Percentile(99)),
               Micros(all.Percentile(99.9)), Micros(all.max()));
  std::fprintf(
      out, "  ops         %llu: %llu gets (%llu misses, hit ratio %s), %llu puts, %llu errors\n",
      static_cast<unsigned long long>(ops), static_cast<unsigned long long>(gets),
      static_cast<unsigned long long>(misses),
      gets ? absl::StrFormat("%.4f", static_cast<double>(hits) / static_cast<double>(gets)).c_str()
           : "n/a",
      static_cast<unsigned long long>(puts), static_cast<unsigned long long>(errors));
  if (!first_error.empty()) std::fprintf(out, "  first error: %s\n", first_error.c_str());
  for (const auto& [k, v] : extra) std::fprintf(out, "  %-11s %s\n", k.c_str(), v.c_str());

  if (config_.json) {
    std::vector<std::string> per_json;
    for (double r : per_proc) per_json.push_back(absl::StrFormat("%.0f", r));
    std::string j = absl::StrFormat(
        "{\"system\":%s,\"procs\":%d,\"threads\":%d,\"keys\":%d,\"key_size\":%d,\"value_size\":%s,"
        "\"read_pct\":%g,\"dist\":%s,\"prefault\":%s,\"measured_s\":%.3f,\"ops\":%d,\"ops_per_"
        "sec\":%.0f,"
        "\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,\"max_us\":%.3f,"
        "\"hit_ratio\":%s,\"gets\":%d,\"misses\":%d,\"puts\":%d,\"errors\":%d,\"per_process_ops_"
        "per_sec\":[%s]",
        JsonString(label_), config_.procs, config_.threads, config_.keys, config_.key_size,
        JsonString(config_.ValueSizeText()), config_.read_pct, JsonString(config_.DistText()),
        config_.prefault && config_.fork_processes ? "true" : "false", seconds, ops, ops_per_sec,
        Micros(all.Percentile(50)), Micros(all.Percentile(90)), Micros(all.Percentile(99)),
        Micros(all.Percentile(99.9)), Micros(all.max()),
        gets ? absl::StrFormat("%.4f", static_cast<double>(hits) / static_cast<double>(gets))
             : "null",
        gets, misses, puts, errors, absl::StrJoin(per_json, ","));
    for (const auto& [k, v] : extra) absl::StrAppend(&j, ",", JsonString(k), ":", v);
    if (!first_error.empty()) absl::StrAppend(&j, ",\"first_error\":", JsonString(first_error));
    j += "}";
    std::fprintf(stdout, "%s\n", j.c_str());
  }
  std::fflush(stdout);

  backend_->Destroy();
  created_ = false;
  munmap(ctl_, map_bytes_);
  ctl_ = nullptr;
  CloseGates();
  if (Interrupted()) return 128 + g_signal;
  return errors > 0 || ops == 0 ? 1 : 0;
}

}  // namespace

bool StopRequested() { return g_signal != 0; }

int RunBenchmark(Backend* backend, const WorkloadConfig& config) {
  Runner runner(backend, config);
  return runner.Run();
}

std::string HumanCount(double v) {
  if (v >= 1e9) return absl::StrFormat("%.2fG", v / 1e9);
  if (v >= 1e6) return absl::StrFormat("%.2fM", v / 1e6);
  if (v >= 1e3) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrFormat("%.0f", v);
}

}  // namespace bench
}  // namespace shmkv
