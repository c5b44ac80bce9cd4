// A stripe's records read back through the store: a slot pointing at a
// record that would run past the end of its slice is refused (DataLoss),
// never read past. The store image lives in private memory ending at a
// PROT_NONE page, so a read past the slice faults.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"
#include "kv/internal/segment_image.h"
#include "kv/internal/segment_store.h"
#include "shmkv/options.h"
#include "shmkv/store.h"

namespace shmkv {
namespace {

using internal::EntryHeader;
using internal::Geometry;
using internal::IndexSlot;

// A store image in private memory whose last slice ends exactly where a
// PROT_NONE page begins, so any read past the end of the arena faults
// (under ASan too: the image is not a heap block).
class GuardedImage {
 public:
  GuardedImage() {
    options_.capacity_bytes = 64 << 10;
    options_.max_key_size = 64;
    options_.max_value_size = 1024;
    options_.lock_stripes = 4;
    geometry_ = *internal::PlanGeometry(options_);
    const uint64_t arena_end =
        geometry_.arena_offset + uint64_t{geometry_.stripe_count} * geometry_.stripe_arena_bytes;
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    usable_ = (arena_end + page - 1) / page * page;
    bytes_ = usable_ + page;
    map_ = static_cast<char*>(
        mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      return;
    }
    char* guard = map_ + usable_;
    if (mprotect(guard, page, PROT_NONE) != 0) return;
    base_ = guard - arena_end;  // a multiple of 64 below a page boundary
    internal::CreatorRecord creator;
    creator.key = 0x1234;
    if (!internal::InitializeImage(base_, geometry_, creator).ok()) base_ = nullptr;
  }
  ~GuardedImage() {
    store_.reset();
    if (map_ != nullptr) munmap(map_, bytes_);
  }
  GuardedImage(const GuardedImage&) = delete;
  GuardedImage& operator=(const GuardedImage&) = delete;

  bool ok() const { return base_ != nullptr; }
  Store* store() {
    if (store_ == nullptr) {
      store_ =
          std::make_unique<internal::SegmentStore>(base_, geometry_, -1, -1, options_, nullptr);
    }
    return store_.get();
  }
  uint32_t last_stripe() const { return geometry_.stripe_count - 1; }
  uint64_t slice_bytes() const { return geometry_.stripe_arena_bytes; }
  IndexSlot* slots(uint32_t stripe) {
    return reinterpret_cast<IndexSlot*>(base_ + geometry_.index_offset) +
           uint64_t{stripe} * geometry_.slots_per_stripe;
  }
  uint32_t slot_count() const { return geometry_.slots_per_stripe; }
  char* slice(uint32_t stripe) {
    return base_ + geometry_.arena_offset + uint64_t{stripe} * geometry_.stripe_arena_bytes;
  }
  // The mask of a slot's offset bits.
  uint32_t ref_mask() const {
    return static_cast<uint32_t>(
        (uint64_t{1} << internal::IndexRefBits(geometry_.stripe_arena_bytes)) - 1);
  }

 private:
  Options options_;
  Geometry geometry_;
  char* map_ = nullptr;
  char* base_ = nullptr;
  size_t usable_ = 0, bytes_ = 0;
  std::unique_ptr<internal::SegmentStore> store_;
};

// Points every used slot of the last stripe at `offset` of its slice (keeping
// each slot's tag, so lookups of its key do read that record); returns how
// many it changed.
int PointLastStripeAt(GuardedImage* image, uint64_t offset) {
  IndexSlot* slots = image->slots(image->last_stripe());
  int changed = 0;
  for (uint32_t i = 0; i < image->slot_count(); ++i) {
    if (slots[i] == 0) continue;
    slots[i] =
        (slots[i] & ~image->ref_mask()) | static_cast<uint32_t>(offset / internal::kUnit + 1);
    ++changed;
  }
  return changed;
}

// Gets, ForEach and Check over a last stripe whose slots point at a record
// that would run past the end of the slice: DataLoss, never a read past it.
void ExpectBadRecordsRefused(GuardedImage* image, int keys) {
  std::string value;
  int data_loss = 0;
  for (int i = 0; i < keys; ++i) {
    absl::Status s = image->store()->Get(absl::StrCat("k", i), &value);
    if (s.code() == absl::StatusCode::kDataLoss) {
      ++data_loss;
    } else {
      EXPECT_TRUE(s.ok()) << s;
    }
  }
  EXPECT_GT(data_loss, 0);
  absl::Status each = image->store()->ForEach(
      "", [](absl::string_view, absl::string_view, const EntryMeta&) { return true; });
  EXPECT_EQ(each.code(), absl::StatusCode::kDataLoss) << each;
  absl::StatusOr<CheckReport> report = image->store()->Check(false);
  ASSERT_EQ(report.status(), absl::OkStatus());
  EXPECT_FALSE(report->ok);
}

// Catches Resolve accepting a slot whose record header starts inside the
// slice but ends past it (`offset >= size` for `offset + header > size`).
TEST(RecordBounds, HeaderRunningPastTheSliceIsDataLoss) {
  GuardedImage image;
  ASSERT_TRUE(image.ok());
  constexpr int kKeys = 120;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(image.store()->Put(absl::StrCat("k", i), "value"), absl::OkStatus());
  }
  // The last 8 bytes of the slice: a header there would end 20 bytes into
  // the guard page.
  ASSERT_GT(PointLastStripeAt(&image, image.slice_bytes() - internal::kUnit), 0);
  ExpectBadRecordsRefused(&image, kKeys);
}

// Catches Resolve checking a record's sizes against the whole slice instead
// of the bytes left after its offset.
TEST(RecordBounds, RecordRunningPastTheSliceIsDataLoss) {
  GuardedImage image;
  ASSERT_TRUE(image.ok());
  constexpr int kKeys = 120;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(image.store()->Put(absl::StrCat("k", i), "value"), absl::OkStatus());
  }
  // A sane-looking live header 32 bytes before the slice's end, whose value
  // runs 100 bytes on.
  const uint64_t offset = image.slice_bytes() - 32;
  EntryHeader fake{};
  fake.version = 1;
  fake.key_size = 2;
  fake.value_size = 100;
  fake.state = internal::kLive;
  std::memcpy(image.slice(image.last_stripe()) + offset, &fake, sizeof(fake));
  ASSERT_GT(PointLastStripeAt(&image, offset), 0);
  ExpectBadRecordsRefused(&image, kKeys);
}

}  // namespace
}  // namespace shmkv
