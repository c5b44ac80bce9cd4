// Store::CheckFit over the segment: where a set of planned writes would
// land, stripe by stripe, what each stripe holds now, and whether each
// stripe would take its share.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/internal/layout.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe.h"
#include "kv/internal/stripe_guard.h"
#include "kv/internal/stripe_records.h"

namespace shmkv::internal {

absl::StatusOr<std::vector<SegmentStore::StripeDemand>> SegmentStore::MeasureDemand(
    absl::Span<const absl::string_view> keys, absl::Span<const uint64_t> value_sizes) {
  if (keys.size() != value_sizes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("CheckFit got ", keys.size(), " keys but ",
                                                   value_sizes.size(), " value sizes"));
  }
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  for (const absl::string_view key : keys) {
    if (absl::Status s = CheckKey(key); !s.ok()) return s;
  }
  for (const uint64_t size : value_sizes) {
    if (size > geometry_.max_value_size) {
      return absl::InvalidArgumentError(absl::StrCat("a value of ", size,
                                                     " bytes is over this store's maximum of ",
                                                     geometry_.max_value_size, " bytes"));
    }
  }
  // The writes' indices grouped by stripe (a counting sort), with hashes.
  const uint32_t stripe_count = geometry_.stripe_count;
  std::vector<uint64_t> hashes(keys.size());
  std::vector<size_t> starts(stripe_count + 1, 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    hashes[i] = Hash64(keys[i].data(), keys[i].size(), geometry_.hash_seed);
    ++starts[(hashes[i] & (stripe_count - 1)) + 1];
  }
  for (uint32_t s = 0; s < stripe_count; ++s) starts[s + 1] += starts[s];
  std::vector<size_t> order(keys.size());
  std::vector<size_t> next(starts.begin(), starts.end() - 1);
  for (size_t i = 0; i < keys.size(); ++i) order[next[hashes[i] & (stripe_count - 1)]++] = i;

  constexpr size_t kChunk = 256;  // lookups per hold of a stripe's lock
  std::vector<StripeDemand> demand(stripe_count);
  for (uint32_t s = 0; s < stripe_count; ++s) {
    StripeDemand& d = demand[s];
    StripeView& view = stripes_[s];
    for (size_t from = starts[s]; from == starts[s] || from < starts[s + 1]; from += kChunk) {
      StripeGuard guard;
      if (absl::Status locked = Lock(view, &guard); !locked.ok()) return locked;
      const size_t to = std::min(from + kChunk, starts[s + 1]);
      for (size_t k = from; k < to; ++k) {
        const size_t i = order[k];
        absl::StatusOr<Located> found = view.Find(keys[i], hashes[i]);
        if (!found.ok()) return found.status();
        const uint64_t bytes = RecordBytes(keys[i].size(), value_sizes[i]);
        const uint64_t replaced = found->entry == nullptr ? 0 : SizeOf(found->header);
        ++d.writes;
        if (found->entry == nullptr) ++d.new_entries;
        d.added_bytes += bytes > replaced ? bytes - replaced : 0;
        d.largest_new = std::max(d.largest_new, bytes);
      }
      const Stripe* st = view.stripe();
      d.live_bytes = LoadOnce(&st->live_record_bytes);
      d.index_entries = LoadOnce(&st->index_entries);
      d.largest_record = LoadOnce(&st->largest_record);
    }
  }
  return demand;
}

absl::StatusOr<FitReport> SegmentStore::CheckFit(absl::Span<const absl::string_view> keys,
                                                 absl::Span<const uint64_t> value_sizes) {
  absl::StatusOr<std::vector<StripeDemand>> demand = MeasureDemand(keys, value_sizes);
  if (!demand.ok()) return demand.status();
  const Geometry& g = geometry_;
  const uint64_t slice = g.stripe_arena_bytes;
  const uint64_t index_limit = MaxIndexEntries(g.slots_per_stripe);
  FitReport report;
  for (uint32_t s = 0; s < demand->size(); ++s) {
    const StripeDemand& d = (*demand)[s];
    report.new_entries += d.new_entries;
    if (d.writes == 0) continue;
    const uint64_t largest = std::max(d.largest_record, d.largest_new);
    // The rules of StripeView::Write (no eviction) and ReclaimTail (when
    // live data crowds a slice, it evicts).
    const uint64_t need = g.evict
                              ? d.live_bytes + d.added_bytes + 2 * d.largest_new +
                                    CompactionReserveBytes(largest, slice, true)
                              : d.live_bytes + d.added_bytes + KeptFreeBytes(largest, slice, false);
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

}  // namespace shmkv::internal
