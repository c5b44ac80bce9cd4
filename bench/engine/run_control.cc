#include "bench/engine/run_control.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace shmkv {
namespace bench {

void RecordFailure(Control* ctl, const std::string& message) {
  if (ctl->fail_lock.exchange(1) == 0) {
    std::snprintf(ctl->fail_message, sizeof(ctl->fail_message), "%s", message.c_str());
  }
  ctl->failed.fetch_add(1);
}

void WriteBytes(int fd, size_t n) {
  char buf[256];
  std::memset(buf, 'g', sizeof(buf));
  while (n > 0) {
    const ssize_t w = write(fd, buf, std::min(n, sizeof(buf)));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace bench
}  // namespace shmkv
