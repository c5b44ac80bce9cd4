// What kvcli serve answers, made from a scrape of the host (serve_scrape.h):
// the Prometheus text of /metrics and the JSON of /api/stores (doc/serve.md).
#ifndef SHMKV_TOOLS_KVCLI_SERVE_RENDER_H_
#define SHMKV_TOOLS_KVCLI_SERVE_RENDER_H_

#include <cstdint>
#include <string>

#include "tools/kvcli/serve_scrape.h"

namespace shmkv {
namespace kvcli {

// /metrics: every store's families, then the exporter's own.
std::string MetricsText(const HostScrape& host, uint64_t scrapes, uint64_t errors_total);

// /api/stores: one summary per store.
std::string StoresJson(const HostScrape& host);

// /api/stores/KEY: everything about one store; the largest entries' key
// names only when `show_keys`.
std::string StoreJson(const HostScrape& host, const StoreScrape& store, bool show_keys);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_SERVE_RENDER_H_
