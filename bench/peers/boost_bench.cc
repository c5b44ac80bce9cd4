// Boost.Interprocess peer: the hand-written way to share a map between
// processes. A managed_shared_memory segment (POSIX shm, in /dev/shm) holds
// a boost::unordered_map of shared-memory strings behind one
// interprocess_mutex; every client process maps the segment after the fork.
// Lookups hash the caller's bytes directly (no temporary shared string).
// With --batch, a request's gets (or puts) all run under one lock.
// It never evicts: the segment is sized to hold every key.
#include <unistd.h>

#include <boost/container/string.hpp>
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/unordered_map.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine/workload.h"

namespace shmkv {
namespace bench {
namespace {

namespace bip = boost::interprocess;

using Segment = bip::managed_shared_memory;
using SegmentManager = Segment::segment_manager;
using CharAllocator = bip::allocator<char, SegmentManager>;
using ShmString = boost::container::basic_string<char, std::char_traits<char>, CharAllocator>;

// The hash must be the same in every process: no per-process seed.
inline size_t HashBytes(const char* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 29);
}

struct BytesHash {
  size_t operator()(const ShmString& s) const { return HashBytes(s.data(), s.size()); }
  size_t operator()(absl::string_view s) const { return HashBytes(s.data(), s.size()); }
};

struct BytesEqual {
  static absl::string_view View(const ShmString& s) {
    return absl::string_view(s.data(), s.size());
  }
  bool operator()(const ShmString& a, const ShmString& b) const { return View(a) == View(b); }
  bool operator()(absl::string_view a, const ShmString& b) const { return a == View(b); }
  bool operator()(const ShmString& a, absl::string_view b) const { return View(a) == b; }
};

using Entry = std::pair<const ShmString, ShmString>;
using Map = boost::unordered_map<ShmString, ShmString, BytesHash, BytesEqual,
                                 bip::allocator<Entry, SegmentManager>>;

struct Root {
  Root(SegmentManager* manager, size_t buckets)
      : map(buckets, BytesHash(), BytesEqual(), Map::allocator_type(manager)) {}
  bip::interprocess_mutex mu;
  Map map;
};

class BoostClient final : public Client {
 public:
  BoostClient(Segment* segment, Root* root) : segment_(segment), root_(root) {}

  OpResult Get(absl::string_view key, std::string* value) override {
    bip::scoped_lock<bip::interprocess_mutex> lock(root_->mu);
    return Lookup(key, value);
  }

  OpResult Put(absl::string_view key, absl::string_view value) override {
    try {
      bip::scoped_lock<bip::interprocess_mutex> lock(root_->mu);
      Store(key, value);
      return OpResult::kOk;
    } catch (const std::exception& e) {
      error_ = e.what();
      return OpResult::kError;
    }
  }

  // All the lookups under one lock.
  void GetBatch(absl::Span<const absl::string_view> keys, absl::Span<OpResult> results) override {
    if (values_.size() < keys.size()) values_.resize(keys.size());
    bip::scoped_lock<bip::interprocess_mutex> lock(root_->mu);
    for (size_t i = 0; i < keys.size(); ++i) results[i] = Lookup(keys[i], &values_[i]);
  }

  // All the writes under one lock.
  void PutBatch(absl::Span<const absl::string_view> keys,
                absl::Span<const absl::string_view> values, absl::Span<OpResult> results) override {
    bip::scoped_lock<bip::interprocess_mutex> lock(root_->mu);
    for (size_t i = 0; i < keys.size(); ++i) {
      try {
        Store(keys[i], values[i]);
        results[i] = OpResult::kOk;
      } catch (const std::exception& e) {
        error_ = e.what();
        results[i] = OpResult::kError;
      }
    }
  }

  std::string LastError() const override { return error_; }

