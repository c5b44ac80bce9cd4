// hiredis pieces shared by the Redis peer (redis_bench) and the near-cache
// benchmark (near_bench): connections, the one-command-per-op client, the
// pipelined preload and INFO. Addresses are "unix:PATH" or "host:port".
#ifndef SHMKV_BENCH_PEERS_REDIS_PEER_H_
#define SHMKV_BENCH_PEERS_REDIS_PEER_H_

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "bench/engine/backend.h"
#include "bench/engine/keys_values.h"

namespace shmkv {
namespace bench {

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// Connects (commands time out after 5 s). Unavailable names the address.
absl::StatusOr<RedisContextPtr> ConnectRedis(const std::string& address);

// Waits up to 10 s for the server to answer PING (it may still be starting).
absl::Status AwaitRedis(const std::string& address);

// One command, binary-safe arguments; an error reply is an error status.
absl::StatusOr<RedisReplyPtr> RedisRun(redisContext* c, const std::vector<absl::string_view>& argv);

// One synchronous GET or SET per operation, as a plain client of a cache
// server does; a batch (--batch) is one MGET or one MSET.
class RedisGetSetClient final : public Client {
 public:
  explicit RedisGetSetClient(RedisContextPtr c) : c_(std::move(c)) {}
  OpResult Get(absl::string_view key, std::string* value) override;
  OpResult Put(absl::string_view key, absl::string_view value) override;
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override;
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override;
  std::string LastError() const override { return error_; }

 private:
  // NAME key... or NAME key value...: one command, its reply (nullptr when
  // the connection failed).
  RedisReplyPtr Command(const char* name, absl::Span<const absl::string_view> keys,
                        absl::Span<const absl::string_view> values);
  OpResult BadReply(const redisReply* r);
  OpResult Error(std::string e) {
    error_ = std::move(e);
    return OpResult::kError;
  }
  RedisContextPtr c_;
  std::string error_;
  std::vector<const char*> argv_;  // Command's arguments, reused
  std::vector<size_t> argv_lengths_;
  std::vector<std::string> values_;  // GetBatch's values, reused
};

// SETs every key of the workload, 1000 per round trip; with `owns`, only
// the keys (by index) for which it is true (the keys a cluster node serves).
absl::Status PreloadRedis(const std::string& address, const Workload& workload,
                          const ProgressFn& progress,
                          const std::function<bool(uint64_t)>& owns = nullptr);

// The "name:value" lines of INFO [section].
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RedisInfo(
    const std::string& address, const std::string& section = "");

// Calls per command from INFO commandstats ("get" -> cmdstat_get's calls).
absl::StatusOr<std::map<std::string, uint64_t>> RedisCommandCalls(const std::string& address);

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_PEERS_REDIS_PEER_H_
