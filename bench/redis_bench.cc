// Redis peer: a redis-server on a unix socket (bench/run.sh starts it with
// persistence off), one hiredis connection per client thread, one command
// at a time (GET / SET). With --batch, a request is one MGET or one MSET.
// The preload pipelines 1000 SETs per round trip.
// Redis evicts only when started with --maxmemory and an eviction policy.
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/workload.h"

namespace shmkv {
namespace bench {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

absl::StatusOr<Context> Connect(const std::string& socket) {
  Context c(redisConnectUnix(socket.c_str()));
  if (c == nullptr) return absl::InternalError("redisConnectUnix: out of memory");
  if (c->err != 0)
    return absl::UnavailableError(absl::StrCat("redis at ", socket, ": ", c->errstr));
  return c;
}

class RedisClient final : public Client {
 public:
  explicit RedisClient(Context c) : c_(std::move(c)) {}

  OpResult Get(absl::string_view key, std::string* value) override {
    Reply r(static_cast<redisReply*>(redisCommand(c_.get(), "GET %b", key.data(), key.size())));
    if (r == nullptr) return Error(c_->errstr);
    if (r->type == REDIS_REPLY_STRING) {
      value->assign(r->str, r->len);
      return OpResult::kHit;
    }
    if (r->type == REDIS_REPLY_NIL) return OpResult::kMiss;
    return Error(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply");
  }

  OpResult Put(absl::string_view key, absl::string_view value) override {
    Reply r(static_cast<redisReply*>(
        redisCommand(c_.get(), "SET %b %b", key.data(), key.size(), value.data(), value.size())));
    if (r == nullptr) return Error(c_->errstr);
    if (r->type == REDIS_REPLY_STATUS) return OpResult::kOk;
    return Error(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply");
  }

  // One MGET: an array of values, nil for a miss.
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    Reply r(Command("MGET", keys, {}));
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != keys.size()) {
      std::fill(results.begin(), results.end(), BadReply(r.get()));
      return;
    }
    if (values_.size() < keys.size()) values_.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      const redisReply* e = r->element[i];
      if (e->type == REDIS_REPLY_STRING) {
        values_[i].assign(e->str, e->len);
        results[i] = OpResult::kHit;
      } else {
        results[i] = e->type == REDIS_REPLY_NIL ? OpResult::kMiss : BadReply(e);
      }
    }
  }

  // One MSET.
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    Reply r(Command("MSET", keys, values));
    std::fill(results.begin(), results.end(),
              r != nullptr && r->type == REDIS_REPLY_STATUS ? OpResult::kOk : BadReply(r.get()));
  }

  std::string LastError() const override { return error_; }

 private:
  // NAME key... or NAME key value...: one command, its reply (nullptr when
  // the connection failed).
  redisReply* Command(const char* name, absl::Span<const absl::string_view> keys,
                      absl::Span<const absl::string_view> values) {
    argv_.clear();
    argv_lengths_.clear();
    argv_.push_back(name);
    argv_lengths_.push_back(std::strlen(name));
    for (size_t i = 0; i < keys.size(); ++i) {
      argv_.push_back(keys[i].data());
      argv_lengths_.push_back(keys[i].size());
      if (!values.empty()) {
        argv_.push_back(values[i].data());
        argv_lengths_.push_back(values[i].size());
      }
    }
    return static_cast<redisReply*>(redisCommandArgv(c_.get(), static_cast<int>(argv_.size()),
                                                     argv_.data(), argv_lengths_.data()));
  }
  OpResult BadReply(const redisReply* r) {
    if (r == nullptr) return Error(c_->errstr);
    return Error(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply");
  }
  OpResult Error(std::string e) {
    error_ = std::move(e);
    return OpResult::kError;
  }
  Context c_;
  std::string error_;
  std::vector<const char*> argv_;  // Command's arguments, reused
  std::vector<size_t> argv_lengths_;
  std::vector<std::string> values_;  // GetBatch's values, reused
};

class RedisBackend final : public Backend {
 public:
  explicit RedisBackend(std::string socket) : socket_(std::move(socket)) {}
  std::string Name() const override { return "redis"; }

