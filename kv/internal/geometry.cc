#include "kv/internal/geometry.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "kv/platform/ipc.h"

namespace shmkv::internal {
namespace {

constexpr uint64_t kMinStripeRecords = 4;  // a slice holds at least 4 maximal records
constexpr uint32_t kMaxStripes = 1 << 16;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kMinSlotsPerStripe = 8;
constexpr uint64_t kMaxSlotsPerStripe = uint64_t{1} << 30;
// A small store lowers its largest value to fit its one slice, but not below
// this (or the largest value asked for, if smaller).
constexpr uint64_t kMinUsefulValueBytes = 64;

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

uint64_t FloorPowerOfTwo(uint64_t n) {
  uint64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

void Place(Geometry* g) {
  g->stripe_table_offset = kHeaderRegionBytes;
  g->index_offset =
      RoundUp(g->stripe_table_offset + uint64_t{g->stripe_count} * sizeof(Stripe), 64);
  g->arena_offset = RoundUp(
      g->index_offset + uint64_t{g->stripe_count} * g->slots_per_stripe * sizeof(uint32_t), 64);
  g->segment_bytes = RoundUp(g->arena_offset + g->capacity(), kPage);
}

// The segment a plan needs is over the largest a store can have: says so
// for `what` (the segment, not the capacity, is what is limited), with the
// segment's size (`segment`, e.g. "more than N bytes") and the kernel's own
// limit.
absl::Status SegmentTooLarge(const std::string& what, const std::string& segment,
                             const char* advice) {
  const std::string shmmax = platform::ReadKernelSetting("shmmax");
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " needs a segment of ", segment,
      " (the entries' capacity plus the hash index and headers), over the largest "
      "segment a store can have, ",
      kMaxSegmentBytes, " bytes (32 GiB; the kernel's kernel.shmmax is ",
      shmmax.empty() ? std::string("unknown") : absl::StrCat(shmmax, " bytes"), "); ", advice,
      " (at most ", kMaxSegmentBytes - (uint64_t{1} << 26), " bytes of capacity)"));
}

// The options no store can have, refused before anything is planned.
absl::Status CheckOptions(const Options& options) {
  if (options.capacity_bytes == 0) {
    return absl::InvalidArgumentError(
        "capacity is 0: give the store some bytes (e.g. Options::capacity_bytes = 64 MiB)");
  }
  if (options.max_key_size == 0 || options.max_key_size > kMaxKeySizeLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max key size ", options.max_key_size, " is outside 1..", kMaxKeySizeLimit));
  }
  if (options.max_value_size > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat("max value size ", options.max_value_size,
                                                   " is over the 2 GiB limit of a store"));
  }
  if ((options.mode & ~0777) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mode 0", options.mode, " has bits beyond 0777"));
  }
  if (options.default_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("default TTL is negative");
  }
  if (options.capacity_bytes > kMaxSegmentBytes - (uint64_t{1} << 26)) {
    return SegmentTooLarge(absl::StrCat("capacity of ", options.capacity_bytes, " bytes"),
                           absl::StrCat("more than ", options.capacity_bytes, " bytes"),
                           "lower the capacity");
  }
  return absl::OkStatus();
}

// The stripe count, and for a small store (one stripe) its max value size:
// each stripe's slice of `capacity` holds kMinStripeRecords maximal records.
absl::Status PlanStripes(const Options& options, uint64_t capacity, Geometry* out) {
  Geometry& g = *out;
  uint64_t min_slice = kMinStripeRecords * g.max_record_bytes();
  if (capacity < min_slice) {
    // A small store: one stripe, and values only as large as a quarter of it.
    // It must still take values of a useful size.
    const uint64_t useful_value = std::min<uint64_t>(g.max_value_size, kMinUsefulValueBytes);
    const uint64_t smallest = RoundUp(
        std::max<uint64_t>(1024, kMinStripeRecords * RecordBytes(g.max_key_size, useful_value)),
        64);
    if (capacity < smallest) {
      return absl::InvalidArgumentError(absl::StrCat(
          "capacity of ", options.capacity_bytes, " bytes cannot hold ", kMinStripeRecords,
          " entries with keys of up to ", g.max_key_size, " bytes and values of ", useful_value,
          " bytes; use at least ", smallest, " bytes (", RoundUp(min_slice, 64),
          " bytes for values of up to ", g.max_value_size, " bytes)"));
    }
    g.stripe_count = 1;
    uint64_t fit = capacity / kMinStripeRecords - kEntryHeaderBytes - g.max_key_size;
    g.max_value_size =
        static_cast<uint32_t>(std::min<uint64_t>(g.max_value_size, fit / kUnit * kUnit));
  } else {
    uint64_t stripes = FloorPowerOfTwo(std::max<uint32_t>(1, options.lock_stripes));
    stripes = std::min<uint64_t>(stripes, kMaxStripes);
    // Decide on the slice as it will be (rounded down to 64), not on the
    // unrounded share, or the slice can end up below 4 maximal records.
    while (stripes > 1 && capacity / stripes / 64 * 64 < min_slice) stripes /= 2;
    g.stripe_count = static_cast<uint32_t>(stripes);
  }
  return absl::OkStatus();
}

