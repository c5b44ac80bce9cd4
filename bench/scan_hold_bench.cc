// How long a full key listing holds each stripe lock: walks an existing
// store the way `kvcli keys` does (Store::Scan pages of 256 keys, no values)
// with the library's test-only scan hook (kv/internal/scan_hook.h) timing
// every chunk's hold on CLOCK_MONOTONIC, and prints the holds' distribution.
// Run it beside kvbench on the same store to see what a listing costs the
// clients (bench/README.md, "Scans and lock holds").
//
//   scan_hold_bench --key=0xKEY [--passes=N] [--with-values] [--populate]
#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/histogram.h"
#include "kv/internal/scan_hook.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace {

// The walk is one thread: no sharing.
bench::Histogram holds;      // wall time, CLOCK_MONOTONIC
bench::Histogram cpu_holds;  // the walking thread's CPU time

void RecordHold(uint64_t ns, uint64_t cpu_ns) {
  holds.Record(ns);
  cpu_holds.Record(cpu_ns);
}

void PrintHolds(const char* what, const bench::Histogram& h) {
  std::printf("  %s us: p50 %.1f p99 %.1f p99.9 %.1f max %.1f\n", what, h.Percentile(50) / 1e3,
              h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3, h.max() / 1e3);
}

int Main(int argc, char** argv) {
  std::string key_text;
  int passes = 1;
  bool with_values = false;
  Options open_options;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--key=")) {
      key_text = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--passes=")) {
      if (!absl::SimpleAtoi(arg, &passes) || passes < 1) {
        std::fprintf(stderr, "scan_hold_bench: --passes must be a whole number >= 1\n");
        return 2;
      }
    } else if (arg == "--with-values") {
      with_values = true;
    } else if (arg == "--populate") {
      open_options.populate = true;
    } else {
      std::fprintf(stderr,
                   "usage: scan_hold_bench --key=0xKEY [--passes=N] [--with-values] "
                   "[--populate]\n");
      return 2;
    }
  }
  absl::StatusOr<StoreName> name = StoreName::ParseKey(key_text);
  if (!name.ok()) {
    std::fprintf(stderr, "scan_hold_bench: --key: %s\n", name.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(*name, open_options, OpenMode::kAttach);
  if (!store.ok()) {
    std::fprintf(stderr, "scan_hold_bench: %s\n", store.status().ToString().c_str());
    return 3;
  }
  internal::SetScanHoldObserver(&RecordHold);
  ScanOptions options;
  options.with_values = with_values;
  for (int pass = 1; pass <= passes; ++pass) {
    holds.Clear();
    cpu_holds.Clear();
    uint64_t keys = 0, calls = 0, key_bytes = 0;
    const absl::Time start = absl::Now();
    uint64_t cursor = 0;
    do {
      absl::StatusOr<uint64_t> next = (*store)->Scan(
          cursor, 256, options, [&](absl::string_view key, absl::string_view, const EntryMeta&) {
            ++keys;
            key_bytes += key.size();
          });
      if (!next.ok()) {
        std::fprintf(stderr, "scan_hold_bench: %s\n", next.status().ToString().c_str());
        return 3;
      }
      cursor = *next;
      ++calls;
    } while (cursor != 0);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("pass %d: %llu keys in %.2f s (%llu Scan calls, %llu lock holds)\n", pass,
                static_cast<unsigned long long>(keys), seconds,
                static_cast<unsigned long long>(calls),
                static_cast<unsigned long long>(holds.count()));
    PrintHolds("hold, wall", holds);
    PrintHolds("hold, CPU ", cpu_holds);
    std::fflush(stdout);
  }
  internal::SetScanHoldObserver(nullptr);
  return 0;
}

}  // namespace
}  // namespace shmkv

int main(int argc, char** argv) { return shmkv::Main(argc, argv); }
