// kvcli serve's dashboard: one page and its script, which draw the host's
// stores from the JSON API with Debian's Chart.js (served as /chart.min.js).
#ifndef SHMKV_TOOLS_KVCLI_SERVE_PAGE_H_
#define SHMKV_TOOLS_KVCLI_SERVE_PAGE_H_

#include <string>

namespace shmkv {
namespace kvcli {

// The page; `show_keys` says whether the largest entries' keys are shown.
std::string DashboardHtml(bool show_keys);
// /dashboard.js.
const char* DashboardJs();

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_SERVE_PAGE_H_
