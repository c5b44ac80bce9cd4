// The word-by-word reads of the segment (relaxed_bytes.h) and the key
// compare against memcmp and memcpy: every start within a word, every
// length up to a few words,
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

// `equal` finds the n bytes at src equal to a private copy of exactly n
// bytes, and unequal once any one byte of the copy differs.
void ExpectEqualOnlyToItsCopy(bool (*equal)(const char*, const char*, size_t), const char* src,
                              size_t n, size_t skip) {
  std::unique_ptr<char[]> mine(new char[n]);
  std::memcpy(mine.get(), src, n);
  EXPECT_TRUE(equal(src, mine.get(), n)) << "skip " << skip << " n " << n;
  for (size_t at = 0; at < n; ++at) {
    mine[at] = static_cast<char>(mine[at] ^ 0x40);
    EXPECT_FALSE(equal(src, mine.get(), n))
        << "skip " << skip << " n " << n << " differs at " << at;
    mine[at] = static_cast<char>(mine[at] ^ 0x40);
  }
}

TEST(RelaxedBytes, EqualBytesAgreesWithMemcmpAtEveryAlignmentAndLength) {
  for (size_t skip = 0; skip < 8; ++skip) {
    for (size_t n = 0; n <= kMaxLength; ++n) {
      Segment segment;
      char* src = segment.bytes + 8 + skip;
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<char>(i * 37 + skip);
      ExpectEqualOnlyToItsCopy(RelaxedEqualBytes, src, n, skip);
    }
  }
}

// EqualKeyBytes's loads stay inside the n bytes on both sides: here both
// are heap blocks of exactly n bytes, at every start within a word.
TEST(RelaxedBytes, EqualKeyBytesAgreesWithMemcmpAndReadsOnlyTheRange) {
  for (size_t skip = 0; skip < 8; ++skip) {
    for (size_t n = 0; n <= kMaxLength; ++n) {
      std::unique_ptr<char[]> block(new char[n + skip]);
      char* src = block.get() + skip;
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<char>(i * 37 + skip);
      ExpectEqualOnlyToItsCopy(EqualKeyBytes, src, n, skip);
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
