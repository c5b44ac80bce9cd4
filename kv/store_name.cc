#include "shmkv/store_name.h"

#include <errno.h>
#include <sys/ipc.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "kv/platform/ipc.h"
#include "kv/util/escape.h"
#include "kv/util/parse.h"

namespace shmkv {

absl::StatusOr<StoreName> StoreName::FromKey(key_t key) {
  if (key == IPC_PRIVATE) {
    return absl::InvalidArgumentError(
        "key 0 is IPC_PRIVATE and cannot name a shared store; pick another key");
  }
  return StoreName(key, "", 0);
}

absl::StatusOr<StoreName> StoreName::FromPath(absl::string_view path, int proj_id) {
  if (path.empty()) return absl::InvalidArgumentError("store path is empty");
  if (proj_id < 1 || proj_id > 255) {
    return absl::InvalidArgumentError(absl::StrCat("project id ", proj_id, " is outside 1..255"));
  }
  std::string p(path);
  key_t key = ftok(p.c_str(), proj_id);
  if (key == -1) {
    int err = errno;
    return absl::NotFoundError(absl::StrCat("cannot derive a key from ", p, ": ", strerror(err),
                                            "; the file must exist (create it, e.g. touch ", p,
                                            ")"));
  }
  return StoreName(key, std::move(p), proj_id);
}

absl::StatusOr<StoreName> StoreName::ParseKey(absl::string_view text) {
  absl::StatusOr<key_t> key = util::ParseIpcKey(text);
  if (!key.ok()) return key.status();
  return FromKey(*key);
}

std::string StoreName::ToString() const {
  if (path_.empty()) return absl::StrCat("key ", platform::KeyToString(key_));
  return absl::StrCat("path ", util::EscapeKey(path_), " proj ", proj_id_, " (key ",
                      platform::KeyToString(key_), ")");
}

}  // namespace shmkv
