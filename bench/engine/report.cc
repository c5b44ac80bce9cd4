#include "bench/engine/report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/util/json.h"

namespace shmkv {
namespace bench {

namespace {

double Micros(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

std::string HumanCount(double v) {
  if (v >= 1e9) return absl::StrFormat("%.2fG", v / 1e9);
  if (v >= 1e6) return absl::StrFormat("%.2fM", v / 1e6);
  if (v >= 1e3) return absl::StrFormat("%.1fk", v / 1e3);
  return absl::StrFormat("%.0f", v);
}

Progress::Progress(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

void Progress::Show(absl::string_view phase, double fraction, double rate) {
  if (quiet_) return;
  const uint64_t now = platform::MonotonicNanos();
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

void Progress::Clear() {
  if (drawn_) {
    std::fprintf(stderr, "\r%s\r", std::string(78, ' ').c_str());
    std::fflush(stderr);
    drawn_ = false;
  }
}

RunTotals SumSlots(const ThreadSlot* slots, const WorkloadConfig& config) {
  RunTotals totals;
  uint64_t first_start = UINT64_MAX, last_end = 0;
  for (int p = 0; p < config.procs; ++p) {
    uint64_t p_ops = 0, p_start = UINT64_MAX, p_end = 0;
    for (int t = 0; t < config.threads; ++t) {
      const ThreadSlot& s = slots[p * config.threads + t];
      totals.latency.Merge(s.hist);
      totals.ops += s.ops;
      totals.gets += s.gets;
      totals.hits += s.hits;
      totals.misses += s.misses;
      totals.puts += s.puts;
      totals.errors += s.errors;
      if (s.errors > 0 && totals.first_error.empty()) totals.first_error = s.error;
      if (s.ops > 0) {
        p_ops += s.ops;
        p_start = std::min(p_start, s.start_ns);
        p_end = std::max(p_end, s.end_ns);
      }
    }
    totals.per_proc.push_back(p_end > p_start ? static_cast<double>(p_ops) * 1e9 /
                                                    static_cast<double>(p_end - p_start)
                                              : 0);
    if (p_ops > 0) {
      first_start = std::min(first_start, p_start);
      last_end = std::max(last_end, p_end);
    }
  }
  totals.seconds = last_end > first_start ? static_cast<double>(last_end - first_start) / 1e9 : 0;
  totals.ops_per_sec = totals.seconds > 0 ? static_cast<double>(totals.ops) / totals.seconds : 0;
  return totals;
}

namespace {

// The human report.
void PrintHuman(FILE* out, const std::string& label, const WorkloadConfig& config,
                const RunTotals& t, const std::vector<std::pair<std::string, std::string>>& extra) {
  const char* unit = config.fork_processes ? "process" : "thread group";
  std::fprintf(
      out,
      "%s: %d %s%s x %d thread%s, %s keys, key %zu B, value %s B, %.4g%% get, %s,%s %.2f s "
      "measured\n",
      label.c_str(), config.procs, unit,
      config.procs == 1 ? "" : (config.fork_processes ? "es" : "s"), config.threads,
      config.threads == 1 ? "" : "s", HumanCount(static_cast<double>(config.keys)).c_str(),
      config.key_size, config.ValueSizeText().c_str(), config.read_pct, config.DistText().c_str(),
      config.batch == 1 ? "" : absl::StrCat(" ", config.batch, " keys per request,").c_str(),
      t.seconds);
  std::string per;
  for (double r : t.per_proc) absl::StrAppend(&per, " ", HumanCount(r));
  std::fprintf(out, "  throughput  %s ops/s (%.0f); per %s:%s\n", HumanCount(t.ops_per_sec).c_str(),
               t.ops_per_sec, unit, per.c_str());
  if (config.batch > 1) {
    std::fprintf(out, "  requests    %llu of up to %d keys; the latencies below are per request\n",
                 static_cast<unsigned long long>(t.latency.count()), config.batch);
  }
  std::fprintf(out, "  latency us  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
               Micros(t.latency.Percentile(50)), Micros(t.latency.Percentile(90)),
               Micros(t.latency.Percentile(99)), Micros(t.latency.Percentile(99.9)),
               Micros(t.latency.max()));
  std::fprintf(
      out, "  ops         %llu: %llu gets (%llu misses, hit ratio %s), %llu puts, %llu errors\n",
      static_cast<unsigned long long>(t.ops), static_cast<unsigned long long>(t.gets),
      static_cast<unsigned long long>(t.misses),
      t.gets ? absl::StrFormat("%.4f", static_cast<double>(t.hits) / static_cast<double>(t.gets))
                   .c_str()
             : "n/a",
      static_cast<unsigned long long>(t.puts), static_cast<unsigned long long>(t.errors));
  if (!t.first_error.empty()) std::fprintf(out, "  first error: %s\n", t.first_error.c_str());
  for (const auto& [k, v] : extra) std::fprintf(out, "  %-11s %s\n", k.c_str(), v.c_str());
}

// The JSON line.
void PrintJson(const std::string& label, const WorkloadConfig& config, const RunTotals& t,
               const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> per_proc;
  for (double r : t.per_proc) per_proc.push_back(absl::StrFormat("%.0f", r));
  util::JsonObject j;
  j.Str("system", label)
      .I64("procs", config.procs)
      .I64("threads", config.threads)
      .U64("keys", config.keys)
      .U64("key_size", config.key_size)
      .Str("value_size", config.ValueSizeText())
      .Raw("read_pct", absl::StrFormat("%g", config.read_pct))
      .Str("dist", config.DistText())
      .I64("batch", config.batch)
      .U64("requests", t.latency.count())
      .Bool("prefault", config.prefault && config.fork_processes)
      .Double("measured_s", t.seconds, 3)
      .U64("ops", t.ops)
      .Double("ops_per_sec", t.ops_per_sec, 0)
      .Double("p50_us", Micros(t.latency.Percentile(50)), 3)
      .Double("p90_us", Micros(t.latency.Percentile(90)), 3)
      .Double("p99_us", Micros(t.latency.Percentile(99)), 3)
      .Double("p999_us", Micros(t.latency.Percentile(99.9)), 3)
      .Double("max_us", Micros(t.latency.max()), 3);
  if (t.gets > 0) {
    j.Double("hit_ratio", static_cast<double>(t.hits) / static_cast<double>(t.gets), 4);
  } else {
    j.Null("hit_ratio");
  }
  j.U64("gets", t.gets)
      .U64("misses", t.misses)
      .U64("puts", t.puts)
      .U64("errors", t.errors)
      .Array("per_process_ops_per_sec", per_proc);
  for (const auto& [k, v] : extra) j.Raw(k, v);
  if (!t.first_error.empty()) j.Str("first_error", t.first_error);
  std::fprintf(stdout, "%s\n", j.Build().c_str());
}

}  // namespace

void PrintReport(const std::string& label, const WorkloadConfig& config, const RunTotals& totals,
                 const std::vector<std::pair<std::string, std::string>>& extra) {
  // Human report: stdout, or stderr when stdout carries the JSON line.
  PrintHuman(config.json ? stderr : stdout, label, config, totals, extra);
  if (config.json) PrintJson(label, config, totals, extra);
  std::fflush(stdout);
}

}  // namespace bench
}  // namespace shmkv
