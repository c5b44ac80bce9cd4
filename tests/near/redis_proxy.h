// A byte-forwarding proxy on a unix socket in front of one or more
// redis-servers, for tests of what kvsync and NearCache meet between them
// and Redis: a load balancer that sends successive connections to different
// servers, or a connection of kvsync's that vanishes at a chosen moment.
#ifndef SHMKV_TESTS_NEAR_REDIS_PROXY_H_
#define SHMKV_TESTS_NEAR_REDIS_PROXY_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace shmkv::neartest {

class RedisProxy {
 public:
  // Listens on `socket_path`; the n-th connection accepted (from 0) goes to
  // the redis-server listening on backends[n % backends.size()].
  RedisProxy(std::string socket_path, std::vector<std::string> backends);
  ~RedisProxy();  // stops forwarding and closes every connection
  RedisProxy(const RedisProxy&) = delete;
  RedisProxy& operator=(const RedisProxy&) = delete;

  // Once, before forwarding client bytes that contain `needle`, runs `hook`
  // (on the proxy's thread; the bytes wait until it returns).
  void OnceBefore(std::string needle, std::function<void()> hook);
  absl::Status Start();
  std::string address() const { return "unix:" + socket_path_; }

 private:
  void Loop();
  bool Accept();
  // Forwards what is readable on pair `i`'s end `from` (0 client, 1
  // server); false when that connection ended.
  bool Forward(size_t i, int from);

  const std::string socket_path_;
  const std::vector<std::string> backends_;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  int accepted_ = 0;
  std::vector<std::pair<int, int>> pairs_;  // {client, server}
  absl::Mutex mu_;
  std::string needle_ ABSL_GUARDED_BY(mu_);
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace shmkv::neartest

#endif  // SHMKV_TESTS_NEAR_REDIS_PROXY_H_
