// How long a full key listing holds each stripe lock: walks an existing
// store the way `kvcli keys` does (Store::Scan pages of 256 keys, no values)
// with the library's scan-hold hook (kv/internal/scan_hook.h; so it links
// the store with its test hooks compiled in) timing every chunk's hold on
// CLOCK_MONOTONIC and the thread's CPU clock, and prints the holds'
// distribution, the page faults and preemptions taken while holding, and
// the longest holds one by one.
// Run it beside kvbench on the same store to see what a listing costs the
// clients (bench/RESULTS.md, "Scans and lock holds").
//
//   scan_hold_bench --key=0xKEY [--passes=N] [--with-values] [--populate]
//                   [--holds-csv=FILE]
//
// --holds-csv writes every hold (pass, index, stripe, first home slot,
// entries, start on CLOCK_MONOTONIC, wall and CPU ns, faults, preemptions)
// for offline analysis, e.g. beside `perf record -k CLOCK_MONOTONIC`.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/engine/histogram.h"
#include "kv/internal/scan_hook.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace shmkv {
namespace {

// Holds listed one by one after each pass, the longest in CPU time first.
constexpr size_t kWorstShown = 8;
// Holds kept for that per pass (48 MiB; a 4M-entry walk makes about 105,000),
// allocated before the walk; later holds are counted in the histograms only.
constexpr size_t kHoldsListed = size_t{1} << 20;

// The walk is one thread: no sharing.
bench::Histogram holds;      // wall time, CLOCK_MONOTONIC
bench::Histogram cpu_holds;  // the walking thread's CPU time
// Every hold of the pass, in order. Reserved and written through before the
// pass, so recording takes no page fault of its own.
std::vector<internal::ScanHold> hold_list;

void RecordHold(const internal::ScanHold& hold) {
  holds.Record(hold.wall_ns);
  cpu_holds.Record(hold.cpu_ns);
  if (hold_list.size() < hold_list.capacity()) hold_list.push_back(hold);
}

void ReserveHoldList(size_t holds_expected) {
  hold_list.assign(holds_expected, internal::ScanHold{});
  hold_list.clear();
}

// Appends the pass's holds to `csv`, one line each.
void WriteHolds(std::FILE* csv, int pass) {
  for (size_t i = 0; i < hold_list.size(); ++i) {
    const internal::ScanHold& h = hold_list[i];
    std::fprintf(
        csv, "%d,%zu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu\n", pass, i,
        static_cast<unsigned long long>(h.stripe),
        static_cast<unsigned long long>(h.first_home_slot),
        static_cast<unsigned long long>(h.entries), static_cast<unsigned long long>(h.start_ns),
        static_cast<unsigned long long>(h.wall_ns), static_cast<unsigned long long>(h.cpu_ns),
        static_cast<unsigned long long>(h.minor_faults),
        static_cast<unsigned long long>(h.major_faults),
        static_cast<unsigned long long>(h.preemptions));
  }
}

// Totals of faults and preemptions over the pass, then the longest holds.
void PrintHoldDetails() {
  uint64_t minor = 0, major = 0, preempted = 0, faulting_holds = 0;
  for (const internal::ScanHold& h : hold_list) {
    minor += h.minor_faults;
    major += h.major_faults;
    preempted += h.preemptions;
    if (h.minor_faults + h.major_faults > 0) ++faulting_holds;
  }
  std::printf(
      "  in holds: %llu minor and %llu major page faults (%llu holds faulted), "
      "%llu preemptions\n",
      static_cast<unsigned long long>(minor), static_cast<unsigned long long>(major),
      static_cast<unsigned long long>(faulting_holds), static_cast<unsigned long long>(preempted));
  size_t faulting_shown = 0;
  for (size_t i = 0; i < hold_list.size() && faulting_shown < kWorstShown; ++i) {
    const internal::ScanHold& h = hold_list[i];
    if (h.minor_faults + h.major_faults == 0) continue;
    ++faulting_shown;
    std::printf("  faulted, hold #%zu: CPU %.1f us, %llu entries, %llu+%llu faults\n", i,
                h.cpu_ns / 1e3, static_cast<unsigned long long>(h.entries),
                static_cast<unsigned long long>(h.minor_faults),
                static_cast<unsigned long long>(h.major_faults));
  }
  std::vector<size_t> order(hold_list.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const size_t shown = std::min(kWorstShown, order.size());
  std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                    [](size_t a, size_t b) { return hold_list[a].cpu_ns > hold_list[b].cpu_ns; });
  for (size_t i = 0; i < shown; ++i) {
    const internal::ScanHold& h = hold_list[order[i]];
    std::printf(
        "  hold #%zu (stripe %llu from slot %llu): CPU %.1f us, wall %.1f us, "
        "%llu entries, %llu+%llu faults, %llu preemptions\n",
        order[i], static_cast<unsigned long long>(h.stripe),
        static_cast<unsigned long long>(h.first_home_slot), h.cpu_ns / 1e3, h.wall_ns / 1e3,
        static_cast<unsigned long long>(h.entries), static_cast<unsigned long long>(h.minor_faults),
        static_cast<unsigned long long>(h.major_faults),
        static_cast<unsigned long long>(h.preemptions));
  }
}

void PrintHolds(const char* what, const bench::Histogram& h) {
  std::printf("  %s us: p50 %.1f p99 %.1f p99.9 %.1f max %.1f\n", what, h.Percentile(50) / 1e3,
              h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3, h.max() / 1e3);
}

// The command line.
struct Args {
  std::string key_text;
  int passes = 1;
  bool with_values = false;
  std::string csv_path;
  Options open_options;
};

// Parses the command line into `args`; false (with the message printed) on
// a bad argument.
bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--key=")) {
      args->key_text = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--passes=")) {
      if (!absl::SimpleAtoi(arg, &args->passes) || args->passes < 1) {
        std::fprintf(stderr, "scan_hold_bench: --passes must be a whole number >= 1\n");
        return false;
      }
    } else if (absl::ConsumePrefix(&arg, "--holds-csv=")) {
      args->csv_path = std::string(arg);
    } else if (arg == "--with-values") {
      args->with_values = true;
    } else if (arg == "--populate") {
      args->open_options.populate = true;
    } else {
      std::fprintf(stderr,
                   "usage: scan_hold_bench --key=0xKEY [--passes=N] [--with-values] "
                   "[--populate] [--holds-csv=FILE]\n");
      return false;
    }
  }
  return true;
}

