#include "tools/kvcli/output.h"

#include <pwd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kv/util/format.h"

namespace shmkv {
namespace kvcli {

std::string KeyHex(key_t key) { return absl::StrFormat("0x%08x", static_cast<uint32_t>(key)); }

std::string ErrnoText(int err) { return std::strerror(err); }

std::string ModeText(int mode) { return absl::StrFormat("0%03o", mode & 0777); }

std::string UserName(uid_t uid) {
  struct passwd pw;
  struct passwd* result = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &pw, buffer, sizeof(buffer), &result) != 0 || result == nullptr) return "";
  return result->pw_name != nullptr ? std::string(result->pw_name) : std::string();
}

std::string TtlText(absl::Duration ttl) {
  if (ttl == absl::InfiniteDuration()) return "none";
  return util::FormatDuration(absl::Milliseconds(TtlMillis(ttl)));
}

int64_t TtlMillis(absl::Duration ttl) {
  if (ttl == absl::InfiniteDuration()) return -1;
  int64_t ms = absl::ToInt64Milliseconds(ttl);
  return ms < 1 ? 1 : ms;  // a live entry has some time left
}

std::string OneLine(absl::string_view message) {
  std::string line;
  line.reserve(message.size());
  for (char c : message) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      absl::StrAppend(&line, absl::StrFormat("\\x%02x", b));
    } else {
      line += c;
    }
  }
  return line;
}

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

}  // namespace kvcli
}  // namespace shmkv
