#include "tools/kvcli/prometheus.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shmkv {
namespace kvcli {
namespace {

struct Family {
  const char* name;
  const char* type;  // counter or gauge
  const char* help;
  uint64_t StoreStats::*field;
};

constexpr Family kFamilies[] = {
    {"shmkv_hits_total", "counter", "Reads that found their key.", &StoreStats::hits},
    {"shmkv_misses_total", "counter", "Reads that did not find their key.", &StoreStats::misses},
    {"shmkv_puts_total", "counter", "Writes.", &StoreStats::puts},
    {"shmkv_deletes_total", "counter", "Entries deleted on request.", &StoreStats::deletes},
    {"shmkv_evictions_total", "counter", "Entries evicted to make room.", &StoreStats::evictions},
    {"shmkv_expirations_total", "counter", "Entries removed because their TTL ran out.",
     &StoreStats::expirations},
    {"shmkv_lock_waits_total", "counter", "Stripe lock acquisitions that found the lock held.",
     &StoreStats::lock_waits},
    {"shmkv_owner_deaths_recovered_total", "counter",
     "Stripe locks recovered from a process that died holding them.",
     &StoreStats::owner_deaths_recovered},
    {"shmkv_items", "gauge", "Live entries.", &StoreStats::items},
    {"shmkv_key_bytes", "gauge", "Bytes of the live entries' keys.", &StoreStats::key_bytes},
    {"shmkv_value_bytes", "gauge", "Bytes of the live entries' values.", &StoreStats::value_bytes},
    {"shmkv_used_bytes", "gauge", "Arena bytes held by live entries, headers included.",
     &StoreStats::bytes_used},
    {"shmkv_log_bytes", "gauge", "Arena bytes between the logs' tails and heads.",
     &StoreStats::log_bytes},
    {"shmkv_capacity_bytes", "gauge", "Arena bytes for entries.", &StoreStats::capacity},
    {"shmkv_index_entries", "gauge", "Occupied hash index entries.", &StoreStats::index_entries},
    {"shmkv_index_limit", "gauge", "Entries the hash index can hold.", &StoreStats::index_limit},
};

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void PrometheusWriter::Family(absl::string_view name, absl::string_view type,
                              absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void PrometheusWriter::Series(absl::string_view name, const PromLabels& labels) {
  absl::StrAppend(&text_, name);
  if (labels.empty()) {
    text_ += ' ';
    return;
  }
  text_ += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    absl::StrAppend(&text_, i == 0 ? "" : ",", labels[i].first, "=\"",
                    EscapeLabelValue(labels[i].second), "\"");
  }
  text_ += "} ";
}

void PrometheusWriter::Sample(absl::string_view name, const PromLabels& labels, uint64_t value) {
  Series(name, labels);
  absl::StrAppend(&text_, value, "\n");
}

void PrometheusWriter::Sample(absl::string_view name, const PromLabels& labels, double value) {
  Series(name, labels);
  if (std::isnan(value)) {
    text_ += "NaN\n";
  } else if (std::isinf(value)) {
    text_ += value > 0 ? "+Inf\n" : "-Inf\n";
  } else {
    absl::StrAppend(&text_, absl::StrFormat("%.17g", value), "\n");
  }
}

void WriteStatsFamilies(PrometheusWriter& out, const std::vector<LabelledStats>& stores) {
  if (stores.empty()) return;
  for (const Family& f : kFamilies) {
    out.Family(f.name, f.type, f.help);
    for (const LabelledStats& store : stores)
      out.Sample(f.name, store.labels, store.stats.*f.field);
  }
}

}  // namespace kvcli
}  // namespace shmkv
