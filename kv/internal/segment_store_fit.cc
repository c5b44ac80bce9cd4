// SegmentStore's side of kv/admin.h's CheckFit: where a set of planned
// writes would land, stripe by stripe, and what each stripe holds now.
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/internal/hash.h"
#include "kv/internal/segment_store.h"
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

}  // namespace shmkv::internal
