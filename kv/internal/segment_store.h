// The Store implementation over one mapped segment image. It does not know
// how the image was obtained: kv/open_and_destroy.cc attaches System V
// segments and hands them here; the fuzzer hands it a private buffer.
#ifndef SHMKV_KV_INTERNAL_SEGMENT_STORE_H_
#define SHMKV_KV_INTERNAL_SEGMENT_STORE_H_

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"
#include "kv/internal/read_counters.h"
#include "kv/internal/segment_image.h"
#include "kv/internal/stripe.h"
#include "kv/platform/monotonic_clock.h"
#include "shmkv/clock.h"
#include "shmkv/store.h"

namespace shmkv::internal {

class SegmentStore final : public Store {
 public:
  // `release` runs in the destructor (detaching the segment).
  SegmentStore(char* base, const Geometry& geometry, int shm_id, int sem_id, const Options& options,
               std::function<void()> release);
  ~SegmentStore() override;

  absl::Status Get(absl::string_view key, std::string* value, EntryMeta* meta) override;
  absl::Status View(absl::string_view key,
                    absl::FunctionRef<void(absl::string_view, const EntryMeta&)> fn) override;
  absl::StatusOr<bool> Contains(absl::string_view key) override;
  absl::Status GetMany(absl::Span<const absl::string_view> keys,
                       std::vector<GetResult>* results) override;
  absl::Status PutMany(absl::Span<const PutItem> items, const WriteOptions& options,
                       std::vector<PutResult>* results) override;
  absl::Status Put(absl::string_view key, absl::string_view value, const WriteOptions& options,
                   uint64_t* version) override;
  absl::StatusOr<int64_t> Increment(absl::string_view key, int64_t delta,
                                    const IncrementOptions& options) override;
  absl::Status Touch(absl::string_view key, absl::Duration ttl) override;
  absl::Status Delete(absl::string_view key) override;
  using Store::GetOrCompute;
  absl::StatusOr<std::string> GetOrCompute(
      absl::string_view key,
      absl::FunctionRef<absl::StatusOr<std::string>(absl::Duration* ttl)> compute,
      const GetOrComputeOptions& options) override;
  absl::Status Walk(
      const ScanOptions& options,
      absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) override;
  absl::Status Clear() override;
  absl::StatusOr<uint64_t> FlushExpired() override;
  absl::StatusOr<uint64_t> Size() override;
  absl::StatusOr<StoreStats> Stats() override;
  absl::StatusOr<std::vector<StripeStats>> StatsByStripe() override;
  absl::Status ResetCounters() override;
  absl::StatusOr<StoreInfo> Info() override;
  absl::StatusOr<CheckReport> Check(bool repair) override;
  absl::StatusOr<FitReport> CheckFit(absl::Span<const absl::string_view> keys,
                                     absl::Span<const uint64_t> value_sizes) override;
  absl::StatusOr<SalvageReport> SalvageEntries(
      absl::string_view prefix,
      absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn) override;
  absl::StatusOr<uint64_t> Scan(
      uint64_t cursor, size_t count, const ScanOptions& options,
      absl::FunctionRef<void(absl::string_view, absl::string_view, const EntryMeta&)> fn) override;
  absl::StatusOr<uint64_t> DeleteMatching(const ScanOptions& options) override;

  // Maps in every page of the segment for this process (Options::populate).
  void PopulatePages();
  const Geometry& geometry() const { return geometry_; }
  // A sentence Info() reports in StoreInfo::warnings from now on.
  void AddWarning(std::string warning) { warnings_.push_back(std::move(warning)); }
  // The key this process found the segment at (Info reports it; the header
  // keeps the key the store was created at).
  void SetOpenedKey(key_t key) { opened_key_ = key; }
  // For SalvageEntries (segment_store_salvage.cc): every live,
  // unexpired entry whose key starts with `prefix` that its index slot
  // leads to, a short chunk of slots at a time; each damaged record and
  // unusable stripe lock is counted in *damaged and described in *notes.
  absl::Status Salvage(
      absl::string_view prefix,
      absl::FunctionRef<bool(absl::string_view, absl::string_view, const EntryMeta&)> fn,
      uint64_t* damaged, std::vector<std::string>* notes);
  // For CheckFit (segment_store_fit.cc): one stripe's side of
  // a set of planned writes. The first three are the stripe's now.
  struct StripeDemand {
    uint64_t live_bytes = 0, index_entries = 0, largest_record = 0;
    uint64_t writes = 0;       // planned writes whose key hashes here
    uint64_t added_bytes = 0;  // each one's record bytes beyond the entry it replaces
    uint64_t new_entries = 0;  // keys not in the store now
    uint64_t largest_new = 0;  // the largest planned record
  };
  // Places each key (with the value size at the same index) in its stripe,
  // looking each up under its stripe's lock, a short chunk at a time.
  absl::StatusOr<std::vector<StripeDemand>> MeasureDemand(absl::Span<const absl::string_view> keys,
                                                          absl::Span<const uint64_t> value_sizes);

