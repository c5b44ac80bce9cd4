// Store::SalvageEntries over the segment: what can still be read of a
// damaged store, through the index slots, skipping what does not verify.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kv/internal/segment_store.h"
#include "kv/internal/stripe_guard.h"

namespace shmkv::internal {

absl::Status SegmentStore::Salvage(
    absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn,
    uint64_t* damaged, std::vector<std::string>* notes) {
  if (absl::Status s = CheckNotDestroyed(); !s.ok()) return s;
  constexpr uint32_t kChunk = 256;  // slots read per hold of a stripe's lock
  struct Copy {
    std::string key, value;
    EntryMeta meta;
  };
  std::vector<Copy> copies;
  for (StripeView& view : stripes_) {
    for (uint32_t from = 0; from < geometry_.slots_per_stripe; from += kChunk) {
      copies.clear();
      {
        StripeGuard guard;
        absl::Status locked = Lock(view, &guard);
        if (absl::IsDataLoss(locked)) {
          ++*damaged;
          notes->push_back(std::string(locked.message()));
          break;
        }
        if (!locked.ok()) return locked;
        int64_t now = -1;
        view.ForEachSlot(from, from + kChunk, [&](uint32_t slot, const Located& found) {
          if (found.entry == nullptr) {
            ++*damaged;
            notes->push_back(absl::StrCat("stripe ", view.index(), ": index slot ", slot,
                                          " leads to a damaged record"));
            return;
          }
          if ((found.header.bits & kLease) != 0 || Expired(found, &now)) return;
          const absl::string_view key(found.key(), found.header.key_size);
          if (!absl::StartsWith(key, prefix)) return;
          copies.push_back({std::string(key), std::string(found.value(), found.header.value_size),
                            MetaOf(found.header, &now)});
        });
      }
      for (const Copy& copy : copies) {
        if (!fn(copy.key, copy.value, copy.meta)) return absl::OkStatus();
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SalvageReport> SegmentStore::SalvageEntries(
    absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) {
  SalvageReport report;
  absl::Status walk = Salvage(
      prefix,
      [&](absl::string_view key, absl::string_view value, const EntryMeta& meta) {
        ++report.entries;
        return fn(key, value, meta);
      },
      &report.damaged, &report.notes);
  if (!walk.ok()) return walk;
  return report;
}

}  // namespace shmkv::internal
