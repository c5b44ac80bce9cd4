// memcached peer: a memcached server on a unix socket (bench/run.sh starts
// it), one libmemcached connection per client thread, one request at a time
// (ASCII protocol, blocking I/O: the way an application calls it). The
// preload pipelines (noreply + buffered requests). memcached evicts (LRU)
// once its memory (-m) is full.
#include <libmemcached/memcached.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/peer_main.h"
#include "bench/workload.h"

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
  explicit MemcachedClient(memcached_st* m) : m_(m) {}
  ~MemcachedClient() override { memcached_free(m_); }

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

  std::string LastError() const override { return error_; }

 private:
  OpResult Error(memcached_return_t rc) {
    error_ = memcached_strerror(m_, rc);
    return OpResult::kError;
  }
  memcached_st* m_;
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
    return std::unique_ptr<Client>(new MemcachedClient(*m));
  }
  void Detach() override {}

  absl::Status Preload(const Workload& w, const ProgressFn& progress) override {
    absl::StatusOr<memcached_st*> m = Connect(socket_);
    if (!m.ok()) return m.status();
    MemcachedClient owner(*m);  // frees it
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
  return RunSocketPeerMain(
      argc, argv, "memcached_bench",
      "memcached peer: clients over a unix socket, one request at a time per thread.",
      "memcached server", [](const std::string& socket) -> std::unique_ptr<Backend> {
        return std::make_unique<MemcachedBackend>(socket);
      });
}
