// kvcli serve's dashboard: one page and its script (dashboard.html and
// dashboard.js here, built into kvcli), which draw the host's stores from
// the JSON API with Debian's Chart.js (served as /chart.min.js).
#ifndef SHMKV_TOOLS_KVCLI_SERVE_PAGE_H_
#define SHMKV_TOOLS_KVCLI_SERVE_PAGE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace shmkv {
namespace kvcli {

// The page; `show_keys` says whether the largest entries' keys are shown.
std::string DashboardHtml(bool show_keys);
// /dashboard.js.
absl::string_view DashboardJs();

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_SERVE_PAGE_H_
