// Runs the glob fuzzer's body (Glob against fnmatch in the C locale) in every
// `bazel test` over pseudo-random patterns and keys drawn from the bytes that
// matter to globs. The long runs are tools/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

TEST(GlobFuzzer, AgreesWithFnmatchOnRandomPatterns) {
  const uint8_t alphabet[] = {'a', 'b', '*', '?', '\\', '/', '.', 0xc3, 0xa9, '[', ']', '!', '-'};
  std::mt19937 rng(20261206);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> input(1 + rng() % 24);
    input[0] = static_cast<uint8_t>(rng());
    for (size_t i = 1; i < input.size(); ++i) input[i] = alphabet[rng() % sizeof(alphabet)];
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
}
