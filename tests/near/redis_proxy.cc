#include "tests/near/redis_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"

namespace shmkv::neartest {
namespace {

bool FillAddress(const std::string& path, sockaddr_un* address) {
  *address = {};
  address->sun_family = AF_UNIX;
  if (path.size() >= sizeof address->sun_path) return false;
  std::snprintf(address->sun_path, sizeof address->sun_path, "%s", path.c_str());
  return true;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

RedisProxy::RedisProxy(std::string socket_path, std::vector<std::string> backends)
    : socket_path_(std::move(socket_path)), backends_(std::move(backends)) {}

RedisProxy::~RedisProxy() {
  if (thread_.joinable()) {
    const char stop = 's';
    (void)!write(wake_[1], &stop, 1);
    thread_.join();
  }
  for (const auto& [client, server] : pairs_) {
    close(client);
    close(server);
  }
  for (int fd : {listener_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
  unlink(socket_path_.c_str());
}

void RedisProxy::OnceBefore(std::string needle, std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  needle_ = std::move(needle);
  hook_ = std::move(hook);
}

absl::Status RedisProxy::Start() {
  sockaddr_un address;
  if (!FillAddress(socket_path_, &address)) return absl::InvalidArgumentError("path too long");
  listener_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0 ||
      bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener_, 16) != 0 || pipe2(wake_, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("proxy socket ", socket_path_, ": errno ", errno));
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

bool RedisProxy::Accept() {
  const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return false;
  sockaddr_un address;
  const int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const std::string& backend = backends_[static_cast<size_t>(accepted_++) % backends_.size()];
  if (server < 0 || !FillAddress(backend, &address) ||
      connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(client);
    if (server >= 0) close(server);
    return false;
  }
  pairs_.emplace_back(client, server);
  return true;
}

bool RedisProxy::Forward(size_t i, int from) {
  const int in = from == 0 ? pairs_[i].first : pairs_[i].second;
  const int out = from == 0 ? pairs_[i].second : pairs_[i].first;
  char buf[16384];
  const ssize_t n = read(in, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR;
  if (from == 0) {
    std::function<void()> hook;
    {
      absl::MutexLock lock(&mu_);
      if (hook_ && std::string(buf, static_cast<size_t>(n)).find(needle_) != std::string::npos) {
        hook = std::move(hook_);
        hook_ = nullptr;
      }
    }
    if (hook) hook();
  }
  return WriteAll(out, buf, static_cast<size_t>(n));
}

void RedisProxy::Loop() {
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    for (const auto& [client, server] : pairs_) {
      fds.push_back({client, POLLIN, 0});
      fds.push_back({server, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;
    for (size_t i = (fds.size() - 2) / 2; i-- > 0;) {
      const bool ok = (fds[2 + 2 * i].revents == 0 || Forward(i, 0)) &&
                      (fds[3 + 2 * i].revents == 0 || Forward(i, 1));
      if (!ok) {
        close(pairs_[i].first);
        close(pairs_[i].second);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if (fds[1].revents != 0) (void)Accept();
  }
}

}  // namespace shmkv::neartest
