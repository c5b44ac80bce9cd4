// Memory efficiency of a full shmkv store: fills a store with new keys until
// it evicts, keeps writing new keys until the whole arena has been recycled
// twice (steady state), then reads Store::Stats() and Store::Info():
//
//   live %             (key_bytes + value_bytes) / capacity: arena bytes
//                      holding live keys and values
//   record overhead    (bytes_used - key_bytes - value_bytes) / items: the
//                      28-byte header, alignment and unreclaimed records,
//                      per live item
//   arena overhead     (capacity - key_bytes - value_bytes) / items: every
//                      arena byte not holding live data (free space too)
//   index overhead     (segment_bytes - capacity) / items: index slots,
//                      stripe table and header outside the arena
//   per item           record + index overhead: what each item costs
//   strict             arena + index overhead
//
//   bazel run -c opt //bench/micro:store_memory_bench -- [--json] [--capacity=MiB]
// With --json the last stdout line is one JSON object (bench/run.sh reads it).
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/engine/workload.h"
#include "kv/util/json.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace {

volatile sig_atomic_t g_shm_id = -1, g_sem_id = -1;

void RemoveOnSignal(int sig) {
  if (g_shm_id >= 0) shmctl(g_shm_id, IPC_RMID, nullptr);
  if (g_sem_id >= 0) semctl(g_sem_id, 0, IPC_RMID);
  signal(sig, SIG_DFL);
  raise(sig);
}

struct Case {
  const char* label;
  size_t value_min, value_max;
};

struct Result {
  Case c;
  uint64_t capacity = 0, segment_bytes = 0, items = 0, key_bytes = 0, value_bytes = 0;
  uint64_t bytes_used = 0, evictions = 0, puts = 0;
  double live_pct() const {
    return 100.0 * static_cast<double>(key_bytes + value_bytes) / static_cast<double>(capacity);
  }
  double record_overhead() const {
    return static_cast<double>(bytes_used - key_bytes - value_bytes) / static_cast<double>(items);
  }
  double arena_overhead() const {
    return static_cast<double>(capacity - key_bytes - value_bytes) / static_cast<double>(items);
  }
  double index_overhead() const {
    return static_cast<double>(segment_bytes - capacity) / static_cast<double>(items);
  }
};

