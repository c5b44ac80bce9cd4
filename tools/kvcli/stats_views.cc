#include "tools/kvcli/stats_views.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/util/format.h"
#include "tools/kvcli/json.h"
#include "tools/kvcli/output.h"
#include "tools/kvcli/prometheus.h"

namespace shmkv {
namespace kvcli {

std::string HistogramJson(const SizeHistogram& h) {
  std::string buckets = "[";
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    const SizeBucket& b = h.buckets[i];
    if (i > 0) buckets += ",";
    JsonObject bucket;
    bucket.U64("min_size", b.min_size)
        .U64("max_size", b.max_size)
        .U64("count", b.count)
        .U64("bytes", b.bytes);
    buckets += bucket.Build();
  }
  buckets += "]";
  JsonObject json;
  json.U64("count", h.count)
      .U64("bytes", h.bytes)
      .U64("largest", h.largest)
      .Raw("buckets", buckets);
  return json.Build();
}

uint64_t FillPpm(const StoreStats& s) {
  auto ppm = [](uint64_t part, uint64_t whole) {
    return whole == 0 ? 0 : static_cast<uint64_t>(1e6 * static_cast<double>(part) / whole);
  };
  return std::max(ppm(s.bytes_used, s.capacity), ppm(s.index_entries, s.index_limit));
}

namespace {

// "12.5%" of part in whole; "-" when whole is 0.
std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

// ---------------------------------------------------------------- sizes ---

std::string RangeText(const SizeBucket& b) {
  if (b.min_size == b.max_size) return absl::StrCat(b.min_size);
  return absl::StrCat(b.min_size, "-", b.max_size);
}

std::string HistogramText(absl::string_view what, const SizeHistogram& h) {
  std::string text =
      absl::StrFormat("%s: %s, %s in all, largest %s\n", what, Plural(h.count, "entry", "entries"),
                      util::FormatBytes(h.bytes), util::FormatBytes(h.largest));
  if (h.count == 0) return text;
  absl::StrAppend(&text, absl::StrFormat("  %-21s %12s %7s %12s %7s\n", "SIZE (BYTES)", "ENTRIES",
                                         "%", "BYTES", "%"));
  size_t first = 0;
  while (h.buckets[first].count == 0) ++first;  // the last bucket holds the largest
  for (size_t i = first; i < h.buckets.size(); ++i) {
    const SizeBucket& b = h.buckets[i];
    absl::StrAppend(&text, absl::StrFormat("  %-21s %12d %7s %12s %7s\n", RangeText(b), b.count,
                                           Percent(b.count, h.count), util::FormatBytes(b.bytes),
                                           Percent(b.bytes, h.bytes)));
  }
  return text;
}

int PrintSizes(Context& ctx, Store& store, const std::string& prefix) {
  absl::StatusOr<EntrySizes> sizes = MeasureEntrySizes(store, prefix);
  if (!sizes.ok()) return ctx.StoreFailure(sizes.status());
  if (ctx.Has("json")) {
    JsonObject json;
    json.U64("entries", sizes->values.count)
        .Raw("keys", HistogramJson(sizes->keys))
        .Raw("values", HistogramJson(sizes->values));
    ctx.Write(json.Build() + "\n");
  } else {
    ctx.Write(absl::StrCat(HistogramText("values", sizes->values), "\n",
                           HistogramText("keys", sizes->keys)));
  }
  return ctx.Finish();
}

// -------------------------------------------------------------- stripes ---

// A stripe's writes: reads are counted per CPU, not per stripe
// (doc/metrics.md), so a stripe's read load shows only in its lock waits.
uint64_t Operations(const StoreStats& s) { return s.puts + s.deletes; }

int PrintStripes(Context& ctx, Store& store) {
  absl::StatusOr<std::vector<StripeStats>> stripes = store.StatsByStripe();
  if (!stripes.ok()) return ctx.StoreFailure(stripes.status());
  if (ctx.Has("json")) {
    std::string json = "[";
    for (const StripeStats& stripe : *stripes) {
      JsonObject line;
      line.U64("stripe", stripe.stripe);
      line = StatsJson(stripe.stats, std::move(line));
      if (json.size() > 1) json += ",";
      json += line.Build();
    }
    ctx.Write(json + "]\n");
    return ctx.Finish();
  }
  std::string text = absl::StrFormat("%6s %10s %10s %6s %10s %10s %12s %12s\n", "STRIPE", "ENTRIES",
                                     "BYTES", "FULL", "EVICTIONS", "LOCK_WAITS", "PUTS", "DELETES");
  size_t hottest = 0, fullest = 0;
  uint64_t all_operations = 0;
  for (size_t i = 0; i < stripes->size(); ++i) {
    const StoreStats& s = (*stripes)[i].stats;
    absl::StrAppend(&text,
                    absl::StrFormat("%6d %10d %10s %5.1f%% %10d %10d %12d %12d\n", i, s.items,
                                    util::FormatBytes(s.bytes_used), FillPpm(s) / 1e4, s.evictions,
                                    s.lock_waits, s.puts, s.deletes));
    all_operations += Operations(s);
    if (Operations(s) > Operations((*stripes)[hottest].stats)) hottest = i;
    if (FillPpm(s) > FillPpm((*stripes)[fullest].stats)) fullest = i;
  }
  if (!stripes->empty()) {
    const StoreStats& hot = (*stripes)[hottest].stats;
    const StoreStats& full = (*stripes)[fullest].stats;
    absl::StrAppend(
        &text,
        all_operations == 0
            ? std::string("most written: none (no puts or deletes counted)")
            : absl::StrFormat("most written: stripe %d (%d puts and deletes, %s of all)", hottest,
                              Operations(hot), Percent(Operations(hot), all_operations)),
        absl::StrFormat("; most crowded: stripe %d (%.1f%% full: %d entries, %s)\n", fullest,
                        FillPpm(full) / 1e4, full.items, util::FormatBytes(full.bytes_used)));
  }
  ctx.Write(text);
  return ctx.Finish();
}

}  // namespace

int ParseStatsView(Context& ctx, StatsView* view) {
  *view = StatsView::kCounters;
  int picked = 0;
  for (auto [flag, v] :
       {std::pair{"sizes", StatsView::kSizes}, std::pair{"stripes", StatsView::kStripes},
        std::pair{"reset", StatsView::kReset}}) {
    if (!ctx.Has(flag)) continue;
    *view = v;
    ++picked;
  }
  if (picked > 1) return ctx.Usage("give one of --sizes, --stripes and --reset at a time");
  if (ctx.Has("stripes") && !ctx.Get("stripes")->empty()) {
    return ctx.Usage(absl::StrCat("stats --stripes takes no value (remove \"",
                                  Quote(*ctx.Get("stripes")),
                                  "\"); --stripes=N sets the stripes of a new store with create"));
  }
  if (const std::string* format = ctx.Get("format"); format != nullptr) {
    if (*format == "prometheus") {
      if (picked > 0) {
        return ctx.Usage(
            "--format=prometheus prints the counters: it does not go with --sizes, --stripes "
            "or --reset");
      }
      if (ctx.Has("json")) return ctx.Usage("give --json or --format=prometheus, not both");
      *view = StatsView::kPrometheus;
    } else if (*format != "text") {
      return ctx.Usage(absl::StrCat("--format=\"", Quote(*format),
                                    "\" is not a stats format: use text (the default) or "
                                    "prometheus"));
    }
  }
  if (ctx.Has("watch") && *view != StatsView::kCounters) {
    return ctx.Usage(
        "--watch refreshes the counters as text or --json; leave out --sizes, --stripes, "
        "--reset and --format=prometheus");
  }
  if ((ctx.Has("prefix") || ctx.Has("escaped")) && *view != StatsView::kSizes) {
    return ctx.Usage("--prefix (and --escaped) go with --sizes: kvcli stats --sizes --prefix=P");
  }
  std::string prefix;
  if (absl::Status s = ctx.PrefixFlag(&prefix); !s.ok()) return ctx.Usage(s.message());
  if (*view == StatsView::kReset && ctx.Has("json")) {
    return ctx.Usage("--reset prints one line of text; leave out --json");
  }
  return kExitOk;
}

int RunStatsView(Context& ctx, Store& store, StatsView view) {
  switch (view) {
    case StatsView::kCounters:
      break;
    case StatsView::kPrometheus: {
      absl::StatusOr<StoreStats> stats = store.Stats();
      if (!stats.ok()) return ctx.StoreFailure(stats.status());
      PrometheusWriter text;
      WriteStatsFamilies(text, {{{{"store", KeyHex(ctx.name().key())}}, *stats}});
      ctx.Write(text.text());
      return ctx.Finish();
    }
    case StatsView::kSizes: {
      std::string prefix;
      (void)ctx.PrefixFlag(&prefix);  // ParseStatsView checked it
      return PrintSizes(ctx, store, prefix);
    }
    case StatsView::kStripes:
      return PrintStripes(ctx, store);
    case StatsView::kReset: {
      if (absl::Status s = store.ResetCounters(); !s.ok()) return ctx.StoreFailure(s);
      ctx.Write(
          "reset the counters (hits, misses, puts, deletes, evictions, expirations, lock waits, "
          "owner deaths); entries and bytes are unchanged\n");
      return ctx.Finish();
    }
  }
  return ctx.Fail(kExitUsage, "no such stats view");
}

}  // namespace kvcli
}  // namespace shmkv
