// memcached peer: a memcached server on a unix socket (bench/run.sh starts
// it), one libmemcached connection per client thread, one request at a time
// (ASCII protocol, blocking I/O: the way an application calls it). With
// --batch, a request's gets are one multi-get (memcached_mget, then
// memcached_fetch_result until the end), and its puts, for which the ASCII
// protocol has no multi-key command, are pipelined noreply sets on a second
// connection followed by a get of the last key on it, so that the request
// ends when the server has applied them (one round trip; the sets' own
// errors are not seen). The preload pipelines (noreply + buffered requests).
// memcached evicts (LRU) once its memory (-m) is full.
#include <libmemcached/memcached.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine/workload.h"
#include "bench/peers/peer_main.h"

namespace shmkv {
namespace bench {
namespace {

absl::StatusOr<memcached_st*> Connect(const std::string& socket) {
  memcached_st* m = memcached_create(nullptr);
  if (m == nullptr) return absl::InternalError("memcached_create failed");
  memcached_return_t rc = memcached_server_add_unix_socket(m, socket.c_str());
  if (rc != MEMCACHED_SUCCESS) {
    std::string error = memcached_strerror(m, rc);
    memcached_free(m);
    return absl::UnavailableError(absl::StrCat("memcached at ", socket, ": ", error));
  }
  return m;
}

class MemcachedClient final : public Client {
 public:
  MemcachedClient(memcached_st* m, std::string socket) : m_(m), socket_(std::move(socket)) {
    memcached_result_create(m_, &result_);
  }
  ~MemcachedClient() override {
    memcached_result_free(&result_);
    if (put_m_ != nullptr) memcached_free(put_m_);
    memcached_free(m_);
  }

  OpResult Get(absl::string_view key, std::string* value) override {
    size_t length = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char* v = memcached_get(m_, key.data(), key.size(), &length, &flags, &rc);
    if (v != nullptr) {
      value->assign(v, length);
      free(v);
      return OpResult::kHit;
    }
    if (rc == MEMCACHED_NOTFOUND) return OpResult::kMiss;
    return Error(rc);
  }

  OpResult Put(absl::string_view key, absl::string_view value) override {
    memcached_return_t rc =
        memcached_set(m_, key.data(), key.size(), value.data(), value.size(), 0, 0);
    return rc == MEMCACHED_SUCCESS ? OpResult::kOk : Error(rc);
  }

  // One multi-get. Values come back in request order, without the misses,
  // and a key asked for twice comes back twice: each value answers the first
  // key still unanswered that equals its key.
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    const size_t n = keys.size();
    if (key_ptrs_.size() < n) {
      key_ptrs_.resize(n);
      key_lengths_.resize(n);
      values_.resize(n);
    }
    for (size_t i = 0; i < n; ++i) {
      key_ptrs_[i] = keys[i].data();
      key_lengths_[i] = keys[i].size();
      results[i] = OpResult::kMiss;
    }
    memcached_return_t rc = memcached_mget(m_, key_ptrs_.data(), key_lengths_.data(), n);
    if (rc != MEMCACHED_SUCCESS) {
      std::fill(results.begin(), results.end(), Error(rc));
      return;
    }
    while (memcached_fetch_result(m_, &result_, &rc) != nullptr) {
      const absl::string_view key(memcached_result_key_value(&result_),
                                  memcached_result_key_length(&result_));
      for (size_t i = 0; i < n; ++i) {
        if (results[i] == OpResult::kMiss && keys[i] == key) {
          values_[i].assign(memcached_result_value(&result_), memcached_result_length(&result_));
          results[i] = OpResult::kHit;
          break;
        }
      }
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND) {
      const OpResult e = Error(rc);
      for (OpResult& r : results) {
        if (r == OpResult::kMiss) r = e;
      }
    }
  }

  // Pipelined noreply sets, then a get of the last key on the same connection.
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    if (put_m_ == nullptr) {
      absl::StatusOr<memcached_st*> m = Connect(socket_);
      if (!m.ok()) {
        error_ = m.status().ToString();
        std::fill(results.begin(), results.end(), OpResult::kError);
        return;
      }
      put_m_ = *m;
      memcached_behavior_set(put_m_, MEMCACHED_BEHAVIOR_NOREPLY, 1);
      memcached_behavior_set(put_m_, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
    }
    OpResult result = OpResult::kOk;
    for (size_t i = 0; i < keys.size() && result == OpResult::kOk; ++i) {
      memcached_return_t rc = memcached_set(put_m_, keys[i].data(), keys[i].size(),
                                            values[i].data(), values[i].size(), 0, 0);
      if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_BUFFERED) result = Error(put_m_, rc);
    }
    if (result == OpResult::kOk) {
      memcached_return_t rc = memcached_flush_buffers(put_m_);
      if (rc != MEMCACHED_SUCCESS) result = Error(put_m_, rc);
    }
    if (result == OpResult::kOk) {
      const absl::string_view last = keys.back();
      size_t length = 0;
      uint32_t flags = 0;
      memcached_return_t rc;
      char* v = memcached_get(put_m_, last.data(), last.size(), &length, &flags, &rc);
      if (v != nullptr)
        free(v);
      else if (rc != MEMCACHED_NOTFOUND)
        result = Error(put_m_, rc);
    }
    std::fill(results.begin(), results.end(), result);
  }