 private:
  // The caller holds root_->mu.
  OpResult Lookup(absl::string_view key, std::string* value) {
    auto it = root_->map.find(key, BytesHash(), BytesEqual());
    if (it == root_->map.end()) return OpResult::kMiss;
    value->assign(it->second.data(), it->second.size());
    return OpResult::kHit;
  }
  // The caller holds root_->mu. Throws when the segment is full.
  void Store(absl::string_view key, absl::string_view value) {
    auto it = root_->map.find(key, BytesHash(), BytesEqual());
    if (it != root_->map.end()) {
      it->second.assign(value.data(), value.data() + value.size());
    } else {
      CharAllocator alloc(segment_->get_segment_manager());
      root_->map.emplace(ShmString(key.data(), key.size(), alloc),
                         ShmString(value.data(), value.size(), alloc));
    }
  }

  Segment* segment_;
  Root* root_;
  std::string error_;
  std::vector<std::string> values_;  // GetBatch's values, reused
};

class BoostBackend final : public Backend {
 public:
  explicit BoostBackend(uint64_t size) : size_(size) {}
  std::string Name() const override { return "boost_interprocess"; }

  absl::Status Create(const WorkloadConfig& config) override {
    name_ = absl::StrCat("shmkv-bench-boost-", getpid());
    if (size_ == 0) {
      // Per entry: the node (pair of two strings, next pointer, hash), two
      // allocator headers, the key and value buffers; then 40% slack for
      // best-fit fragmentation when values change size, and the buckets.
      const double per_entry = config.key_size + config.MeanValueSize() + 160;
      size_ = static_cast<uint64_t>(config.keys * per_entry * 1.4) + config.keys * 16 +
              (uint64_t{64} << 20);
    }
    try {
      segment_ = std::make_unique<Segment>(bip::create_only, name_.c_str(), size_);
      created_ = true;
      segment_->construct<Root>("root")(segment_->get_segment_manager(), config.keys);
    } catch (const std::exception& e) {
      segment_.reset();
      return absl::InternalError(absl::StrCat("managed_shared_memory ", name_, ": ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::Status Attach() override {
    try {
      if (!segment_) segment_ = std::make_unique<Segment>(bip::open_only, name_.c_str());
      root_ = segment_->find<Root>("root").first;
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("open ", name_, ": ", e.what()));
    }
    if (root_ == nullptr) return absl::InternalError("root object missing");
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Client>> NewClient() override {
    return std::unique_ptr<Client>(new BoostClient(segment_.get(), root_));
  }

  void Detach() override {
    root_ = nullptr;
    segment_.reset();
  }

  void Describe(std::vector<std::pair<std::string, std::string>>* fields) override {
    fields->emplace_back("segment_bytes", absl::StrCat(size_));
    try {
      Segment s(bip::open_only, name_.c_str());
      fields->emplace_back("segment_free_bytes", absl::StrCat(s.get_free_memory()));
    } catch (const std::exception&) {
    }
  }

  void Destroy() override {
    Detach();
    if (created_) bip::shared_memory_object::remove(name_.c_str());
    created_ = false;
  }

 private:
  uint64_t size_;
  std::string name_;
  bool created_ = false;
  std::unique_ptr<Segment> segment_;
  Root* root_ = nullptr;
};

}  // namespace
}  // namespace bench
}  // namespace shmkv

int main(int argc, char** argv) {
  using namespace shmkv::bench;
  uint64_t size = 0;
  return DriverMain(
      argc, argv, "boost_bench",
      "Boost.Interprocess peer: managed_shared_memory holding a boost::unordered_map of\n"
      "shared-memory strings behind one interprocess_mutex (removed at the end).",
      WorkloadConfig(),
      [&](FlagSet* flags, WorkloadConfig*) {
        flags->ByteSize("segment-size", "segment size (default: sized from the workload)", &size);
      },
      [&](const WorkloadConfig& config) {
        BoostBackend backend(size);
        return RunBenchmark(&backend, config);
      });
}
