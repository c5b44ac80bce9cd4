// A small blocking Redis client over hiredis 0.14 (RESP2), shared by the near
// cache, kvsync, their tests and the near-cache benchmark. Not a public API
// of shmkv: it exists so that every user of Redis here parses addresses the
// same way, reports errors the same way and never dies of SIGPIPE.
//
// Addresses are "unix:/path/to/redis.sock" or "host:port" everywhere (kvsync
// --redis, NearCacheOptions::redis, kvcli --through).
#ifndef SHMKV_KV_NEAR_REDIS_CLIENT_H_
#define SHMKV_KV_NEAR_REDIS_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

struct redisContext;

namespace shmkv::near {

struct RedisAddress {
  std::string unix_path;  // set for "unix:PATH"
  std::string host;       // set for "host:port"
  int port = 0;
  // The text it was parsed from, normalised ("unix:/run/r.sock", "127.0.0.1:6379").
  std::string ToString() const;
};

// Parses "unix:/path" or "host:port" (port 1..65535; an IPv6 host in
// brackets, "[::1]:6379"). InvalidArgument says which form is expected.
absl::StatusOr<RedisAddress> ParseRedisAddress(absl::string_view text);

// One reply, copied out of hiredis's reply tree.
struct RedisReply {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool IsString(absl::string_view s) const {
    return (type == Type::kString || type == Type::kStatus) && str == s;
  }
  // "nil", "\"OK\"", "(error) ERR ...", "[...]": for error messages.
  std::string Describe() const;
};

// One connection. Not thread-safe: callers serialise their use of it.
// After any I/O error or timeout it is broken() and every call fails; make a
// new one.
class RedisConnection {
 public:
  // Connects within `timeout`, which also bounds every later command.
  // Unavailable (naming the address and what to check) when it cannot.
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(const RedisAddress& address,
                                                                  absl::Duration timeout);
  // Closes the descriptor and sends nothing (no QUIT): a process that
  // inherited the connection through fork() may drop its copy this way
  // while the other process goes on using the socket.
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command (binary-safe arguments) and waits for its reply. An
  // error reply from Redis is returned as a reply of type kError, not as an
  // error status; a lost connection or a timeout is Unavailable.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& argv);
  // Sends the commands together (one write: one round trip) and waits for
  // every reply: a reply of type kArray with one element per command, in
  // order. As Command otherwise. Another client's command may run between
  // two of them.
  absl::StatusOr<RedisReply> Commands(absl::Span<const std::vector<std::string>> commands);

  // For a subscribed connection: sends a command without waiting for its
  // reply, and reads the replies that have arrived without blocking (call it
  // when poll(2) says fd() is readable; an EOF is Unavailable).
  absl::Status Send(const std::vector<std::string>& argv);
  absl::Status ReadAvailable(std::vector<RedisReply>* replies);

  int fd() const;
  bool broken() const { return broken_; }
  const RedisAddress& address() const { return address_; }

 private:
  RedisConnection(redisContext* context, RedisAddress address)
      : context_(context), address_(std::move(address)) {}
  absl::Status Failure(absl::string_view what);
  // Queues one command in the output buffer (sent by the next write).
  absl::Status Append(const std::vector<std::string>& argv);
  // Sends what is queued if need be and reads the next reply, that of
  // `argv` (named in the error when the connection fails).
  absl::StatusOr<RedisReply> NextReply(const std::vector<std::string>& argv);

  redisContext* context_;
  RedisAddress address_;
  bool broken_ = false;
};

// The value of `name` in the text of an INFO reply ("name:value" lines), or
// nullopt when absent.
std::optional<std::string> InfoField(absl::string_view info, absl::string_view name);

// The identity of the server `connection` reached: run_id from INFO server
// (random, new at every start of redis-server). Unavailable when it cannot
// be read.
absl::StatusOr<std::string> ServerRunId(RedisConnection& connection);

}  // namespace shmkv::near

#endif  // SHMKV_KV_NEAR_REDIS_CLIENT_H_
