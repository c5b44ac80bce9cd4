// The dashboard's files (tools/kvcli/dashboard.html and dashboard.js), as
// built into kvcli: dashboard_files.cc is generated from them at build time
// by embed_files.sh.
#ifndef SHMKV_TOOLS_KVCLI_DASHBOARD_FILES_H_
#define SHMKV_TOOLS_KVCLI_DASHBOARD_FILES_H_

#include "absl/strings/string_view.h"

namespace shmkv {
namespace kvcli {

absl::string_view DashboardHtmlFile();
absl::string_view DashboardJsFile();

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_DASHBOARD_FILES_H_
