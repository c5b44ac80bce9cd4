// RunKvcli as a dry run (RunOptions::dry_run) with stdin empty and stdout and
// stderr captured: how kvcli_args_test and kvcli_fuzzer drive the command
// line. Header-only, for those two targets; not part of kvcli_lib.
#ifndef SHMKV_TOOLS_KVCLI_DRY_RUN_H_
#define SHMKV_TOOLS_KVCLI_DRY_RUN_H_

#include <stdio.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tools/kvcli/kvcli.h"

namespace shmkv {
namespace kvcli {

struct DryRunResult {
  int status = 0;
  std::string out, err;
};

inline DryRunResult DryRunKvcli(const std::vector<std::string>& args) {
  char* out_buffer = nullptr;
  size_t out_size = 0;
  char* err_buffer = nullptr;
  size_t err_size = 0;
  FILE* out = open_memstream(&out_buffer, &out_size);
  FILE* err = open_memstream(&err_buffer, &err_size);
  FILE* in = fopen("/dev/null", "r");
  if (out == nullptr || err == nullptr || in == nullptr) std::abort();
  RunOptions options;
  options.dry_run = true;
  DryRunResult result;
  result.status = RunKvcli(args, in, out, err, options);
  fclose(in);
  fclose(out);
  fclose(err);
  result.out.assign(out_buffer, out_size);
  result.err.assign(err_buffer, err_size);
  std::free(out_buffer);
  std::free(err_buffer);
  return result;
}

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_DRY_RUN_H_