  std::string LastError() const override { return error_; }

 private:
  OpResult Error(memcached_return_t rc) { return Error(m_, rc); }
  OpResult Error(memcached_st* m, memcached_return_t rc) {
    error_ = memcached_strerror(m, rc);
    return OpResult::kError;
  }
  memcached_st* m_;
  std::string socket_;
  memcached_st* put_m_ = nullptr;  // PutBatch's connection (noreply, buffered)
  memcached_result_st result_;     // GetBatch's fetched value, reused
  std::vector<const char*> key_ptrs_;
  std::vector<size_t> key_lengths_;
  std::vector<std::string> values_;  // GetBatch's values, reused
  std::string error_;
};

class MemcachedBackend final : public Backend {
 public:
  explicit MemcachedBackend(std::string socket) : socket_(std::move(socket)) {}
  std::string Name() const override { return "memcached"; }

  absl::Status Create(const WorkloadConfig&) override {
    if (socket_.empty()) return absl::InvalidArgumentError("--socket is required");
    // The server may still be starting: retry a version request for 10 s.
    for (int i = 0; i < 100; ++i) {
      absl::StatusOr<memcached_st*> m = Connect(socket_);
      if (!m.ok()) return m.status();
      memcached_return_t rc = memcached_version(*m);
      memcached_free(*m);
      if (rc == MEMCACHED_SUCCESS) return absl::OkStatus();
      if (StopRequested()) break;
      usleep(100000);
    }
    return absl::UnavailableError(absl::StrCat("no memcached answers at ", socket_));
  }
  absl::Status Attach() override { return absl::OkStatus(); }
  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    absl::StatusOr<memcached_st*> m = Connect(socket_);
    if (!m.ok()) return m.status();
    return std::unique_ptr<Client>(new MemcachedClient(*m, socket_));
  }
  void Detach() override {}

  absl::Status Preload(const Workload& w, const ProgressFn& progress) override {
    absl::StatusOr<memcached_st*> m = Connect(socket_);
    if (!m.ok()) return m.status();
    MemcachedClient owner(*m, socket_);  // frees it
    memcached_behavior_set(*m, MEMCACHED_BEHAVIOR_NOREPLY, 1);
    memcached_behavior_set(*m, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1);
    const uint64_t n = w.num_keys();
    KeyBuffer key_buffer(w.config());
    for (uint64_t i = 0; i < n; ++i) {
      const absl::string_view key = key_buffer.Of(i), value = w.Value(w.PreloadValueSize(i));
      memcached_return_t rc =
          memcached_set(*m, key.data(), key.size(), value.data(), value.size(), 0, 0);
      if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_BUFFERED) {
        return absl::InternalError(absl::StrCat("preload set: ", memcached_strerror(*m, rc)));
      }
      if ((i & 4095) == 4095) {
        memcached_flush_buffers(*m);
        if (!progress(i, n)) return absl::CancelledError("interrupted");
      }
    }
    memcached_flush_buffers(*m);
    // A request with a reply on the same connection: the sets before it are done.
    memcached_behavior_set(*m, MEMCACHED_BEHAVIOR_NOREPLY, 0);
    memcached_behavior_set(*m, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 0);
    std::string value;
    if (owner.Get(key_buffer.Of(n - 1), &value) == OpResult::kError) {
      return absl::InternalError(absl::StrCat("preload check: ", owner.LastError()));
    }
    return absl::OkStatus();
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    absl::StatusOr<memcached_st*> m = Connect(socket_);
    if (!m.ok()) return;
    memcached_return_t rc;
    memcached_stat_st* st = memcached_stat(*m, nullptr, &rc);
    if (st != nullptr && rc == MEMCACHED_SUCCESS) {
      fields->emplace_back("items", absl::StrCat(st->curr_items));
      fields->emplace_back("evictions", absl::StrCat(st->evictions));
      fields->emplace_back("limit_maxbytes", absl::StrCat(st->limit_maxbytes));
    }
    if (st != nullptr) memcached_stat_free(*m, st);
    memcached_free(*m);
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
  return RunSocketPeerMain<MemcachedBackend>(
      argc, argv, "memcached_bench",
      "memcached peer: clients over a unix socket, one request at a time per thread\n"
      "(with --batch: multi-gets, and pipelined sets ending with a get).",
      "memcached server");
}
