#include "bench/peers/redis_peer.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/engine/runner.h"

namespace shmkv {
namespace bench {

absl::StatusOr<RedisContextPtr> ConnectRedis(const std::string& address) {
  absl::string_view path = address;
  const timeval timeout{5, 0};
  RedisContextPtr c;
  if (absl::ConsumePrefix(&path, "unix:")) {
    c.reset(redisConnectUnixWithTimeout(std::string(path).c_str(), timeout));
  } else {
    const size_t colon = address.rfind(':');
    int port = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
        port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad Redis address \"", address, "\": use unix:PATH or host:port"));
    }
    c.reset(redisConnectWithTimeout(address.substr(0, colon).c_str(), port, timeout));
  }
  if (c == nullptr) return absl::InternalError("hiredis: out of memory");
  if (c->err != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to Redis at ", address, ": ",
                                               c->errstr, " (is redis-server running?)"));
  }
  redisSetTimeout(c.get(), timeout);
  return c;
}

absl::StatusOr<RedisReplyPtr> RedisRun(redisContext* c,
                                       const std::vector<absl::string_view>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (absl::string_view a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  RedisReplyPtr r(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data())));
  if (r == nullptr) return absl::UnavailableError(absl::StrCat("Redis: ", c->errstr));
  if (r->type == REDIS_REPLY_ERROR) {
    return absl::FailedPreconditionError(absl::StrCat("Redis: ", std::string(r->str, r->len)));
  }
  return r;
}

absl::Status AwaitRedis(const std::string& address) {
  absl::Status last;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<RedisContextPtr> c = ConnectRedis(address);
    if (c.ok()) {
      absl::StatusOr<RedisReplyPtr> r = RedisRun(c->get(), {"PING"});
      if (r.ok()) return absl::OkStatus();
      last = r.status();
    } else {
      last = c.status();
    }
    if (StopRequested()) break;
    usleep(100000);
  }
  return last;
}

OpResult RedisGetSetClient::Get(absl::string_view key, std::string* value) {
  RedisReplyPtr r(
      static_cast<redisReply*>(redisCommand(c_.get(), "GET %b", key.data(), key.size())));
  if (r == nullptr) return Error(c_->errstr);
  if (r->type == REDIS_REPLY_STRING) {
    value->assign(r->str, r->len);
    return OpResult::kHit;
  }
  if (r->type == REDIS_REPLY_NIL) return OpResult::kMiss;
  return Error(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply");
}

OpResult RedisGetSetClient::Put(absl::string_view key, absl::string_view value) {
  RedisReplyPtr r(static_cast<redisReply*>(
      redisCommand(c_.get(), "SET %b %b", key.data(), key.size(), value.data(), value.size())));
  if (r == nullptr) return Error(c_->errstr);
  if (r->type == REDIS_REPLY_STATUS) return OpResult::kOk;
  return Error(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply");
}

// One MGET: an array of values, nil for a miss.
void RedisGetSetClient::GetBatch(absl::Span<const absl::string_view> keys,
                                 absl::Span<OpResult> results) {
  RedisReplyPtr r = Command("MGET", keys, {});
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
void RedisGetSetClient::PutBatch(absl::Span<const absl::string_view> keys,
                                 absl::Span<const absl::string_view> values,
                                 absl::Span<OpResult> results) {
  RedisReplyPtr r = Command("MSET", keys, values);
  std::fill(results.begin(), results.end(),
            r != nullptr && r->type == REDIS_REPLY_STATUS ? OpResult::kOk : BadReply(r.get()));
}

RedisReplyPtr RedisGetSetClient::Command(const char* name, absl::Span<const absl::string_view> keys,
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
  return RedisReplyPtr(static_cast<redisReply*>(redisCommandArgv(
      c_.get(), static_cast<int>(argv_.size()), argv_.data(), argv_lengths_.data())));
}

OpResult RedisGetSetClient::BadReply(const redisReply* r) {
  if (r == nullptr) return Error(c_->errstr);
  return Error(r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "unexpected reply");
}

absl::Status PreloadRedis(const std::string& address, const Workload& w, const ProgressFn& progress,
                          const std::function<bool(uint64_t)>& owns) {
  absl::StatusOr<RedisContextPtr> c = ConnectRedis(address);
  if (!c.ok()) return c.status();
  const uint64_t n = w.num_keys();
  KeyBuffer key_buffer(w.config());
  for (uint64_t next = 0; next < n;) {
    uint64_t sent = 0;
    for (; next < n && sent < 1000; ++next) {
      if (owns != nullptr && !owns(next)) continue;
      const absl::string_view key = key_buffer.Of(next), value = w.Value(w.PreloadValueSize(next));
      redisAppendCommand(c->get(), "SET %b %b", key.data(), key.size(), value.data(), value.size());
      ++sent;
    }
    for (; sent > 0; --sent) {
      void* reply = nullptr;
      if (redisGetReply(c->get(), &reply) != REDIS_OK) {
        return absl::InternalError(absl::StrCat("preload: ", (*c)->errstr));
      }
      RedisReplyPtr r(static_cast<redisReply*>(reply));
      if (r->type == REDIS_REPLY_ERROR) {
        return absl::InternalError(absl::StrCat("preload SET: ", std::string(r->str, r->len)));
      }
    }
    if (!progress(next, n)) return absl::CancelledError("interrupted");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RedisInfo(
    const std::string& address, const std::string& section) {
  absl::StatusOr<RedisContextPtr> c = ConnectRedis(address);
  if (!c.ok()) return c.status();
  std::vector<absl::string_view> argv = {"INFO"};
  if (!section.empty()) argv.push_back(section);
  absl::StatusOr<RedisReplyPtr> r = RedisRun(c->get(), argv);
  if (!r.ok()) return r.status();
  if ((*r)->type != REDIS_REPLY_STRING) return absl::InternalError("INFO: unexpected reply");
  std::vector<std::pair<std::string, std::string>> lines;
  for (absl::string_view line :
       absl::StrSplit(absl::string_view((*r)->str, (*r)->len), "\r\n", absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    lines.emplace_back(std::string(kv.first), std::string(kv.second));
  }
  return lines;
}

absl::StatusOr<std::map<std::string, uint64_t>> RedisCommandCalls(const std::string& address) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> info =
      RedisInfo(address, "commandstats");
  if (!info.ok()) return info.status();
  std::map<std::string, uint64_t> calls;
  for (const auto& [name, value] : *info) {
    absl::string_view command = name, stats = value;  // cmdstat_get: calls=N,usec=...
    uint64_t n = 0;
    if (absl::ConsumePrefix(&command, "cmdstat_") && absl::ConsumePrefix(&stats, "calls=") &&
        absl::SimpleAtoi(stats.substr(0, stats.find(',')), &n)) {
      calls[std::string(command)] = n;
    }
  }
  return calls;
}

}  // namespace bench
}  // namespace shmkv
