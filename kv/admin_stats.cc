// kv/admin.h's statistics: entry sizes, the largest entries, per-stripe
// counters and resetting them. The store's side is in
// kv/internal/segment_store_stats.cc.
#include <algorithm>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe.h"
#include "shmkv/admin.h"

namespace shmkv {
namespace {

absl::StatusOr<internal::SegmentStore*> Segment(Store& store) {
  auto* segment = dynamic_cast<internal::SegmentStore*>(&store);
  if (segment == nullptr) {
    return absl::UnimplementedError(
        "this Store is not a shared-memory store opened with Store::Open; open it that way to "
        "read its statistics");
  }
  return segment;
}

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

}  // namespace

absl::Status ForEachEntryMeta(
    Store& store, absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view key, const EntryMeta& meta)> fn) {
  absl::StatusOr<internal::SegmentStore*> segment = Segment(store);
  if (!segment.ok()) return segment.status();
  return (*segment)->ForEachMeta(prefix, fn);
}

size_t SizeBucketOf(uint64_t size) {
  return size == 0 ? 0 : 64 - static_cast<size_t>(__builtin_clzll(size));
}

absl::StatusOr<EntrySizes> MeasureEntrySizes(Store& store, absl::string_view prefix) {
  EntrySizes sizes;
  absl::Status walk =
      ForEachEntryMeta(store, prefix, [&](absl::string_view key, const EntryMeta& meta) {
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
  absl::Status walk =
      ForEachEntryMeta(store, prefix, [&](absl::string_view key, const EntryMeta& meta) {
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

absl::StatusOr<std::vector<StripeStats>> StatsByStripe(Store& store) {
  absl::StatusOr<internal::SegmentStore*> segment = Segment(store);
  if (!segment.ok()) return segment.status();
  absl::StatusOr<std::vector<StoreStats>> counters = (*segment)->CountersByStripe();
  if (!counters.ok()) return counters.status();
  std::vector<StripeStats> stripes(counters->size());
  for (size_t i = 0; i < stripes.size(); ++i) {
    stripes[i].stripe = static_cast<uint32_t>(i);
    stripes[i].stats = (*counters)[i];
  }
  return stripes;
}

absl::Status ResetCounters(Store& store) {
  absl::StatusOr<internal::SegmentStore*> segment = Segment(store);
  if (!segment.ok()) return segment.status();
  return (*segment)->ResetCounters();
}

absl::StatusOr<SalvageReport> SalvageEntries(
    Store& store, absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) {
  absl::StatusOr<internal::SegmentStore*> segment = Segment(store);
  if (!segment.ok()) return segment.status();
  SalvageReport report;
  absl::Status walk = (*segment)->Salvage(
      prefix,
      [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
        ++report.entries;
        return fn(key, value, meta);
      },
      &report.damaged, &report.notes);
  if (!walk.ok()) return walk;
  return report;
}

absl::StatusOr<FitReport> CheckFit(Store& store, absl::Span<const absl::string_view> keys,
                                   absl::Span<const uint64_t> value_sizes) {
  absl::StatusOr<internal::SegmentStore*> segment = Segment(store);
  if (!segment.ok()) return segment.status();
  absl::StatusOr<std::vector<internal::SegmentStore::StripeDemand>> demand =
      (*segment)->MeasureDemand(keys, value_sizes);
  if (!demand.ok()) return demand.status();
  const internal::Geometry& g = (*segment)->geometry();
  const uint64_t slice = g.stripe_arena_bytes;
  const uint64_t index_limit = internal::MaxIndexEntries(g.slots_per_stripe);
  FitReport report;
  for (uint32_t s = 0; s < demand->size(); ++s) {
    const internal::SegmentStore::StripeDemand& d = (*demand)[s];
    report.new_entries += d.new_entries;
    if (d.writes == 0) continue;
    const uint64_t largest = std::max(d.largest_record, d.largest_new);
    // The rules of StripeView::Write (no eviction) and ReclaimTail (when
    // live data crowds a slice, it evicts).
    const uint64_t need =
        g.evict ? d.live_bytes + d.added_bytes + 2 * d.largest_new +
                      internal::CompactionReserveBytes(largest, slice, true)
                : d.live_bytes + d.added_bytes + internal::KeptFreeBytes(largest, slice, false);
    const uint64_t room = g.evict ? slice / 16 * 15 : slice;
    report.largest_stripe_need =
        std::max(report.largest_stripe_need, g.evict ? need / 15 * 16 : need);
    std::string why;
    if (need > room) {
      why = absl::StrCat("stripe ", s, " of ", g.stripe_count, " would need ", need, " bytes (",
                         d.live_bytes, " in live entries, ", d.added_bytes,
                         " more for the writes that land there, the rest its reserve) but takes ",
                         room, g.evict ? " before it evicts" : "");
    } else if (d.index_entries + d.new_entries > index_limit) {
      why = absl::StrCat("stripe ", s, " of ", g.stripe_count, "'s index would hold ",
                         d.index_entries + d.new_entries, " entries (", d.new_entries,
                         " of them new keys) but takes ", index_limit);
    }
    if (why.empty()) continue;
    ++report.stripes_over;
    if (report.fits) report.why = std::move(why);
    report.fits = false;
  }
  return report;
}

}  // namespace shmkv
