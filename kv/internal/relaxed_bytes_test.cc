// The word-by-word reads of the segment (relaxed_bytes.h) against memcmp
// and memcpy: every start within a word, every length up to a few words,
// a difference at every position, and private buffers of exactly the
// range's length (so ASan sees a read past them).
#include "kv/internal/relaxed_bytes.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "gtest/gtest.h"

namespace shmkv::internal {
namespace {

constexpr size_t kMaxLength = 41;

// Segment-like memory: aligned, with bytes around every range that differ
// from the range's.
struct Segment {
  alignas(64) char bytes[128];
  Segment() {
    for (size_t i = 0; i < sizeof(bytes); ++i) bytes[i] = static_cast<char>(0xA0 + i % 7);
  }
};

TEST(RelaxedBytes, EqualBytesAgreesWithMemcmpAtEveryAlignmentAndLength) {
  for (size_t skip = 0; skip < 8; ++skip) {
    for (size_t n = 0; n <= kMaxLength; ++n) {
      Segment segment;
      char* src = segment.bytes + 8 + skip;
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<char>(i * 37 + skip);
      std::unique_ptr<char[]> mine(new char[n]);  // exactly n bytes
      std::memcpy(mine.get(), src, n);
      EXPECT_TRUE(RelaxedEqualBytes(src, mine.get(), n)) << "skip " << skip << " n " << n;
      for (size_t at = 0; at < n; ++at) {
        mine[at] = static_cast<char>(mine[at] ^ 0x40);
        EXPECT_FALSE(RelaxedEqualBytes(src, mine.get(), n))
            << "skip " << skip << " n " << n << " differs at " << at;
        mine[at] = static_cast<char>(mine[at] ^ 0x40);
      }
    }
  }
}

TEST(RelaxedBytes, LoadBytesCopiesExactlyTheRange) {
  for (size_t skip = 0; skip < 8; ++skip) {
    for (size_t n = 0; n <= kMaxLength; ++n) {
      Segment segment;
      const char* src = segment.bytes + 8 + skip;
      std::unique_ptr<char[]> copy(new char[n]);
      RelaxedLoadBytes(copy.get(), src, n);
      EXPECT_EQ(std::memcmp(copy.get(), src, n), 0) << "skip " << skip << " n " << n;
    }
  }
}

}  // namespace
}  // namespace shmkv::internal
