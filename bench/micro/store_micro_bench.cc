// Micro-benchmarks of shmkv's fast paths, in one process (Google Benchmark):
//   Get hit (and the same reads through View, under the stripe lock), Get
//   miss, Put overwrite (same size), Put with eviction (a full store, every
//   Put a new key), and 16 random reads from a store far larger than the CPU
//   caches (1M entries) as a loop of Get and as one GetMany (that store is
//   built only when one of those two runs).
// Each reports allocs/op: operator new calls inside the timed loop, counted
// by a replacement operator new in this binary (single-threaded runs only).
// The stores are created under fresh IPC keys and destroyed at exit, also on
// SIGINT/SIGTERM.
//
//   bazel run -c opt //bench/micro:store_micro_bench -- --benchmark_min_time=0.5
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

// ---- allocation counting: every operator new in this process goes here.
namespace {
std::atomic<uint64_t> g_allocs{0};
}  // namespace

void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace shmkv {
namespace {

constexpr int kKeys = 100000;
constexpr size_t kValueSize = 100;

struct Fixture {
  std::unique_ptr<Store> store;
  StoreName name;
  int shm_id = -1, sem_id = -1;
};

Fixture* g_main = nullptr;   // kKeys keys, room for all
Fixture* g_small = nullptr;  // small: every new key evicts
std::vector<std::string>* g_keys = nullptr;
std::vector<std::string>* g_missing = nullptr;

volatile sig_atomic_t g_ids[6] = {-1, -1, -1, -1, -1, -1};

void RemoveOnSignal(int sig) {
  // Only async-signal-safe calls: remove the IPC objects by id, then die.
  for (int i = 0; i < 6; i += 2) {
    if (g_ids[i] >= 0) shmctl(g_ids[i], IPC_RMID, nullptr);
    if (g_ids[i + 1] >= 0) semctl(g_ids[i + 1], 0, IPC_RMID);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

std::string Key(const char* prefix, uint64_t i) { return absl::StrFormat("%s%012d", prefix, i); }

Fixture* Create(size_t capacity, size_t expected_items, int slot) {
  Options options;
  options.capacity_bytes = capacity;
  options.expected_items = expected_items;
  uint32_t salt = static_cast<uint32_t>(getpid()) * 2654435761u;
  for (uint32_t attempt = 0; attempt < 100; ++attempt) {
    const key_t key = static_cast<key_t>(0x6b6d0000u | ((salt + attempt * 7919u) & 0xffffu) | 1u);
    auto name = StoreName::FromKey(key);
    if (!name.ok()) continue;
    auto store = Store::Open(*name, options, OpenMode::kCreate);
    if (absl::IsAlreadyExists(store.status())) continue;
    if (!store.ok()) {
      std::fprintf(stderr, "store_micro_bench: %s\n", store.status().ToString().c_str());
      std::exit(1);
    }
    auto* f = new Fixture{std::move(*store), *name};
    if (auto info = f->store->Info(); info.ok()) {
      f->shm_id = info->shm_id;
      f->sem_id = info->sem_id;
      g_ids[slot * 2] = f->shm_id;
      g_ids[slot * 2 + 1] = f->sem_id;
    }
    return f;
  }
  std::fprintf(stderr, "store_micro_bench: no free IPC key\n");
  std::exit(1);
}

void DestroyFixture(Fixture* f) {
  if (f == nullptr) return;
  f->store.reset();
  absl::Status s = Store::Destroy(f->name);
  if (!s.ok()) std::fprintf(stderr, "store_micro_bench: destroy: %s\n", s.ToString().c_str());
  delete f;
}

// Reports allocs/op for single-threaded runs.
class AllocCounter {
 public:
  explicit AllocCounter(benchmark::State& state) : state_(state), start_(g_allocs.load()) {}
  ~AllocCounter() {
    if (state_.threads() != 1) return;
    state_.counters["allocs/op"] = benchmark::Counter(static_cast<double>(g_allocs.load() - start_),
                                                      benchmark::Counter::kAvgIterations);
  }

 private:
  benchmark::State& state_;
  uint64_t start_;
};

// Gets of the first state.range(0) keys: 10,000 stay in the CPU caches,
// 100,000 do not quite.
void BM_GetHit(benchmark::State& state) {
  const uint64_t keys = static_cast<uint64_t>(state.range(0));
  std::string value;
  value.reserve(256);
  uint64_t i = static_cast<uint64_t>(state.thread_index()) * 7919;
  uint64_t misses = 0;
  {
    AllocCounter count(state);
    for (auto _ : state) {
      if (!g_main->store->Get((*g_keys)[i % keys], &value).ok()) ++misses;
      i += 104729;  // a prime stride: spread over the stripes
    }
  }
  if (misses != 0) state.SkipWithError("a Get missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetHit)->Arg(10000)->Arg(kKeys)->Threads(1)->Threads(2)->UseRealTime();

// The same reads through View (under the stripe lock), copying the value
// out as a Get does: what a Get costs beyond the lookup itself.
void BM_ViewHit(benchmark::State& state) {
  const uint64_t keys = static_cast<uint64_t>(state.range(0));
  char out[256];
  uint64_t i = static_cast<uint64_t>(state.thread_index()) * 7919;
  uint64_t misses = 0;
  {
    AllocCounter count(state);
    for (auto _ : state) {
      absl::Status s = g_main->store->View(
          (*g_keys)[i % keys],
          [&out](absl::string_view v, const EntryMeta&) { std::memcpy(out, v.data(), v.size()); });
      if (!s.ok()) ++misses;
      benchmark::DoNotOptimize(out);
      i += 104729;
    }
  }
  if (misses != 0) state.SkipWithError("a View missed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ViewHit)->Arg(10000)->Arg(kKeys)->Threads(1)->Threads(2)->UseRealTime();

void BM_GetMiss(benchmark::State& state) {
  std::string value;
  uint64_t i = 0, hits = 0;
  {
    AllocCounter count(state);
    for (auto _ : state) {
      if (g_main->store->Get((*g_missing)[i % kKeys], &value).ok()) ++hits;
      i += 104729;
    }
  }
  if (hits != 0) state.SkipWithError("a Get of a missing key hit");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetMiss);

void BM_PutOverwrite(benchmark::State& state) {
  const std::string value(kValueSize, 'w');
  uint64_t i = 0, errors = 0;
  {
    AllocCounter count(state);
    for (auto _ : state) {
      if (!g_main->store->Put((*g_keys)[i % kKeys], value).ok()) ++errors;
      i += 104729;
    }
  }
  if (errors != 0) state.SkipWithError("a Put failed");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutOverwrite);

void BM_PutEvict(benchmark::State& state) {
  const std::string value(kValueSize, 'e');
  // New keys each time, from a pool 16x what the small store holds.
  static uint64_t next = 0;
  uint64_t errors = 0;
  const uint64_t evictions_before = g_small->store->Stats()->evictions;
  {
    AllocCounter count(state);
    for (auto _ : state) {
      if (!g_small->store->Put((*g_keys)[next % kKeys], value).ok()) ++errors;
      ++next;
    }
  }
  if (errors != 0) state.SkipWithError("a Put failed");
  const uint64_t evictions = g_small->store->Stats()->evictions - evictions_before;
  state.counters["evictions/op"] =
      benchmark::Counter(static_cast<double>(evictions), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutEvict);

// ---- batched reads over a store larger than the caches.
constexpr int kBigKeys = 1000000;
constexpr int kBatch = 16;

Fixture* g_big = nullptr;
std::vector<std::string>* g_big_keys = nullptr;

// Builds the 1M-entry store on first use (a few seconds).
Fixture* BigStore() {
  if (g_big != nullptr) return g_big;
  g_big_keys = new std::vector<std::string>();
  g_big_keys->reserve(kBigKeys);
  for (int i = 0; i < kBigKeys; ++i) g_big_keys->push_back(absl::StrFormat("b:%010d", i));
  g_big = Create(size_t{512} << 20, kBigKeys, 2);
  const std::string value(kValueSize, 'b');
  for (const std::string& k : *g_big_keys) {
    if (absl::Status s = g_big->store->Put(k, value); !s.ok()) {
      std::fprintf(stderr, "preload of the 1M-entry store: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }
  return g_big;
}

// The next batch of keys: a multiplicative walk, so consecutive keys land
// far apart in the index and the log (nothing the hardware prefetcher finds).
void NextBatch(uint64_t* counter, absl::string_view (&keys)[kBatch]) {
  for (absl::string_view& k : keys) {
    k = (*g_big_keys)[(*counter)++ * 2654435761u % kBigKeys];
  }
}

void BM_Get16Loop(benchmark::State& state) {
  Store& store = *BigStore()->store;
  std::string value;
  value.reserve(256);
  absl::string_view keys[kBatch];
  uint64_t counter = 0, misses = 0;
  {
    AllocCounter count(state);
    for (auto _ : state) {
      NextBatch(&counter, keys);
      for (absl::string_view k : keys) {
        if (!store.Get(k, &value).ok()) ++misses;
      }
    }
  }
  if (misses != 0) state.SkipWithError("a Get missed");
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Get16Loop);

void BM_GetMany16(benchmark::State& state) {
  Store& store = *BigStore()->store;
  std::vector<GetResult> results;
  absl::string_view keys[kBatch];
  uint64_t counter = 0, misses = 0;
  NextBatch(&counter, keys);
  (void)store.GetMany(keys, &results);  // sizes the results once, outside the count
  {
    AllocCounter count(state);
    for (auto _ : state) {
      NextBatch(&counter, keys);
      if (!store.GetMany(keys, &results).ok()) ++misses;
      for (const GetResult& r : results) misses += r.status.ok() ? 0 : 1;
    }
  }
  if (misses != 0) state.SkipWithError("a GetMany key missed");
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_GetMany16);

}  // namespace
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv;
  signal(SIGINT, RemoveOnSignal);
  signal(SIGTERM, RemoveOnSignal);
  g_keys = new std::vector<std::string>();
  g_missing = new std::vector<std::string>();
  for (int i = 0; i < kKeys; ++i) {
    g_keys->push_back(Key("mbk:", i));
    g_missing->push_back(Key("mbx:", i));
  }
  g_main = Create(size_t{64} << 20, kKeys, 0);
  const std::string value(kValueSize, 'v');
  for (const std::string& k : *g_keys) {
    if (absl::Status s = g_main->store->Put(k, value); !s.ok()) {
      std::fprintf(stderr, "preload: %s\n", s.ToString().c_str());
      DestroyFixture(g_main);
      return 1;
    }
  }
  // Room for about 1/16 of the keys: 152 B a key, a little more than its
  // 144 B record (28 B header + 16 B key + 100 B value).
  g_small = Create(kKeys / 16 * 152, 0, 1);
  for (int i = 0; i < kKeys; ++i) (void)g_small->store->Put((*g_keys)[i], value);  // fill: evicting

  benchmark::Initialize(&argc, argv);
  int status = 0;
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    status = 1;
  } else {
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }
  DestroyFixture(g_main);
  DestroyFixture(g_small);
  DestroyFixture(g_big);
  return status;
}