  absl::Status Create(const WorkloadConfig&) override {
    if (socket_.empty()) return absl::InvalidArgumentError("--socket is required");
    absl::Status last;
    for (int i = 0; i < 100; ++i) {  // the server may still be starting
      absl::StatusOr<Context> c = Connect(socket_);
      if (c.ok()) {
        Reply r(static_cast<redisReply*>(redisCommand(c->get(), "PING")));
        if (r != nullptr && r->type == REDIS_REPLY_STATUS) return absl::OkStatus();
        last = absl::UnavailableError("no PONG");
      } else {
        last = c.status();
      }
      if (StopRequested()) break;
      usleep(100000);
    }
    return last;
  }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    absl::StatusOr<Context> c = Connect(socket_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<Client>(new RedisClient(std::move(*c)));
  }
  void Detach() override {}

  absl::Status Preload(const Workload& w, const ProgressFn& progress) override {
    absl::StatusOr<Context> c = Connect(socket_);
    if (!c.ok()) return c.status();
    const uint64_t n = w.num_keys();
    KeyBuffer key_buffer(w.config());
    for (uint64_t i = 0; i < n;) {
      const uint64_t end = std::min(n, i + 1000);
      for (uint64_t j = i; j < end; ++j) {
        const absl::string_view key = key_buffer.Of(j), value = w.Value(w.PreloadValueSize(j));
        redisAppendCommand(c->get(), "SET %b %b", key.data(), key.size(), value.data(),
                           value.size());
      }
      for (; i < end; ++i) {
        void* reply = nullptr;
        if (redisGetReply(c->get(), &reply) != REDIS_OK) {
          return absl::InternalError(absl::StrCat("preload: ", (*c)->errstr));
        }
        Reply r(static_cast<redisReply*>(reply));
        if (r->type == REDIS_REPLY_ERROR) {
          return absl::InternalError(absl::StrCat("preload SET: ", std::string(r->str, r->len)));
        }
      }
      if (!progress(i, n)) return absl::CancelledError("interrupted");
    }
    return absl::OkStatus();
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    absl::StatusOr<Context> c = Connect(socket_);
    if (!c.ok()) return;
    Reply r(static_cast<redisReply*>(redisCommand(c->get(), "INFO")));
    if (r == nullptr || r->type != REDIS_REPLY_STRING) return;
    for (absl::string_view line : absl::StrSplit(absl::string_view(r->str, r->len), "\r\n")) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(line, absl::MaxSplits(':', 1));
      uint64_t n;
      if ((kv.first == "used_memory" || kv.first == "evicted_keys" || kv.first == "maxmemory") &&
          absl::SimpleAtoi(kv.second, &n)) {
        fields->emplace_back(std::string(kv.first), absl::StrCat(n));
      }
      if (kv.first == "db0") {  // keys=N,expires=...
        absl::string_view keys = kv.second.substr(0, kv.second.find(','));
        if (absl::ConsumePrefix(&keys, "keys=") && absl::SimpleAtoi(keys, &n)) {
          fields->emplace_back("items", absl::StrCat(n));
        }
      }
    }
  }
  void Destroy() override {}  // the server belongs to whoever started it

 private:
  std::string socket_;
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  WorkloadConfig config;
  std::string socket;
  FlagSet flags("redis_bench",
                "Redis peer: clients over a unix socket, one command at a time per thread\n"
                "(with --batch: MGET and MSET).");
  AddWorkloadFlags(&flags, &config);
  flags.String("socket", "PATH", "the redis-server's unix socket (required)", &socket);
  flags.ParseOrExit(argc, argv);
  RedisBackend backend(socket);
  return RunBenchmark(&backend, config);
}
