// memory_probe: what the memory of this machine allows a store to do, as a
// reference for the workloads of bench/run.sh.
//
//   memory_probe --bytes=SIZE [--chains=N] [--duration=5s] [--warmup=1s] [--json]
//
// It maps a table of --bytes (in practice the size of shmkv's segment in the
// workload: bench/run.sh takes it from kvbench's report) of 64-byte nodes,
// links the nodes into one random cycle (Sattolo's algorithm: every node is
// visited once per lap, in an order the hardware prefetchers cannot guess),
// and follows the links:
//
//   --chains=1   one chain: each read needs the address the previous one
//                loaded, so reads cannot overlap. A store that serves one key
//                at a time, with at least one such miss per key, cannot go
//                faster than this (memory_probe_dependent).
//   --chains=16  16 chains walked in lockstep, from 16 points evenly spaced
//                on the cycle: 16 independent misses in flight, the most a
//                batch of 16 keys can overlap (memory_probe_parallel16).
//
// Each read is one operation: ops/s = reads/s, over all chains. The table is
// a shared anonymous mapping in 4 KiB pages (MADV_NOHUGEPAGE), as shmkv's
// System V segment is without huge pages, so the probe pays the same TLB
// misses. Latency percentiles do not apply (the reads are not timed one by
// one): the JSON line has ns_per_read instead, and null percentiles.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/engine/flags.h"
#include "bench/engine/rng.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/util/json.h"

namespace shmkv {
namespace bench {
namespace {

struct alignas(64) Node {
  uint64_t next;  // index of the next node on the cycle
  char pad[56];
};
static_assert(sizeof(Node) == 64, "one node per cache line");

struct ProbeConfig {
  uint64_t bytes = 0;
  int chains = 1;
  absl::Duration duration = absl::Seconds(5);
  absl::Duration warmup = absl::Seconds(1);
  bool json = false;
  uint64_t seed = 42;
};

// Links nodes[0..n) into one random cycle: Sattolo's variant of the
// Fisher-Yates shuffle only swaps with earlier positions, which makes the
// permutation a single cycle.
void BuildCycle(Node* nodes, uint64_t n, uint64_t seed) {
  for (uint64_t i = 0; i < n; ++i) nodes[i].next = i;
  Rng rng(seed);
  for (uint64_t i = n - 1; i > 0; --i) {
    const uint64_t j = rng.Below(i);  // in [0, i)
    std::swap(nodes[i].next, nodes[j].next);
  }
}

// Follows kChains chains from `at` for `rounds` rounds (one read per chain
// each); `at` holds where each chain stopped.
template <int kChains>
void Walk(const Node* nodes, uint64_t* at, uint64_t rounds) {
  uint64_t p[kChains];
  for (int c = 0; c < kChains; ++c) p[c] = at[c];
  for (uint64_t r = 0; r < rounds; ++r) {
    for (int c = 0; c < kChains; ++c) p[c] = nodes[p[c]].next;
  }
  for (int c = 0; c < kChains; ++c) at[c] = p[c];
}

using WalkFn = void (*)(const Node*, uint64_t*, uint64_t);

WalkFn WalkFor(int chains) {
  switch (chains) {
    case 1:
      return Walk<1>;
    case 2:
      return Walk<2>;
    case 4:
      return Walk<4>;
    case 8:
      return Walk<8>;
    case 16:
      return Walk<16>;
    case 32:
      return Walk<32>;
    default:
      return nullptr;
  }
}

// One lap from node 0: checks the links form one cycle (false if not) and
// spaces the chains' starts evenly on it, in `at` (so they never read the
// same nodes at the same time).
bool SpaceChains(const Node* nodes, uint64_t n, int chains, uint64_t* at) {
  const uint64_t spacing = n / static_cast<uint64_t>(chains);
  uint64_t p = 0;
  for (uint64_t step = 0; step < n; ++step) {
    if (step % spacing == 0 && step / spacing < static_cast<uint64_t>(chains)) {
      at[step / spacing] = p;
    }
    p = nodes[p].next;
  }
  return p == 0;
}

// Prints the measurement: a human summary (on stderr with --json), and with
// --json the runner's line on stdout.
void Report(const ProbeConfig& config, const std::string& system, uint64_t n, size_t map_bytes,
            uint64_t rounds, uint64_t elapsed_ns, uint64_t sink) {
  const uint64_t reads = rounds * static_cast<uint64_t>(config.chains);
  const double seconds = static_cast<double>(elapsed_ns) / 1e9;
  const double ops_per_sec = static_cast<double>(reads) / seconds;
  const double ns_per_read = 1e9 / ops_per_sec;
  FILE* human = config.json ? stderr : stdout;
  std::fprintf(human,
               "%s: %d chain%s over %s nodes of 64 B (%.1f MiB), %.2f s measured\n"
               "  throughput  %.0f reads/s; %.1f ns per read (%.1f ns per round of %d)\n",
               system.c_str(), config.chains, config.chains == 1 ? "" : "s",
               absl::StrCat(n).c_str(), static_cast<double>(map_bytes) / 1048576.0, seconds,
               ops_per_sec, ns_per_read, ns_per_read * config.chains, config.chains);
  if (config.json) {
    // The runner's fields, with null where a probe has nothing to say.
    const std::string json = util::JsonObject()
                                 .Str("system", system)
                                 .I64("procs", 1)
                                 .I64("threads", 1)
                                 .I64("chains", config.chains)
                                 .U64("table_bytes", map_bytes)
                                 .U64("nodes", n)
                                 .Double("measured_s", seconds, 3)
                                 .U64("ops", reads)
                                 .Double("ops_per_sec", ops_per_sec, 0)
                                 .Double("ns_per_read", ns_per_read, 2)
                                 .Null("p50_us")
                                 .Null("p90_us")
                                 .Null("p99_us")
                                 .Null("p999_us")
                                 .Null("max_us")
                                 .Null("hit_ratio")
                                 .I64("errors", 0)
                                 .U64("checksum", sink & 0xff)
                                 .Build();
    std::printf("%s\n", json.c_str());
  }
}

int Run(const ProbeConfig& config) {
  const std::string system = config.chains == 1
                                 ? std::string("memory_probe_dependent")
                                 : absl::StrCat("memory_probe_parallel", config.chains);
  const WalkFn walk = WalkFor(config.chains);
  if (walk == nullptr) {
    std::fprintf(stderr, "memory_probe: --chains must be 1, 2, 4, 8, 16 or 32\n");
    return 2;
  }
  const uint64_t n = config.bytes / sizeof(Node);
  if (n < 2 * static_cast<uint64_t>(config.chains)) {
    std::fprintf(stderr, "memory_probe: --bytes must hold at least %d nodes of 64 bytes\n",
                 2 * config.chains);
    return 2;
  }
  const size_t map_bytes = n * sizeof(Node);
  void* mem = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    std::fprintf(stderr, "memory_probe: mmap of %zu bytes: %s\n", map_bytes, std::strerror(errno));
    return 1;
  }
  madvise(mem, map_bytes, MADV_NOHUGEPAGE);
  Node* nodes = static_cast<Node*>(mem);
  BuildCycle(nodes, n, config.seed);