 private:
  class StripeGuard;
  struct KeyAccess;
  // Inline, as every key of a batch is checked: the error, when there is
  // one, comes from KeyError.
  absl::Status CheckKey(absl::string_view key) const {
    if (!key.empty() && key.size() <= geometry_.max_key_size) return absl::OkStatus();
    return KeyError(key);
  }
  // The InvalidArgument for a key that is empty or too long (OK otherwise).
  absl::Status KeyError(absl::string_view key) const;
  // A miss: NotFound with no message, as misses are common and a message
  // would be built for nothing.
  static absl::Status NotFoundKey() { return absl::Status(absl::StatusCode::kNotFound, ""); }
  // Checks the key, locks its stripe and (unless `find` is false) finds it.
  absl::Status Access(absl::string_view key, KeyAccess* access, bool find = true);
  // Access for a key already checked and hashed (access->hash set).
  absl::Status AccessHashed(absl::string_view key, KeyAccess* access, bool find = true);
  // View of a key already checked and hashed (Get's locked read after an
  // unlocked try).
  absl::Status ViewHashed(absl::string_view key, uint64_t hash,
                          absl::FunctionRef<void(absl::string_view, const EntryMeta&)> fn);
  // Whether the found entry is visible to readers: present, not a lease, not
  // expired. An expired entry is removed on the way.
  bool Visible(KeyAccess& access);
  bool Visible(StripeView& view, Located* found, int64_t* now);
  // A read of a located key under its stripe's lock, as Get does it: counts
  // the hit or miss (read_counters_), sets the reference bit if it is not set
  // and fills *meta. False on a miss.
  bool Read(StripeView& view, Located* found, int64_t* now, EntryMeta* meta);
  // Get's read without the lock (StripeView::ReadOptimistic): on kHit,
  // *value and *meta (if not null) are set and the hit counted; on kMiss,
  // the miss is counted; on kLock (also when the store was removed or
  // destroyed, which the locked path reports), the caller takes the lock.
  Optimistic ReadUnlocked(StripeView& view, absl::string_view key, uint64_t hash, int64_t* now,
                          std::string* value, EntryMeta* meta);
  // Whether reads may try without the lock: not once the segment was found
  // removed or destroyed (the locked path reports it). GetMany asks once per
  // chunk of keys.
  bool UnlockedReadsAllowed() { return CheckNotRemoved().ok() && CheckNotDestroyed().ok(); }
  // ReadUnlocked's read alone, neither asking UnlockedReadsAllowed nor
  // counting the hit or miss (GetMany counts a chunk's at once).
  // Inline: GetMany calls it for every key.
  Optimistic ReadUnlockedUncounted(StripeView& view, absl::string_view key, uint64_t hash,
                                   uint32_t hint, int64_t* now, std::string* value,
                                   EntryMeta* meta) {
    EntryHeader header;
    const Optimistic result = view.ReadOptimistic(key, hash, hint, value, &header, now, *clock_);
    if (result == Optimistic::kHit && meta != nullptr) *meta = MetaOf(header, now);
    return result;
  }
  // Put's checks before it locks: the value's size and the TTL.
  absl::Status CheckWrite(absl::string_view value, const WriteOptions& options,
                          int64_t* expires) const;
  // Put's work under the stripe's lock: the condition, then the write.
  absl::Status WriteLocked(StripeView& view, absl::string_view key, uint64_t hash,
                           absl::string_view value, const WriteOptions& options, int64_t expires,
                           uint64_t* version);
  // GetMany's and PutMany's walk over `count` items (segment_store_batch.cc
  // says how it calls the four functions). Returns the lock failure that
  // stopped it, if any.
  template <bool kWrites, typename Prepare, typename Settle, typename Serve, typename Abandon>
  absl::Status ByStripe(size_t count, Prepare prepare, Settle settle, Serve serve, Abandon abandon);
  absl::Status Lock(StripeView& stripe, StripeGuard* guard);
  // The Unavailable a lock wait that timed out returns: names the holder,
  // or says the lock word is invalid when no running process holds it.
  absl::Status LockTimeoutError(const StripeView& view) const;
  StripeView& StripeFor(uint64_t hash) { return stripes_[hash & (geometry_.stripe_count - 1)]; }
  absl::StatusOr<int64_t> ExpiryFor(absl::Duration ttl) const;
  // now + ms, saturated at the largest expiry (an absurdly long TTL or lease
  // means "as late as can be", never a negative time that is already past).
  static int64_t AddMillis(int64_t now, int64_t ms);
  // The metadata of the entry whose header is `header`, its TTL left
  // counted from `*now` (read from the clock if < 0, as Expired does, so one
  // `now` judges and describes it). Inline: every read of an entry fills it.
  EntryMeta MetaOf(const EntryHeader& header, int64_t* now) const {
    EntryMeta meta;
    meta.version = header.version;
    meta.flags = header.flags;
    meta.expires_at_ms = header.expires_at_ms;
    meta.value_size = header.value_size;
    if (meta.expires_at_ms != 0) {
      if (*now < 0) *now = clock_->NowMillis();
      meta.ttl_remaining = absl::Milliseconds(std::max<int64_t>(0, meta.expires_at_ms - *now));
    }
    return meta;
  }
  bool Expired(const Located& found, int64_t* now) const;
  // The error of a whole-store `operation` ("check", "flush") that could not
  // lock `view`: the destroyed-store error if the store was destroyed,
  // otherwise `lock_error` with where it stopped and what was `done`.
  absl::Status StoppedAt(absl::string_view operation, const StripeView& view,
                         const absl::Status& lock_error, absl::string_view done);
  // Check's work on one stripe, under its lock.
  void CheckStripe(StripeView& view, bool repair, CheckReport* report);
  // FailedPrecondition once Store::Destroy marked the segment.
  absl::Status CheckNotDestroyed() const;
  // FailedPrecondition once the segment was found removed (IPC_RMID by
  // anyone: ipcrm, another tool) while this process is attached. Asks the
  // kernel at most once per kRemovalCheckInterval; otherwise costs one read
  // of the coarse monotonic clock.
  absl::Status CheckNotRemoved() {
    if (platform::MonotonicCoarseNanos() < next_removal_check_ns_.load(std::memory_order_relaxed)) {
      return absl::OkStatus();
    }
    return CheckRemovedNow();
  }
  absl::Status CheckRemovedNow();
  // GetOrCompute's helpers (segment_store_single_flight.cc).
  // Stores a GetOrCompute result if the key still holds this call's lease
  // (`lease_version`); anything else there is newer and stays. Releases the
  // lease when the value cannot be stored.
  absl::Status StoreComputed(absl::string_view key, absl::string_view value,
                             const WriteOptions& write, uint64_t lease_version);
  // Removes the key's entry if it is still this call's lease.
  void ReleaseLease(absl::string_view key, uint64_t lease_version);
  // The chunked walk behind Scan, Walk and DeleteMatching
  // (segment_store_scan.cc): Walker reads one chunk of one stripe under its
  // lock and lets it go before anything is passed on.
  class Walker;

  char* base_;
  Geometry geometry_;
  int shm_id_, sem_id_;
  Options options_;
  const Clock* clock_;
  std::function<void()> release_;
  std::vector<StripeView> stripes_;
  ReadCounterTable read_counters_;
  std::vector<std::string> warnings_;
  std::optional<key_t> opened_key_;
  // Per stripe: one more than the log position (Stripe::head) up to which
  // a walk has mapped its pages into this process; 0 before the first walk
  // (Walker::MapInStripe).
  std::unique_ptr<std::atomic<uint64_t>[]> mapped_to_;
  // CheckNotRemoved's state: when (MonotonicCoarseNanos) to ask the kernel
  // next (INT64_MIN once the segment was found removed, so that every call
  // reports it), and whether it was.
  std::atomic<int64_t> next_removal_check_ns_{0};
  std::atomic<bool> removed_{false};
};

}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_SEGMENT_STORE_H_
