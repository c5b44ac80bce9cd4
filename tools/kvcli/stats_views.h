// kvcli stats's other views of a store: --sizes, --stripes, --reset and
// --format=prometheus (stats_command.cc prints the counters and --watch).
#ifndef SHMKV_TOOLS_KVCLI_STATS_VIEWS_H_
#define SHMKV_TOOLS_KVCLI_STATS_VIEWS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "shmkv/store.h"
#include "shmkv/store_stats.h"
#include "tools/kvcli/context.h"
#include "tools/kvcli/json.h"

namespace shmkv {
namespace kvcli {

enum class StatsView {
  kCounters,    // the default, and --watch
  kPrometheus,  // --format=prometheus
  kSizes,       // --sizes
  kStripes,     // --stripes
  kReset,       // --reset
};

// Checks the flags that pick a view and how they combine with --json and
// --watch; sets *view, or reports a usage error and returns its exit code.
int ParseStatsView(Context& ctx, StatsView* view);

// Prints `view` (not kCounters) of `store`; returns the exit status.
int RunStatsView(Context& ctx, Store& store, StatsView view);

// The fields of kvcli stats --json appended to `json` (stats_command.cc).
JsonObject StatsJson(const StoreStats& stats, JsonObject json = JsonObject());

// stats --sizes --json's object for one histogram (keys or values).
std::string HistogramJson(const SizeHistogram& histogram);

// How full a stripe is: the larger of its arena and its index share, in
// millionths (so that stripes compare exactly).
uint64_t FillPpm(const StoreStats& stats);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_STATS_VIEWS_H_
