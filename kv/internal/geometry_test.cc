// PlanGeometry's sizes and GeometryFromHeader's checks, without a segment.
#include "kv/internal/geometry.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "kv/internal/layout.h"
#include "shmkv/options.h"

namespace shmkv::internal {
namespace {

Options Sized(uint64_t expected_items, uint32_t lock_stripes) {
  Options o;
  o.capacity_bytes = size_t{64} << 20;
  o.max_value_size = 4096;
  o.expected_items = expected_items;
  o.lock_stripes = lock_stripes;
  return o;
}

uint32_t SlotsPerStripe(const Options& o) {
  absl::StatusOr<Geometry> g = PlanGeometry(o);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? g->slots_per_stripe : 0;
}

// Slots per stripe: ceil(per_stripe * 10 / 7) for per_stripe =
// ceil(expected_items / stripes), at least 8, at most 2^30.
TEST(PlanGeometry, SlotsPerStripe) {
  EXPECT_EQ(SlotsPerStripe(Sized(1000, 1)), 1429u);  // ceil(10000 / 7)
  EXPECT_EQ(SlotsPerStripe(Sized(700, 1)), 1000u);   // exact: no rounding up
  EXPECT_EQ(SlotsPerStripe(Sized(701, 1)), 1002u);   // ceil(7010 / 7)
  EXPECT_EQ(SlotsPerStripe(Sized(1000, 4)), 358u);   // 250 per stripe
  EXPECT_EQ(SlotsPerStripe(Sized(1001, 4)), 359u);   // 251 per stripe
  EXPECT_EQ(SlotsPerStripe(Sized(64, 1)), 92u);
  EXPECT_EQ(SlotsPerStripe(Sized(16, 1)), 23u);
  EXPECT_EQ(SlotsPerStripe(Sized(1, 1)), 8u);  // the minimum
  EXPECT_EQ(SlotsPerStripe(Sized(5, 1)), 8u);
  // expected_items 0: one entry per 64 arena bytes.
  EXPECT_EQ(SlotsPerStripe(Sized(0, 1)), ((uint64_t{64} << 20) / 64 * 10 + 6) / 7);
}

// expected_items beyond what the arena could hold at the smallest record
// size (32 bytes: header and a 1-byte key) is refused: it would only make a
// huge index.
TEST(PlanGeometry, ExpectedItemsAreBoundedByTheCapacity) {
  Options o = Sized(0, 1);
  o.capacity_bytes = size_t{1} << 20;
  o.expected_items = (size_t{1} << 20) / 32;
  EXPECT_TRUE(PlanGeometry(o).ok()) << PlanGeometry(o).status();
  o.expected_items += 1;
  absl::StatusOr<Geometry> g = PlanGeometry(o);
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument) << g.status();
  EXPECT_NE(g.status().message().find("32768 entries"), absl::string_view::npos) << g.status();
  o.expected_items = 1000000000000;
  EXPECT_EQ(PlanGeometry(o).status().code(), absl::StatusCode::kInvalidArgument);
}

// The smallest capacity the error suggests makes a store that takes values
// of 64 bytes; a byte less is refused.
TEST(PlanGeometry, TheSuggestedSmallestCapacityTakesUsefulValues) {
  Options o = Sized(0, 1);
  o.max_key_size = 250;
  o.capacity_bytes = 1000;
  absl::StatusOr<Geometry> refused = PlanGeometry(o);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(refused.status().message());
  const size_t at = message.find("use at least ");
  ASSERT_NE(at, std::string::npos) << message;
  const uint64_t suggested = std::stoull(message.substr(at + 13));
  o.capacity_bytes = suggested;
  absl::StatusOr<Geometry> g = PlanGeometry(o);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_GE(g->max_value_size, 64u);
  o.capacity_bytes = suggested - 64;
  EXPECT_FALSE(PlanGeometry(o).ok());
}

TEST(PlanGeometry, StripesArePowersOfTwoThatFit) {
  absl::StatusOr<Geometry> g = PlanGeometry(Sized(1000, 6));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->stripe_count, 4u);
  EXPECT_EQ(g->stripe_arena_bytes % 64, 0u);
  EXPECT_GE(g->stripe_arena_bytes, 4 * g->max_record_bytes());

  // A store too small for 4 maximal records per stripe gets one stripe and
  // a smaller value limit.
  Options small = Sized(100, 16);
  small.max_key_size = 64;
  small.capacity_bytes = 8192;
  g = PlanGeometry(small);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->stripe_count, 1u);
  EXPECT_LE(4 * g->max_record_bytes(), g->stripe_arena_bytes);
  EXPECT_LT(g->max_value_size, 4096u);
}

TEST(PlanGeometry, RegionsAreAlignedAndInOrder) {
  absl::StatusOr<Geometry> g = PlanGeometry(Sized(1000, 4));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->stripe_table_offset, kHeaderRegionBytes);
  EXPECT_EQ(g->index_offset, RoundUp(kHeaderRegionBytes + 4 * sizeof(Stripe), 64));
  EXPECT_EQ(g->arena_offset, RoundUp(g->index_offset + 4 * 358 * sizeof(IndexSlot), 64));
  EXPECT_EQ(g->segment_bytes, RoundUp(g->arena_offset + g->capacity(), 4096));
}

