// ScanChunk: a scan chunk's copies in room prepared before the lock.
#include "kv/internal/scan_chunk.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace shmkv::internal {
namespace {

// The room of a chunk that has not needed more, in entries and bytes.
constexpr size_t kFirstEntries = 16;
constexpr size_t kFirstBytes = 4096;

}  // namespace

void ScanChunk::Prepare(size_t entries, size_t bytes) {
  // resize constructs each new record, which writes its pages.
  if (entries_.size() < entries) entries_.resize(entries);
  if (bytes_room_ < bytes) GrowBytes(bytes);
}

void ScanChunk::GrowBytes(size_t bytes) {
  std::unique_ptr<char[]> grown(new char[bytes]);
  // One write per page maps the new room into the process now rather than
  // at the first copy into it.
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (size_t offset = 0; offset < bytes; offset += page) grown[offset] = 0;
  if (used_bytes_ > 0) std::memcpy(grown.get(), bytes_.get(), used_bytes_);
  bytes_ = std::move(grown);
  bytes_room_ = bytes;
}

void ScanChunk::Add(uint32_t order, const EntryMeta& meta, absl::string_view key,
                    absl::string_view value) {
  if (used_entries_ == entries_.size()) {
    entries_.resize(std::max(kFirstEntries, 2 * entries_.size()));
  }
  const size_t size = key.size() + value.size();
  if (bytes_room_ - used_bytes_ < size) {
    GrowBytes(std::max({kFirstBytes, 2 * bytes_room_, used_bytes_ + size}));
  }
  Entry& entry = entries_[used_entries_++];
  entry.at = used_bytes_;
  entry.key_size = static_cast<uint32_t>(key.size());
  entry.order = order;
  entry.value_size = value.size();
  entry.meta = meta;
  if (!key.empty()) std::memcpy(bytes_.get() + used_bytes_, key.data(), key.size());
  if (!value.empty()) {
    std::memcpy(bytes_.get() + used_bytes_ + key.size(), value.data(), value.size());
  }
  used_bytes_ += size;
}

void ScanChunk::SortByOrder() {
  std::sort(entries_.begin(), entries_.begin() + used_entries_,
            [](const Entry& a, const Entry& b) { return a.order < b.order; });
}

}  // namespace shmkv::internal
