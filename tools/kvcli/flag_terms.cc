#include "tools/kvcli/flag_terms.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tools/kvcli/output.h"

namespace shmkv {
namespace kvcli {
namespace {

// The flags that select `name`: "--key=0x5f3e0001" or "--path=P --proj=N".
std::string Selector(const StoreName* name) {
  if (name == nullptr) return "--key=KEY";
  if (name->path().empty()) return absl::StrCat("--key=", KeyHex(name->key()));
  return absl::StrCat("--path=", name->path(), " --proj=", name->proj_id());
}

}  // namespace

std::string InKvcliTerms(absl::string_view message, const StoreName* name) {
  const std::string store = Selector(name);
  // At each position absl::StrReplaceAll takes the longest term that
  // matches, so a whole phrase wins over the terms inside it.
  return absl::StrReplaceAll(
      message, {{"OpenMode::kCreate and Options::capacity_bytes, e.g. 64 MiB",
                 absl::StrCat("kvcli create ", store, " --capacity=64MiB")},
                {"DestroyStore and DestroyOptions::allow_foreign_owner",
                 absl::StrCat("kvcli destroy ", store, " --allow-foreign-owner")},
                {"DestroyStore", absl::StrCat("kvcli destroy ", store)},
                {"set DestroyOptions::allow_foreign_owner", "pass --allow-foreign-owner"},
                {"set Options::allow_foreign_owner", "pass --allow-foreign-owner"},
                {"open the store from a process of that user",
                 absl::StrCat("run kvcli info ", store, " as that user")},
                {"Store::Check(repair)", "kvcli check --repair"},
                {"Options::capacity_bytes = 64 MiB", "--capacity=64MiB"},
                {"Options::capacity_bytes", "--capacity"},
                {"Options::expected_items", "--items"},
                {"Options::mode", "--mode"}});
}

}  // namespace kvcli
}  // namespace shmkv