// Opens --holds-csv and writes its header line; false (with the message
// printed) when it cannot be written.
bool OpenCsv(const std::string& path, std::FILE** csv) {
  *csv = std::fopen(path.c_str(), "w");
  if (*csv == nullptr) {
    std::fprintf(stderr, "scan_hold_bench: cannot write %s\n", path.c_str());
    return false;
  }
  std::fprintf(*csv,
               "pass,hold,stripe,first_home_slot,entries,start_ns,wall_ns,cpu_ns,minor_faults,"
               "major_faults,preemptions\n");
  return true;
}

// One full listing of the store and its report; false (with the message
// printed) when a Scan fails.
bool RunPass(Store& store, const ScanOptions& options, int pass, std::FILE* csv) {
  holds.Clear();
  cpu_holds.Clear();
  hold_list.clear();
  uint64_t keys = 0, calls = 0, key_bytes = 0;
  const absl::Time start = absl::Now();
  uint64_t cursor = 0;
  do {
    absl::StatusOr<uint64_t> next = store.Scan(
        cursor, 256, options, [&](absl::string_view key, absl::string_view, const EntryMeta&) {
          ++keys;
          key_bytes += key.size();
        });
    if (!next.ok()) {
      std::fprintf(stderr, "scan_hold_bench: %s\n", next.status().ToString().c_str());
      return false;
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
  PrintHoldDetails();
  if (csv != nullptr) WriteHolds(csv, pass);
  std::fflush(stdout);
  return true;
}

int Main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  absl::StatusOr<StoreName> name = StoreName::ParseKey(args.key_text);
  if (!name.ok()) {
    std::fprintf(stderr, "scan_hold_bench: --key: %s\n", name.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(*name, args.open_options, OpenMode::kAttach);
  if (!store.ok()) {
    std::fprintf(stderr, "scan_hold_bench: %s\n", store.status().ToString().c_str());
    return 3;
  }
  std::FILE* csv = nullptr;
  if (!args.csv_path.empty() && !OpenCsv(args.csv_path, &csv)) return 2;
  ReserveHoldList(kHoldsListed);
  internal::SetScanHoldObserver(&RecordHold);
  ScanOptions options;
  options.with_values = args.with_values;
  for (int pass = 1; pass <= args.passes; ++pass) {
    if (!RunPass(**store, options, pass, csv)) return 3;
  }
  internal::SetScanHoldObserver(nullptr);
  if (csv != nullptr && std::fclose(csv) != 0) {
    std::fprintf(stderr, "scan_hold_bench: writing %s failed\n", args.csv_path.c_str());
    return 3;
  }
  return 0;
}

}  // namespace
}  // namespace shmkv

int main(int argc, char** argv) { return shmkv::Main(argc, argv); }
