// Runs the segment fuzzer's body over a fixed set of pseudo-random inputs in
// every `bazel test`, so it compiles with the suite and its checks run under
// the sanitizer configs too. The long runs are tools/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(SegmentFuzzer, SurvivesRandomScribbles) {
  std::mt19937 rng(20261123);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> input(rng() % 256);
    for (uint8_t& byte : input) byte = static_cast<uint8_t>(rng());
    // Aim most scribbles past the header, where the checksum does not reject them.
    for (size_t i = 0; i + 3 < input.size() / 2; i += 4) input[i + 1] |= 0x10;
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
}
