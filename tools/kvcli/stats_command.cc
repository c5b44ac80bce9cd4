// kvcli stats: the store's counters once, or every interval (--watch) with
// rates, until --count frames or SIGINT/SIGTERM. The other views (--sizes,
// --stripes, --reset, --format=prometheus) are in stats_views.cc.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "kv/util/format.h"
#include "shmkv/clock.h"
#include "shmkv/near/sync_state.h"
#include "tools/kvcli/commands.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/near_sync.h"
#include "tools/kvcli/stats_views.h"
#include "tools/kvcli/stop_signals.h"

namespace shmkv {
namespace kvcli {
namespace {

double Ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? std::nan("") : static_cast<double>(part) / static_cast<double>(whole);
}

std::string PercentText(double ratio) {
  if (std::isnan(ratio)) return "-";
  return absl::StrFormat("%.1f%%", ratio * 100.0);
}

struct Rates {
  bool valid = false;
  double seconds = 0;
  double gets = 0, hits = 0, misses = 0, puts = 0, deletes = 0, evictions = 0, expirations = 0,
         lock_waits = 0;
  double interval_hit_ratio = std::nan("");
};

Rates ComputeRates(const StoreStats& before, const StoreStats& after, absl::Duration elapsed) {
  Rates r;
  r.seconds = absl::ToDoubleSeconds(elapsed);
  if (r.seconds <= 0) return r;
  r.valid = true;
  // Counters may go down (e.g. a repair); treat that as no activity.
  auto per_sec = [&](uint64_t a, uint64_t b) {
    return b >= a ? static_cast<double>(b - a) / r.seconds : 0.0;
  };
  r.hits = per_sec(before.hits, after.hits);
  r.misses = per_sec(before.misses, after.misses);
  r.gets = r.hits + r.misses;
  r.puts = per_sec(before.puts, after.puts);
  r.deletes = per_sec(before.deletes, after.deletes);
  r.evictions = per_sec(before.evictions, after.evictions);
  r.expirations = per_sec(before.expirations, after.expirations);
  r.lock_waits = per_sec(before.lock_waits, after.lock_waits);
  if (r.gets > 0) r.interval_hit_ratio = r.hits / r.gets;
  return r;
}

}  // namespace

JsonObject StatsJson(const StoreStats& s, JsonObject json) {
  json.U64("items", s.items)
      .U64("hits", s.hits)
      .U64("misses", s.misses)
      .U64("puts", s.puts)
      .U64("deletes", s.deletes)
      .U64("evictions", s.evictions)
      .U64("expirations", s.expirations)
      .U64("key_bytes", s.key_bytes)
      .U64("value_bytes", s.value_bytes)
      .U64("bytes_used", s.bytes_used)
      .U64("capacity", s.capacity)
      .U64("index_entries", s.index_entries)
      .U64("index_limit", s.index_limit)
      .U64("lock_waits", s.lock_waits)
      .U64("owner_deaths_recovered", s.owner_deaths_recovered)
      .Double("hit_ratio", Ratio(s.hits, s.hits + s.misses));
  return json;
}

namespace {

std::string StatsText(const StoreStats& s, const Rates* rates) {
  std::string text;
  auto row = [&](absl::string_view label, uint64_t total, double rate) {
    if (rates == nullptr) {
      absl::StrAppend(&text, absl::StrFormat("%-13s %14d\n", label, total));
    } else if (rates->valid) {
      absl::StrAppend(&text, absl::StrFormat("%-13s %14d %14.1f\n", label, total, rate));
    } else {
      absl::StrAppend(&text, absl::StrFormat("%-13s %14d %14s\n", label, total, "-"));
    }
  };
  if (rates != nullptr)
    absl::StrAppend(&text, absl::StrFormat("%-13s %14s %14s\n", "", "total", "per second"));
  row("gets", s.hits + s.misses, rates ? rates->gets : 0);
  row("  hits", s.hits, rates ? rates->hits : 0);
  row("  misses", s.misses, rates ? rates->misses : 0);
  row("puts", s.puts, rates ? rates->puts : 0);
  row("deletes", s.deletes, rates ? rates->deletes : 0);
  row("evictions", s.evictions, rates ? rates->evictions : 0);
  row("expirations", s.expirations, rates ? rates->expirations : 0);
  row("lock waits", s.lock_waits, rates ? rates->lock_waits : 0);
  std::string ratio = PercentText(Ratio(s.hits, s.hits + s.misses));
  if (rates != nullptr && rates->valid) {
    absl::StrAppend(&ratio, " (last interval ", PercentText(rates->interval_hit_ratio), ")");
  }
  absl::StrAppend(&text, absl::StrFormat("%-13s %s\n", "hit ratio", ratio));
  absl::StrAppend(&text, absl::StrFormat("%-13s %d\n", "entries", s.items));
  absl::StrAppend(
      &text, absl::StrFormat("%-13s %s of %s (%s); keys %s, values %s\n", "bytes used",
                             util::FormatBytes(s.bytes_used), util::FormatBytes(s.capacity),
                             PercentText(Ratio(s.bytes_used, s.capacity)),
                             util::FormatBytes(s.key_bytes), util::FormatBytes(s.value_bytes)));
  absl::StrAppend(
      &text, absl::StrFormat("%-13s %d of %d entries (%s)\n", "hash index", s.index_entries,
                             s.index_limit, PercentText(Ratio(s.index_entries, s.index_limit))));
  if (s.owner_deaths_recovered > 0) {
    absl::StrAppend(&text, absl::StrFormat("%-13s %d (locks recovered from dead processes)\n",
                                           "owner deaths", s.owner_deaths_recovered));
  }
  return text;
}

}  // namespace

namespace {

// --watch[=INTERVAL] and --count: how often and how many frames.
struct Watch {
  bool on = false;
  absl::Duration interval = absl::Seconds(1);
  uint64_t count = 0;  // 0: until stopped
};

// The watch flags, checked. 0, or the exit code after reporting.
int ParseWatch(Context& ctx, Watch* watch) {
  watch->on = ctx.Has("watch");
  if (watch->on && !ctx.Get("watch")->empty()) {
    if (absl::Status s = ctx.DurationFlag("watch", &watch->interval); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (watch->interval < absl::Milliseconds(10)) {
      return ctx.Usage("--watch interval must be at least 10ms (e.g. --watch=2 for 2 seconds)");
    }
  }
  if (ctx.Has("count")) {
    if (!watch->on) return ctx.Usage("--count goes with --watch");
    if (absl::Status s = ctx.UnsignedFlag("count", UINT64_MAX, false, &watch->count); !s.ok()) {
      return ctx.Usage(s.message());
    }
    if (watch->count == 0) return ctx.Usage("--count must be at least 1");
  }
  return 0;
}

// The counters once, with kvsync's state if it ever ran.
int PrintStatsOnce(Context& ctx, Store& store, bool json) {
  absl::StatusOr<StoreStats> stats = store.Stats();
  if (!stats.ok()) return ctx.StoreFailure(stats.status());
  const NearSyncView sync = DescribeNearSync(store);
  if (json) {
    JsonObject line = StatsJson(*stats);
    if (sync.present) line.Raw("near_sync", sync.json);
    ctx.Write(line.Build() + "\n");
  } else {
    std::string text = StatsText(*stats, nullptr);
    if (sync.present)
      absl::StrAppend(&text, absl::StrFormat("%-13s %s\n", "near cache", sync.line));
    ctx.Write(text);
  }
  return ctx.Finish();
}

// One --watch --json line: the counters, and the rates once there are two
// frames (null before).
std::string WatchJsonLine(const StoreStats& stats, absl::Time now, const Rates& rates,
                          absl::Duration interval_taken) {
  JsonObject line = StatsJson(stats);
  line.I64("time_ms", absl::ToUnixMillis(now));
  if (rates.valid) {
    line.I64("interval_ms", absl::ToInt64Milliseconds(interval_taken))
        .Double("ops_per_sec", rates.gets + rates.puts + rates.deletes, 1)
        .Double("gets_per_sec", rates.gets, 1)
        .Double("puts_per_sec", rates.puts, 1)
        .Double("deletes_per_sec", rates.deletes, 1)
        .Double("evictions_per_sec", rates.evictions, 1)
        .Double("expirations_per_sec", rates.expirations, 1)
        .Double("interval_hit_ratio", rates.interval_hit_ratio);
  } else {
    line.Null("interval_ms")
        .Null("ops_per_sec")
        .Null("gets_per_sec")
        .Null("puts_per_sec")
        .Null("deletes_per_sec")
        .Null("evictions_per_sec")
        .Null("expirations_per_sec")
        .Null("interval_hit_ratio");
  }
  return line.Build() + "\n";
}

// One --watch text frame: on a terminal it redraws the screen, otherwise it
// follows the previous frame after a blank line.
std::string WatchTextFrame(Context& ctx, const StoreStats& stats, absl::Time now,
                           const Rates& rates, const Watch& watch, bool tty, bool first) {
  std::string frame;
  if (tty) {
    frame = "\x1b[H\x1b[2J";  // cursor home, clear screen
  } else if (!first) {
    frame = "\n";
  }
  absl::StrAppend(
      &frame, ctx.name().ToString(), "  ", absl::FormatTime("%H:%M:%S", now, absl::LocalTimeZone()),
      "  every ", util::FormatDuration(watch.interval),
      rates.valid ? absl::StrFormat(", %.1f ops/s", rates.gets + rates.puts + rates.deletes)
                  : std::string(),
      tty ? "  (Ctrl-C quits)" : "", "\n");
  absl::StrAppend(&frame, StatsText(stats, &rates));
  return frame;
}

// --watch: a frame every interval until --count frames or a stop signal.
int WatchStats(Context& ctx, Store& store, const Watch& watch, bool json) {
  const bool tty = isatty(fileno(ctx.out())) == 1;
  StopSignals signals;
  StoreStats previous;
  int64_t previous_ns = 0;  // CLOCK_MONOTONIC, which wall-clock steps do not move
  for (uint64_t i = 0; watch.count == 0 || i < watch.count; ++i) {
    if (i > 0) signals.SleepUnlessStopped(watch.interval);
    if (signals.stopped()) break;
    absl::StatusOr<StoreStats> stats = store.Stats();
    if (!stats.ok()) return ctx.StoreFailure(stats.status());
    // Shown and written as time_ms only. Read from the system each frame:
    // absl::Now() extrapolates from the cycle counter and asks the system
    // about every two seconds, so it shows a wall-clock step late.
    const absl::Time now = absl::FromUnixMillis(SystemClock::Get()->NowMillis());
    const int64_t now_ns = near::MonotonicNowNs();
    const absl::Duration interval_taken = absl::Nanoseconds(now_ns - previous_ns);
    Rates rates;
    if (i > 0) rates = ComputeRates(previous, *stats, interval_taken);
    ctx.Write(json ? WatchJsonLine(*stats, now, rates, interval_taken)
                   : WatchTextFrame(ctx, *stats, now, rates, watch, tty, i == 0));
    if (!ctx.FlushOut()) return ctx.Fail(kExitStore, "cannot write to stdout");
    previous = *stats;
    previous_ns = now_ns;
  }
  return kExitOk;
}

}  // namespace

int RunStats(Context& ctx) {
  Watch watch;
  if (int code = ParseWatch(ctx, &watch)) return code;
  StatsView view;
  if (int code = ParseStatsView(ctx, &view)) return code;
  return ctx.WithStore([&](Store& store) {
    if (view != StatsView::kCounters) return RunStatsView(ctx, store, view);
    const bool json = ctx.Has("json");
    if (!watch.on) return PrintStatsOnce(ctx, store, json);
    return WatchStats(ctx, store, watch, json);
  });
}

}  // namespace kvcli
}  // namespace shmkv
