#include "tools/kvcli/serve_page.h"

#include "absl/strings/str_replace.h"
#include "tools/kvcli/dashboard_files.h"

namespace shmkv {
namespace kvcli {

std::string DashboardHtml(bool show_keys) {
  return absl::StrReplaceAll(DashboardHtmlFile(), {{"{{show_keys}}", show_keys ? "1" : "0"}});
}

absl::string_view DashboardJs() { return DashboardJsFile(); }

}  // namespace kvcli
}  // namespace shmkv
