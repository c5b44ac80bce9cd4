// kv/admin.h's calls that read a store below the Store interface, for
// kvcli load and dump --salvage: SalvageEntries and CheckFit.
#include <algorithm>
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
        "this Store is not a shared-memory store opened with Store::Open; "
        "salvage and fit checks need one");
  }
  return segment;
}

}  // namespace

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