TEST(PlanGeometry, RefusesBadOptions) {
  Options o = Sized(0, 1);
  o.capacity_bytes = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(PlanGeometry(o).status()));
  o = Sized(0, 1);
  o.max_key_size = kMaxKeySizeLimit + 1;
  EXPECT_TRUE(absl::IsInvalidArgument(PlanGeometry(o).status()));
  o = Sized(0, 1);
  o.capacity_bytes = 512;
  EXPECT_TRUE(absl::IsInvalidArgument(PlanGeometry(o).status()));
  o = Sized(0, 1);
  o.capacity_bytes = kMaxSegmentBytes;
  EXPECT_TRUE(absl::IsResourceExhausted(PlanGeometry(o).status()));
}

// A stripe holds at most slots - max(1, slots / 8) entries.
TEST(IndexMath, MaxIndexEntries) {
  EXPECT_EQ(MaxIndexEntries(8), 7u);
  EXPECT_EQ(MaxIndexEntries(15), 14u);
  EXPECT_EQ(MaxIndexEntries(16), 14u);
  EXPECT_EQ(MaxIndexEntries(23), 21u);
  EXPECT_EQ(MaxIndexEntries(92), 81u);
  EXPECT_EQ(MaxIndexEntries(1429), 1429u - 178u);
}

TEST(IndexMath, HomeAndRefBits) {
  EXPECT_EQ(IndexHome(0, 1429), 0u);
  EXPECT_EQ(IndexHome(~uint64_t{0}, 1429), 1428u);
  EXPECT_EQ(IndexHome(uint64_t{1} << 63, 1000), 500u);
  EXPECT_EQ(IndexRefBits(uint64_t{4} << 20), 20u);   // 2^19 units: 12 tag bits
  EXPECT_EQ(IndexRefBits(uint64_t{16} << 30), 32u);  // no tag bits
  EXPECT_EQ(IndexRefBits(64), 4u);                   // 8 units
}

Geometry Planned() {
  absl::StatusOr<Geometry> g = PlanGeometry(Sized(1000, 4));
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : Geometry{};
}

TEST(GeometryFromHeader, ReadsBackWhatWasWritten) {
  const Geometry g = Planned();
  Header h{};
  WriteGeometry(g, &h);
  absl::StatusOr<Geometry> read = GeometryFromHeader(h, g.segment_bytes);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->segment_bytes, g.segment_bytes);
  EXPECT_EQ(read->index_offset, g.index_offset);
  EXPECT_EQ(read->arena_offset, g.arena_offset);
  EXPECT_EQ(read->stripe_count, g.stripe_count);
  EXPECT_EQ(read->slots_per_stripe, g.slots_per_stripe);
  EXPECT_EQ(read->stripe_arena_bytes, g.stripe_arena_bytes);
  EXPECT_EQ(read->max_key_size, g.max_key_size);
  EXPECT_EQ(read->max_value_size, g.max_value_size);
}

TEST(GeometryFromHeader, RefusesInconsistentHeaders) {
  const Geometry g = Planned();
  auto refused = [&](void (*corrupt)(Header*)) {
    Header h{};
    WriteGeometry(g, &h);
    corrupt(&h);
    return absl::IsDataLoss(GeometryFromHeader(h, g.segment_bytes).status());
  };
  EXPECT_TRUE(refused([](Header* h) { h->stripe_count = 3; }));
  EXPECT_TRUE(refused([](Header* h) { h->stripe_count = 1u << 17; }));
  EXPECT_TRUE(refused([](Header* h) { h->slots_per_stripe = 7; }));
  EXPECT_TRUE(refused([](Header* h) { h->slots_per_stripe = (1u << 30) + 1; }));
  EXPECT_TRUE(refused([](Header* h) { h->max_key_size = 0; }));
  EXPECT_TRUE(refused([](Header* h) { h->max_value_size = (1u << 31) + 1; }));
  EXPECT_TRUE(refused([](Header* h) { h->stripe_arena_bytes += 8; }));
  EXPECT_TRUE(refused([](Header* h) { h->stripe_arena_bytes = 64; }));
  EXPECT_TRUE(refused([](Header* h) { h->default_ttl_ms = -1; }));
  EXPECT_TRUE(refused([](Header* h) { h->arena_offset += 64; }));
  EXPECT_TRUE(refused([](Header* h) { h->index_offset += 64; }));
  EXPECT_TRUE(refused([](Header* h) { h->segment_bytes += 4096; }));

  // Consistent, but larger than the segment actually mapped.
  Header h{};
  WriteGeometry(g, &h);
  EXPECT_TRUE(absl::IsFailedPrecondition(GeometryFromHeader(h, g.segment_bytes - 1).status()));
}

}  // namespace
}  // namespace shmkv::internal
