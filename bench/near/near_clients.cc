#include "bench/near/near_clients.h"

#include <cstdio>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace shmkv {
namespace bench {
namespace {

// Key i from its text: the zero-padded number after the prefix.
uint64_t KeyIndex(absl::string_view key, size_t prefix_size) {
  uint64_t i = 0;
  for (size_t p = prefix_size; p < key.size(); ++p)
    i = i * 10 + static_cast<uint64_t>(key[p] - '0');
  return i;
}

// Whether this read is the first of `version` where `seen` keeps the
// version read last (and records it).
bool FirstRead(std::atomic<uint16_t>* seen, uint16_t version) {
  uint16_t was = seen->load(std::memory_order_relaxed);
  return was != version && seen->compare_exchange_strong(was, version);
}

}  // namespace

CountingClient::CountingClient(std::unique_ptr<Client> client, Shared* shared)
    : client_(std::move(client)), shared_(shared) {}

CountingClient::~CountingClient() { shared_->ops += ops_; }

OpResult CountingClient::Get(absl::string_view key, std::string* value) {
  ops_ += shared_->measuring.load(std::memory_order_relaxed);
  return client_->Get(key, value);
}

OpResult CountingClient::Put(absl::string_view key, absl::string_view value) {
  ops_ += shared_->measuring.load(std::memory_order_relaxed);
  return client_->Put(key, value);
}

std::string CountingClient::LastError() const { return client_->LastError(); }

NearClient::NearClient(std::unique_ptr<near::NearCache> cache, Shared* shared, HostVersions* host,
                       std::atomic<uint16_t>* process_read, size_t prefix_size)
    : cache_(std::move(cache)),
      shared_(shared),
      host_(host),
      process_read_(process_read),
      prefix_size_(prefix_size) {}

NearClient::~NearClient() {
  shared_->hits += hits_;
  shared_->fills += fills_;
  shared_->shared += shared_fills_;
  shared_->direct += direct_;
  shared_->host_versions += host_versions_;
  shared_->process_versions += process_versions_;
}

OpResult NearClient::Get(absl::string_view key, std::string* value) {
  near::ReadInfo info;
  absl::StatusOr<std::string> v = cache_->Get(key, &info);
  if (!v.ok()) {
    if (absl::IsNotFound(v.status())) return OpResult::kMiss;
    error_ = v.status().ToString();
    return OpResult::kError;
  }
  const bool measuring = shared_->measuring.load(std::memory_order_relaxed) != 0;
  const uint64_t k = KeyIndex(key, prefix_size_);
  const uint16_t version =
      static_cast<uint16_t>(host_[k].written.load(std::memory_order_relaxed) + 1);
  if (FirstRead(&host_[k].read, version) && measuring) ++host_versions_;
  if (FirstRead(&process_read_[k], version) && measuring) ++process_versions_;
  if (measuring) {
    switch (info.path) {
      case near::ReadPath::kHit:
        ++hits_;
        break;
      case near::ReadPath::kFilled:
        ++fills_;
        break;
      case near::ReadPath::kShared:
        ++shared_fills_;
        break;
      case near::ReadPath::kDirect:
        if (direct_++ == 0 && shared_->reason_taken.exchange(1) == 0) {
          std::snprintf(shared_->bypass_reason, sizeof(shared_->bypass_reason), "%s",
                        info.bypass_reason.c_str());
        }
        break;
    }
  }
  value->swap(*v);
  return OpResult::kHit;
}

OpResult NearClient::Put(absl::string_view key, absl::string_view value) {
  absl::Status s = cache_->Set(key, value);
  if (!s.ok()) {
    error_ = s.ToString();
    return OpResult::kError;
  }
  host_[KeyIndex(key, prefix_size_)].written.fetch_add(1, std::memory_order_relaxed);
  return OpResult::kOk;
}

std::string NearClient::LastError() const { return error_; }

}  // namespace bench
}  // namespace shmkv