// The index slots of each stripe, for expected_items (or one entry per 64
// bytes of `capacity`).
absl::Status PlanIndex(const Options& options, uint64_t capacity, Geometry* out) {
  Geometry& g = *out;
  // More entries than the arena can hold even at the smallest record size
  // would only make the index (and Check, which walks it) huge.
  const uint64_t most_items = g.capacity() / RecordBytes(1, 0);
  if (options.expected_items > most_items) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected_items of ", options.expected_items, " is more than a capacity of ", g.capacity(),
        " bytes can ever hold (", most_items, " entries of the smallest size, ", RecordBytes(1, 0),
        " bytes each); lower Options::expected_items or raise Options::capacity_bytes"));
  }
  // Slots for the expected entries at a load of at most 0.7, where a linear
  // probe stays within a cache line or two.
  uint64_t items = options.expected_items != 0 ? options.expected_items : capacity / 64;
  uint64_t per_stripe = (items + g.stripe_count - 1) / g.stripe_count;
  per_stripe = std::max<uint64_t>(kMinSlotsPerStripe, (per_stripe * 10 + 6) / 7);
  g.slots_per_stripe = static_cast<uint32_t>(std::min<uint64_t>(per_stripe, kMaxSlotsPerStripe));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Geometry> PlanGeometry(const Options& options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  Geometry g;
  g.max_key_size = static_cast<uint32_t>(options.max_key_size);
  g.max_value_size = static_cast<uint32_t>(options.max_value_size);
  g.evict = options.evict;
  g.default_ttl_ms = absl::ToInt64Milliseconds(options.default_ttl);
  if (options.default_ttl == absl::InfiniteDuration()) g.default_ttl_ms = 0;

  const uint64_t capacity = options.capacity_bytes / 64 * 64;
  if (absl::Status s = PlanStripes(options, capacity, &g); !s.ok()) return s;
  g.stripe_arena_bytes = capacity / g.stripe_count / 64 * 64;
  if (absl::Status s = PlanIndex(options, capacity, &g); !s.ok()) return s;
  Place(&g);
  if (g.segment_bytes > kMaxSegmentBytes) {
    return SegmentTooLarge("this capacity and expected_items",
                           absl::StrCat(g.segment_bytes, " bytes"),
                           "lower capacity or expected_items");
  }
  // Every other opener checks the header with GeometryFromHeader: refuse to
  // build what they would refuse to open.
  Header header{};
  WriteGeometry(g, &header);
  if (absl::StatusOr<Geometry> check = GeometryFromHeader(header, g.segment_bytes); !check.ok()) {
    return absl::InternalError(absl::StrCat(
        "shmkv planned a store its own openers would refuse (", check.status().message(),
        "); change capacity_bytes or max_value_size and report this as a bug"));
  }
  return g;
}

uint64_t RandomHashSeed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) == static_cast<ssize_t>(sizeof(seed))) return seed;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (static_cast<uint64_t>(now.tv_nsec) << 32) ^ static_cast<uint64_t>(now.tv_sec) ^
         (static_cast<uint64_t>(getpid()) * 0x9e3779b97f4a7c15ull);
}

absl::StatusOr<Geometry> GeometryFromHeader(const Header& h, uint64_t real_size) {
  Geometry g;
  g.stripe_count = h.stripe_count;
  g.slots_per_stripe = h.slots_per_stripe;
  g.stripe_arena_bytes = h.stripe_arena_bytes;
  g.max_key_size = h.max_key_size;
  g.max_value_size = h.max_value_size;
  g.evict = h.evict != 0;
  g.default_ttl_ms = h.default_ttl_ms;
  g.hash_seed = h.hash_seed;
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("the store header is corrupt (", what,
                     "); run kvcli check, or destroy and re-create the store"));
  };
  if (!IsPowerOfTwo(g.stripe_count) || g.stripe_count > kMaxStripes) return corrupt("stripe count");
  if (g.slots_per_stripe < kMinSlotsPerStripe || g.slots_per_stripe > kMaxSlotsPerStripe) {
    return corrupt("index slot count");
  }
  if (g.max_key_size == 0 || g.max_key_size > kMaxKeySizeLimit) return corrupt("max key size");
  if (g.max_value_size > (uint64_t{1} << 31)) return corrupt("max value size");
  if (g.stripe_arena_bytes % 64 != 0 || g.stripe_arena_bytes == 0 ||
      g.stripe_arena_bytes > kMaxSegmentBytes || g.stripe_arena_bytes < 4 * g.max_record_bytes()) {
    return corrupt("arena slice size");
  }
  if (g.default_ttl_ms < 0) return corrupt("default TTL");
  Place(&g);
  if (g.segment_bytes > kMaxSegmentBytes) return corrupt("total size");
  if (g.stripe_table_offset != h.stripe_table_offset || g.index_offset != h.index_offset ||
      g.arena_offset != h.arena_offset || g.segment_bytes != h.segment_bytes) {
    return corrupt("region offsets");
  }
  if (g.segment_bytes > real_size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the segment is ", real_size, " bytes but its header describes ", g.segment_bytes,
        "; it is not a complete shmkv store — destroy it and re-create"));
  }
  return g;
}

void WriteGeometry(const Geometry& g, Header* h) {
  h->segment_bytes = g.segment_bytes;
  h->stripe_table_offset = g.stripe_table_offset;
  h->index_offset = g.index_offset;
  h->arena_offset = g.arena_offset;
  h->stripe_arena_bytes = g.stripe_arena_bytes;
  h->stripe_count = g.stripe_count;
  h->slots_per_stripe = g.slots_per_stripe;
  h->max_key_size = g.max_key_size;
  h->max_value_size = g.max_value_size;
  h->evict = g.evict ? 1 : 0;
  h->default_ttl_ms = g.default_ttl_ms;
  h->hash_seed = g.hash_seed;
}

}  // namespace shmkv::internal
