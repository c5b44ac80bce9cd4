// How a store is named: an explicit System V IPC key, or a file path and a
// project id turned into a key by ftok(3).
//
// ftok's traps: the file must exist when the store is opened; ftok combines
// the file's inode and device numbers with the project id, so deleting and
// re-creating the file (even with the same path) yields another key, and two
// different paths can yield the same key. The store header records the name
// it was created under, so tools can show it (kvcli info, kvcli ls).
#ifndef SHMKV_KV_STORE_NAME_H_
#define SHMKV_KV_STORE_NAME_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace shmkv {

class StoreName {
 public:
  // `key` must not be IPC_PRIVATE (0).
  static absl::StatusOr<StoreName> FromKey(key_t key);
  // `proj_id` must be 1..255 (ftok uses its low 8 bits; 0 is reserved here).
  static absl::StatusOr<StoreName> FromPath(absl::string_view path, int proj_id = 1);
  // Parses "0x5f3e0001" or a decimal key, as util::ParseIpcKey does (the
  // parser kvcli's --key uses): hex with a 0x/0X prefix or decimal, in
  // 1..0xffffffff; no spaces or signs.
  static absl::StatusOr<StoreName> ParseKey(absl::string_view text);

  key_t key() const { return key_; }
  const std::string& path() const { return path_; }  // empty when named by key
  int proj_id() const { return proj_id_; }
  // "key 0x5f3e0001" or "path /var/run/app.cache proj 1 (key 0x...)", for
  // messages: the path escaped as kvcli ls and info show it (bytes outside
  // printable ASCII as \xHH, a backslash as \\), so a file name cannot
  // break a message into lines or fake its text.
  std::string ToString() const;

 private:
  StoreName(key_t key, std::string path, int proj_id)
      : key_(key), path_(std::move(path)), proj_id_(proj_id) {}
  key_t key_;
  std::string path_;
  int proj_id_ = 0;
};

}  // namespace shmkv

#endif  // SHMKV_KV_STORE_NAME_H_
