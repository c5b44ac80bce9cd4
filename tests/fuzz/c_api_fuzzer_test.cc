// Runs the C API fuzzer's body in every `bazel test` (plain and under the
// sanitizer configs) over the inputs that once crashed the C API and a fixed
// set of pseudo-random ones. The long runs are tools/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(CApiFuzzer, SurvivesRandomArguments) {
  std::mt19937 rng(20261206);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> input(rng() % 200);
    for (uint8_t& byte : input) byte = static_cast<uint8_t>(rng());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
}

// Each: handle 0 (open), key choice, value choice, then the operation.
TEST(CApiFuzzer, ImpossibleSizesAndClosedHandles) {
  const std::vector<std::vector<uint8_t>> inputs = {
      {0, 2, 0, 5, 0, 0, 0, 0},           // put with key size SIZE_MAX
      {0, 5, 0, 2, 0, 0, 0, 0},           // put with value size SIZE_MAX
      {0, 5, 3, 2, 1, 8, 0, 0, 0, 2, 1},  // put_many, an item's value size SIZE_MAX
      // close; put and get through a copy made before; close again
      {0, 0, 0, 15, 1, 0, 0, 0, 0, 0, 1, 5, 0, 0, 1, 1, 1, 1, 0, 0, 0, 15},
  };

  for (const std::vector<uint8_t>& input : inputs) {
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
}
