// Redis peer: a redis-server on a unix socket (bench/run.sh starts it with
// persistence off), one hiredis connection per client thread, one command
// at a time (GET / SET). With --batch, a request is one MGET or one MSET.
// The preload pipelines 1000 SETs per round trip.
// Redis evicts only when started with --maxmemory and an eviction policy.
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "bench/engine/workload.h"
#include "bench/peers/peer_main.h"
#include "bench/peers/redis_peer.h"

namespace shmkv {
namespace bench {
namespace {

class RedisBackend final : public Backend {
 public:
  explicit RedisBackend(const std::string& socket)
      : socket_(socket.empty() ? "" : "unix:" + socket) {}
  std::string Name() const override { return "redis"; }

  absl::Status Create(const WorkloadConfig&) override {
    if (socket_.empty()) return absl::InvalidArgumentError("--socket is required");
    return AwaitRedis(socket_);
  }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    absl::StatusOr<RedisContextPtr> c = ConnectRedis(socket_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<Client>(new RedisGetSetClient(std::move(*c)));
  }
  void Detach() override {}

  absl::Status Preload(const Workload& w, const ProgressFn& progress) override {
    return PreloadRedis(socket_, w, progress);
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> info = RedisInfo(socket_);
    if (!info.ok()) return;
    for (const auto& [name, value] : *info) {
      uint64_t n;
      if ((name == "used_memory" || name == "evicted_keys" || name == "maxmemory") &&
          absl::SimpleAtoi(value, &n)) {
        fields->emplace_back(name, absl::StrCat(n));
      }
      if (name == "db0") {  // keys=N,expires=...
        absl::string_view keys = absl::string_view(value).substr(0, value.find(','));
        if (absl::ConsumePrefix(&keys, "keys=") && absl::SimpleAtoi(keys, &n)) {
          fields->emplace_back("items", absl::StrCat(n));
        }
      }
    }
  }
  void Destroy() override {}  // the server belongs to whoever started it

 private:
  std::string socket_;  // "unix:PATH"
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  return RunSocketPeerMain<RedisBackend>(
      argc, argv, "redis_bench",
      "Redis peer: clients over a unix socket, one command at a time per thread\n"
      "(with --batch: MGET and MSET).",
      "redis-server");
}