  uint64_t at[32] = {};
  if (!SpaceChains(nodes, n, config.chains, at)) {
    std::fprintf(stderr, "memory_probe: the links are not one cycle\n");
    munmap(mem, map_bytes);
    return 1;
  }

  // Warmup, then whole blocks of rounds until --duration has passed.
  constexpr uint64_t kRounds = 1 << 14;
  const int64_t warmup_end = platform::MonotonicNanos() + absl::ToInt64Nanoseconds(config.warmup);
  while (platform::MonotonicNanos() < warmup_end) walk(nodes, at, kRounds);
  const uint64_t duration_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(config.duration));
  const uint64_t start = platform::MonotonicNanos();
  uint64_t end = start, rounds = 0;
  while (end - start < duration_ns) {
    walk(nodes, at, kRounds);
    rounds += kRounds;
    end = platform::MonotonicNanos();
  }
  uint64_t sink = 0;
  for (int c = 0; c < config.chains; ++c) sink ^= at[c];
  munmap(mem, map_bytes);

  Report(config, system, n, map_bytes, rounds, end - start, sink);
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  ProbeConfig config;
  FlagSet flags("memory_probe",
                "Random reads over a table of --bytes: one dependent chain (--chains=1) or N\n"
                "independent ones; the references for bench/run.sh's workloads.");
  flags.ByteSize("bytes", "table size, e.g. the store's segment (required)", &config.bytes);
  flags.Integer("chains", "independent chains: 1, 2, 4, 8, 16 or 32 (default 1)", 1, 32,
                &config.chains);
  flags.Duration("duration", "measured time (default 5s)", &config.duration);
  flags.Duration("warmup", "unmeasured reads first, after one lap to set up (default 1s)",
                 &config.warmup);
  flags.Integer("seed", "random seed of the cycle (default 42)", 0, UINT64_MAX, &config.seed);
  flags.Bool("json", "print one JSON object as the last stdout line (the report goes to stderr)",
             &config.json);
  flags.ParseOrExit(argc, argv);
  if (config.bytes == 0) {
    std::fprintf(stderr, "memory_probe: give --bytes=SIZE (see --help)\n");
    return 2;
  }
  if (config.duration <= absl::ZeroDuration()) {
    std::fprintf(stderr, "memory_probe: --duration must be positive\n");
    return 2;
  }
  return Run(config);
}
