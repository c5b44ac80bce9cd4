// The Prometheus text exposition format (version 0.0.4): the one writer of
// it, for kvcli stats --format=prometheus (one store) and kvcli serve's
// /metrics (every store on the host). doc/metrics.md lists the families.
#ifndef SHMKV_TOOLS_KVCLI_PROMETHEUS_H_
#define SHMKV_TOOLS_KVCLI_PROMETHEUS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "shmkv/store.h"

namespace shmkv {
namespace kvcli {

// Label names and values, in order: {{"store", "0x5f3e0001"}}.
using PromLabels = std::vector<std::pair<std::string, std::string>>;

// Writes families one after another: Family() prints the # HELP and # TYPE
// lines, then the samples of that family follow. Each family once.
class PrometheusWriter {
 public:
  // `type`: counter, gauge or histogram.
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  // `name` is the family's name, or for a histogram its _bucket, _sum or
  // _count series. Label values are escaped (\\, \" and \n).
  void Sample(absl::string_view name, const PromLabels& labels, uint64_t value);
  void Sample(absl::string_view name, const PromLabels& labels, double value);
  const std::string& text() const { return text_; }

 private:
  void Series(absl::string_view name, const PromLabels& labels);
  std::string text_;
};

// One store's counters with the labels of its samples.
struct LabelledStats {
  PromLabels labels;
  StoreStats stats;
};

// The counters and gauges of Store::Stats (doc/metrics.md), each family
// followed by one sample per store; nothing for no store.
void WriteStatsFamilies(PrometheusWriter& out, const std::vector<LabelledStats>& stores);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_PROMETHEUS_H_