absl::StatusOr<Result> Measure(const Case& c, size_t capacity) {
  constexpr size_t kKeySize = 16;
  const double mean_record = 32 + kKeySize + (c.value_min + c.value_max) / 2.0 + 4;
  Options options;
  options.capacity_bytes = capacity;
  // Sized as an application would: from the expected number of items.
  options.expected_items = static_cast<size_t>(static_cast<double>(capacity) / mean_record);
  options.max_value_size = std::max<size_t>(c.value_max, 4096);

  std::unique_ptr<Store> store;
  std::optional<StoreName> name;
  uint32_t salt = static_cast<uint32_t>(getpid()) * 2654435761u;
  for (uint32_t attempt = 0; attempt < 100 && store == nullptr; ++attempt) {
    auto n = StoreName::FromKey(
        static_cast<key_t>(0x6b6e0000u | ((salt + attempt * 7919u) & 0xffffu) | 1u));
    if (!n.ok()) return n.status();
    auto s = Store::Open(*n, options, OpenMode::kCreate);
    if (absl::IsAlreadyExists(s.status())) continue;
    if (!s.ok()) return s.status();
    store = std::move(*s);
    name = *n;
  }
  if (store == nullptr) return absl::ResourceExhaustedError("no free IPC key");
  absl::StatusOr<StoreInfo> info = store->Info();
  if (!info.ok()) return info.status();
  g_shm_id = info->shm_id;
  g_sem_id = info->sem_id;

  std::string value(c.value_max, 'v');
  bench::Rng rng(12345);
  char key[kKeySize + 1];
  Result r;
  r.c = c;
  absl::Status status;
  // Write new keys: until the first eviction, then twice the capacity more.
  uint64_t i = 0, written_after_full = 0;
  bool full = false;
  const uint64_t target = 2 * static_cast<uint64_t>(static_cast<double>(capacity));
  while (status.ok()) {
    std::snprintf(key, sizeof(key), "mem:%012llu", static_cast<unsigned long long>(i++));
    const size_t size = c.value_min + rng.Below(c.value_max - c.value_min + 1);
    status = store->Put(absl::string_view(key, kKeySize), absl::string_view(value.data(), size));
    if (full) {
      written_after_full += size + kKeySize + 32;
      if (written_after_full >= target) break;
    } else if ((i & 1023) == 0) {
      absl::StatusOr<StoreStats> st = store->Stats();
      if (!st.ok())
        status = st.status();
      else
        full = st->evictions > 0;
    }
  }
  absl::StatusOr<StoreStats> st = store->Stats();
  if (status.ok() && !st.ok()) status = st.status();
  if (status.ok()) {
    r.capacity = st->capacity;
    r.segment_bytes = info->segment_bytes;
    r.items = st->items;
    r.key_bytes = st->key_bytes;
    r.value_bytes = st->value_bytes;
    r.bytes_used = st->bytes_used;
    r.evictions = st->evictions;
    r.puts = i;
  }
  store.reset();
  absl::Status d = Store::Destroy(*name);
  g_shm_id = -1;
  g_sem_id = -1;
  if (!status.ok()) return status;
  if (!d.ok()) return d;
  if (r.items == 0) return absl::InternalError("no items");
  return r;
}

}  // namespace
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv;
  signal(SIGINT, RemoveOnSignal);
  signal(SIGTERM, RemoveOnSignal);
  bool json = false;
  size_t capacity = size_t{256} << 20;
  bench::FlagSet flags("store_memory_bench",
                       "Memory efficiency of a full shmkv store (live bytes, per-item overhead).");
  flags.Bool("json", "print one JSON object as the last stdout line", &json);
  flags.ByteSize("capacity", "store capacity (default 256MiB)", &capacity);
  flags.ParseOrExit(argc, argv);

  const Case cases[] = {
      {"10-4000", 10, 4000},  // W4's value sizes
      {"100", 100, 100},
      {"10-100", 10, 100},
  };
  std::printf("%-10s %10s %10s %8s %11s %10s %13s %11s %13s\n", "value B", "items", "evictions",
              "live %", "record B/it", "index B/it", "per item B/it", "arena B/it", "strict B/it");
  std::vector<std::string> json_cases;
  for (const Case& c : cases) {
    absl::StatusOr<Result> r = Measure(c, capacity);
    if (!r.ok()) {
      std::fprintf(stderr, "store_memory_bench: %s: %s\n", c.label, r.status().ToString().c_str());
      return 1;
    }
    std::printf("%-10s %10llu %10llu %8.2f %11.1f %10.1f %13.1f %11.1f %13.1f\n", c.label,
                static_cast<unsigned long long>(r->items),
                static_cast<unsigned long long>(r->evictions), r->live_pct(), r->record_overhead(),
                r->index_overhead(), r->record_overhead() + r->index_overhead(),
                r->arena_overhead(), r->arena_overhead() + r->index_overhead());
    json_cases.push_back(util::JsonObject()
                             .Str("value_size", c.label)
                             .U64("capacity", r->capacity)
                             .U64("segment_bytes", r->segment_bytes)
                             .U64("items", r->items)
                             .U64("key_bytes", r->key_bytes)
                             .U64("value_bytes", r->value_bytes)
                             .U64("bytes_used", r->bytes_used)
                             .U64("evictions", r->evictions)
                             .Double("live_pct", r->live_pct(), 2)
                             .Double("record_overhead_bytes", r->record_overhead(), 1)
                             .Double("arena_overhead_bytes", r->arena_overhead(), 1)
                             .Double("index_overhead_bytes", r->index_overhead(), 1)
                             .Build());
  }
  std::printf(
      "record B/it = (bytes_used - live key+value bytes) / items: header, alignment, unreclaimed\n"
      "records; index B/it = (segment - capacity) / items: index slots, stripe table, header;\n"
      "per item = record + index; arena B/it = (capacity - live key+value bytes) / items: also\n"
      "counts the free gaps at the log heads; strict = arena + index.\n");
  if (json) std::printf("%s\n", util::JsonObject().Array("memory", json_cases).Build().c_str());
  return 0;
}
