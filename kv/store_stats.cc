// shmkv/store_stats.h: entry sizes and the largest entries, each by one
// Store::Walk without values.
#include "shmkv/store_stats.h"

#include <algorithm>
#include <queue>
#include <string>
#include <utility>
#include <vector>

namespace shmkv {
namespace {

void Count(uint64_t size, SizeHistogram* histogram) {
  const size_t bucket = SizeBucketOf(size);
  while (histogram->buckets.size() <= bucket) {
    const size_t i = histogram->buckets.size();
    SizeBucket empty;
    empty.min_size = i == 0 ? 0 : uint64_t{1} << (i - 1);
    empty.max_size = i == 0 ? 0 : (i == 64 ? UINT64_MAX : (uint64_t{1} << i) - 1);
    histogram->buckets.push_back(empty);
  }
  ++histogram->buckets[bucket].count;
  histogram->buckets[bucket].bytes += size;
  ++histogram->count;
  histogram->bytes += size;
  histogram->largest = std::max(histogram->largest, size);
}

// Whether `a` ranks before `b` in LargestEntries.
bool Larger(const LargeEntry& a, const LargeEntry& b) {
  if (a.value_size != b.value_size) return a.value_size > b.value_size;
  if (a.key_size != b.key_size) return a.key_size > b.key_size;
  return a.key < b.key;
}

// The entries whose key starts with `prefix`, without their values.
ScanOptions KeysStartingWith(absl::string_view prefix) {
  ScanOptions options;
  options.prefix = std::string(prefix);
  options.with_values = false;
  return options;
}

}  // namespace

size_t SizeBucketOf(uint64_t size) {
  return size == 0 ? 0 : 64 - static_cast<size_t>(__builtin_clzll(size));
}

absl::StatusOr<EntrySizes> MeasureEntrySizes(Store& store, absl::string_view prefix) {
  EntrySizes sizes;
  absl::Status walk =
      store.Walk(KeysStartingWith(prefix),
                 [&](absl::string_view key, absl::string_view, const EntryMeta& meta) {
                   Count(key.size(), &sizes.keys);
                   Count(meta.value_size, &sizes.values);
                   return true;
                 });
  if (!walk.ok()) return walk;
  return sizes;
}

absl::StatusOr<std::vector<LargeEntry>> LargestEntries(Store& store, size_t n,
                                                       absl::string_view prefix) {
  if (n == 0) return absl::InvalidArgumentError("ask for at least one entry (n = 0)");
  // The n largest so far, smallest on top.
  std::priority_queue<LargeEntry, std::vector<LargeEntry>, decltype(&Larger)> top(Larger);
  absl::Status walk = store.Walk(
      KeysStartingWith(prefix),
      [&](absl::string_view key, absl::string_view, const EntryMeta& meta) {
        if (top.size() == n) {
          // Sizes first, so that most entries cost no key copy.
          const LargeEntry& smallest = top.top();
          if (meta.value_size < smallest.value_size ||
              (meta.value_size == smallest.value_size && key.size() < smallest.key_size)) {
            return true;
          }
        }
        LargeEntry entry;
        entry.key = std::string(key);
        entry.key_size = key.size();
        entry.value_size = meta.value_size;
        entry.ttl_remaining = meta.ttl_remaining;
        if (top.size() == n) {
          if (!Larger(entry, top.top())) return true;
          top.pop();
        }
        top.push(std::move(entry));
        return true;
      });
  if (!walk.ok()) return walk;
  std::vector<LargeEntry> largest;
  largest.reserve(top.size());
  while (!top.empty()) {
    largest.push_back(top.top());
    top.pop();
  }
  std::reverse(largest.begin(), largest.end());
  return largest;
}

}  // namespace shmkv
