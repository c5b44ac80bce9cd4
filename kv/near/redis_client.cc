#include "kv/near/redis_client.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace shmkv::near {
namespace {

// hiredis writes with write(2): a peer that closed the socket raises SIGPIPE,
// which kills a process that did not ignore it. A library must not change
// the process's signal dispositions, so SIGPIPE is blocked in this thread
// around each write and a SIGPIPE that the write raised is consumed.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        sigset_t pipe_only;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

RedisReply Copy(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Copy(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

void ToArgv(const std::vector<std::string>& argv, std::vector<const char*>* ptrs,
            std::vector<size_t>* lens) {
  ptrs->reserve(argv.size());
  lens->reserve(argv.size());
  for (const std::string& a : argv) {
    ptrs->push_back(a.data());
    lens->push_back(a.size());
  }
}

}  // namespace

std::string RedisAddress::ToString() const {
  if (!unix_path.empty()) return absl::StrCat("unix:", unix_path);
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<RedisAddress> ParseRedisAddress(absl::string_view text) {
  const std::string help =
      "give unix:/path/to/redis.sock or host:port (e.g. 127.0.0.1:6379 or [::1]:6379)";
  RedisAddress address;
  if (absl::ConsumePrefix(&text, "unix:")) {
    if (text.empty() || text[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad Redis address \"unix:", text, "\": the socket path must be absolute; ", help));
    }
    address.unix_path = std::string(text);
    return address;
  }
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad Redis address \"", text, "\"; ", help));
  }
  absl::string_view host = text.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[") && !absl::ConsumeSuffix(&host, "]")) {
    return absl::InvalidArgumentError(absl::StrCat("bad Redis address \"", text, "\"; ", help));
  }
  int port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 1 || port > 65535 ||
      host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad Redis address \"", text, "\": want a port in 1..65535; ", help));
  }
  address.host = std::string(host);
  address.port = port;
  return address;
}

std::string RedisReply::Describe() const {
  switch (type) {
    case Type::kString:
    case Type::kStatus:
      return absl::StrCat("\"", str.substr(0, 64), str.size() > 64 ? "...\"" : "\"");
    case Type::kError:
      return absl::StrCat("(error) ", str);
    case Type::kInteger:
      return absl::StrCat(integer);
    case Type::kNil:
      return "nil";
    case Type::kArray: {
      std::vector<std::string> parts;
      for (const RedisReply& e : elements) parts.push_back(e.Describe());
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisAddress& address, absl::Duration timeout) {
  const struct timeval tv = absl::ToTimeval(timeout);
  redisContext* c = address.unix_path.empty()
                        ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                        : redisConnectUnixWithTimeout(address.unix_path.c_str(), tv);
  if (c == nullptr) {
    return absl::ResourceExhaustedError("connecting to Redis: hiredis could not allocate");
  }
  if (c->err != 0) {
    std::string why = c->errstr;
    redisFree(c);
    return absl::UnavailableError(absl::StrCat("cannot connect to Redis at ", address.ToString(),
                                               ": ", why, "; check that redis-server runs there"));
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    redisFree(c);
    return absl::InternalError("setting the Redis socket timeout failed");
  }
  return std::unique_ptr<RedisConnection>(new RedisConnection(c, address));
}

RedisConnection::~RedisConnection() { redisFree(context_); }

int RedisConnection::fd() const { return context_->fd; }

absl::Status RedisConnection::Failure(absl::string_view what) {
  broken_ = true;
  return absl::UnavailableError(
      absl::StrCat("Redis at ", address_.ToString(), ": ", what, ": ",
                   context_->errstr[0] != '\0' ? context_->errstr : "connection lost",
                   "; check that redis-server runs and answers"));
}

absl::StatusOr<RedisReply> RedisConnection::Command(const std::vector<std::string>& argv) {
  if (broken_) return absl::UnavailableError("this Redis connection failed before; reconnect");
  if (absl::Status s = Append(argv); !s.ok()) return s;
  SigpipeBlock block;
  return NextReply(argv);
}

absl::StatusOr<RedisReply> RedisConnection::Commands(
    absl::Span<const std::vector<std::string>> commands) {
  if (broken_) return absl::UnavailableError("this Redis connection failed before; reconnect");
  for (const std::vector<std::string>& argv : commands) {
    if (absl::Status s = Append(argv); !s.ok()) return s;
  }
  RedisReply all;
  all.type = RedisReply::Type::kArray;
  SigpipeBlock block;
  for (const std::vector<std::string>& argv : commands) {
    absl::StatusOr<RedisReply> r = NextReply(argv);
    if (!r.ok()) return r.status();
    all.elements.push_back(*std::move(r));
  }
  return all;
}

absl::StatusOr<RedisReply> RedisConnection::NextReply(const std::vector<std::string>& argv) {
  void* r = nullptr;
  if (redisGetReply(context_, &r) != REDIS_OK || r == nullptr) {
    return Failure(absl::StrCat(argv.empty() ? "" : argv[0], " failed"));
  }
  RedisReply out = Copy(static_cast<redisReply*>(r));
  freeReplyObject(r);
  return out;
}

absl::Status RedisConnection::Append(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ToArgv(argv, &ptrs, &lens);
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
      REDIS_OK) {
    return Failure("queueing a command");
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::Send(const std::vector<std::string>& argv) {
  if (broken_) return absl::UnavailableError("this Redis connection failed before; reconnect");
  if (absl::Status s = Append(argv); !s.ok()) return s;
  SigpipeBlock block;
  int done = 0;
  while (!done) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) return Failure("sending a command");
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::ReadAvailable(std::vector<RedisReply>* replies) {
  if (broken_) return absl::UnavailableError("this Redis connection failed before; reconnect");
  if (redisBufferRead(context_) != REDIS_OK) return Failure("reading");
  for (;;) {
    void* reply = nullptr;
    if (redisGetReplyFromReader(context_, &reply) != REDIS_OK) return Failure("parsing a reply");
    if (reply == nullptr) return absl::OkStatus();
    replies->push_back(Copy(static_cast<redisReply*>(reply)));
    freeReplyObject(reply);
  }
}

std::optional<std::string> InfoField(absl::string_view info, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    absl::ConsumeSuffix(&line, "\r");
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, ":")) {
      return std::string(line);
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string> ServerRunId(RedisConnection& connection) {
  absl::StatusOr<RedisReply> info = connection.Command({"INFO", "server"});
  if (!info.ok()) return info.status();
  std::optional<std::string> run_id;
  if (info->type == RedisReply::Type::kString) run_id = InfoField(info->str, "run_id");
  if (!run_id.has_value() || run_id->empty()) {
    return absl::UnavailableError(absl::StrCat(
        "Redis at ", connection.address().ToString(),
        " did not say which server it is (no run_id in INFO server: ", info->Describe(),
        "); point it at a redis-server, not a proxy that hides it"));
  }
  return *std::move(run_id);
}

}  // namespace shmkv::near
