#include "bench/engine/prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace shmkv {
namespace bench {

uint64_t PrefaultSharedMappings() {
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return 0;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  uint64_t total = 0;
  char line[4096];
  std::vector<unsigned char> resident;
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    unsigned long start, end;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3)
      continue;
    const absl::string_view path = absl::StripTrailingAsciiWhitespace(line + path_at);
    if (perms[0] != 'r' || perms[3] != 's') continue;
    if (!absl::StartsWith(path, "/SYSV") && !absl::StartsWith(path, "/dev/shm/")) continue;
    const size_t len = end - start;
    resident.assign(len / page, 0);
    char* base = reinterpret_cast<char*>(start);
    if (mincore(base, len, resident.data()) != 0) continue;
    for (size_t i = 0; i < resident.size();) {
      if (!(resident[i] & 1)) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < resident.size() && (resident[j] & 1)) ++j;
      char* from = base + i * page;
      const size_t bytes = (j - i) * page;
      if (madvise(from, bytes, MADV_POPULATE_READ) != 0) {
        for (size_t off = 0; off < bytes; off += page) {
          (void)*static_cast<volatile char*>(from + off);  // older kernels: touch
        }
      }
      total += bytes;
      i = j;
    }
  }
  std::fclose(maps);
  return total;
}

}  // namespace bench
}  // namespace shmkv
