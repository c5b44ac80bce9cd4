// libFuzzer target for kvcli's command line: the input, split at NUL bytes,
// is the argument list of a dry run (RunOptions::dry_run: everything is
// parsed and validated, no store, file or stdin is touched). Aborts when the
// result breaks kvcli's contract:
//   - the exit status is 0, 2 or 3 (1 needs a store);
//   - success writes nothing to stderr;
//   - a failure writes one line starting "kvcli: " (exit 2 adds exactly one
//     "usage: " line).
#include <stdio.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/kvcli/dry_run.h"

namespace {

[[noreturn]] void Die(const char* what, const std::vector<std::string>& args, int status,
                      const std::string& err) {
  std::fprintf(stderr, "kvcli_fuzzer: %s (exit %d)\nargs:", what, status);
  for (const std::string& arg : args) std::fprintf(stderr, " [%s]", arg.c_str());
  std::fprintf(stderr, "\nstderr: %s\n", err.c_str());
  std::abort();
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  if (size > 0) {
    args.emplace_back();
    for (size_t i = 0; i < size && args.size() <= 64; ++i) {
      if (data[i] == 0) {
        args.emplace_back();
      } else {
        args.back() += static_cast<char>(data[i]);
      }
    }
  }

  const shmkv::kvcli::DryRunResult result = shmkv::kvcli::DryRunKvcli(args);
  const int status = result.status;
  const std::string& err_text = result.err;

  if (status != 0 && status != 2 && status != 3)
    Die("unexpected exit status", args, status, err_text);
  if (status == 0) {
    if (!err_text.empty()) Die("success wrote to stderr", args, status, err_text);
    return 0;
  }
  if (!StartsWith(err_text, "kvcli: "))
    Die("error does not start with \"kvcli: \"", args, status, err_text);
  if (err_text.back() != '\n') Die("error does not end with a newline", args, status, err_text);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < err_text.size(); ++i) {
    if (err_text[i] == '\n') {
      lines.push_back(err_text.substr(start, i - start));
      start = i + 1;
    }
  }
  if (status == 2) {
    if (lines.size() != 2 || !StartsWith(lines[1], "usage: ")) {
      Die("a usage error must be one error line plus one usage line", args, status, err_text);
    }
  } else if (lines.size() != 1) {
    Die("a store error must be one line", args, status, err_text);
  }
  return 0;
}
