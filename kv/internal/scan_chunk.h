// The copies one scan chunk makes while it holds its stripe's lock, kept in
// memory made ready before the lock is taken.
#ifndef SHMKV_KV_INTERNAL_SCAN_CHUNK_H_
#define SHMKV_KV_INTERNAL_SCAN_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "shmkv/store.h"

namespace shmkv::internal {

// A chunk's entries: each entry's key and value side by side in one byte
// buffer, and a fixed-size record per entry. Prepare, called before the
// lock, allocates the room a chunk needs and touches each of its pages, so
// copying under the lock neither calls malloc nor takes a page fault on
// this process's own memory (a fresh process, every kvcli run, would
// otherwise fault on the heap pages its first chunks grow into, at about
// 10-200 us each on a VM). Add still grows the room, under the lock, for a
// chunk larger than prepared; the room only grows, so that happens once per
// size reached.
class ScanChunk {
 public:
  // Before the lock: room for at least `entries` entries and `bytes` bytes
  // of keys and values, allocated and touched.
  void Prepare(size_t entries, size_t bytes);
  // Empties the chunk; the room stays.
  void Clear() {
    used_entries_ = 0;
    used_bytes_ = 0;
  }
  // `order`: the entry's place in the walk (the top 32 bits of its key's
  // hash), by which SortByOrder sorts.
  void Add(uint32_t order, const EntryMeta& meta, absl::string_view key, absl::string_view value);

  size_t size() const { return used_entries_; }
  // Key and value bytes held.
  uint64_t bytes() const { return used_bytes_; }
  uint32_t order(size_t i) const { return entries_[i].order; }
  absl::string_view key(size_t i) const {
    return absl::string_view(bytes_.get() + entries_[i].at, entries_[i].key_size);
  }
  absl::string_view value(size_t i) const {
    return absl::string_view(bytes_.get() + entries_[i].at + entries_[i].key_size,
                             entries_[i].value_size);
  }
  const EntryMeta& meta(size_t i) const { return entries_[i].meta; }

  // Sorts the entries by order (entries of one order in any order).
  // Allocates nothing, so it may run under the lock.
  void SortByOrder();
  // Keeps, in order, the entries i for which keep(i) is true.
  template <typename Keep>
  void Filter(Keep keep) {
    size_t kept = 0;
    for (size_t i = 0; i < used_entries_; ++i) {
      if (keep(i)) entries_[kept++] = entries_[i];
    }
    used_entries_ = kept;
  }
  // Keeps the first `count` entries.
  void Truncate(size_t count) {
    if (count < used_entries_) used_entries_ = count;
  }

 private:
  struct Entry {
    uint64_t at = 0;  // of the key in bytes_; the value follows it
    uint32_t key_size = 0;
    uint32_t order = 0;
    uint64_t value_size = 0;
    EntryMeta meta;
  };
  void GrowBytes(size_t bytes);

  std::vector<Entry> entries_;  // all constructed: the room
  size_t used_entries_ = 0;
  std::unique_ptr<char[]> bytes_;
  size_t bytes_room_ = 0;
  size_t used_bytes_ = 0;
};

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_SCAN_CHUNK_H_
