// kvcli, the shmkv inspection and administration tool, as a library: main()
// (main.cc), the black-box tests and the argument fuzzer all call
// RunKvcli.
//
// RunKvcli never throws, never calls exit() and never writes to the process's
// standard streams directly: everything goes through `in`, `out` and `err`.
// It returns the process exit status:
//   0  success
//   1  key not found, or a condition was not met (--if-absent, --if-present,
//      --cas, incr of a value that is not a number)
//   2  usage error (unknown command or flag, bad flag value, missing argument)
//   3  store or file error (no such store, permission denied, not a shmkv
//      segment, incompatible version, corrupt, full, lock timeout, I/O)
// Every failure writes exactly one line starting "kvcli: " to `err`; usage
// errors add the command's usage line after it.
#ifndef SHMKV_TOOLS_KVCLI_KVCLI_H_
#define SHMKV_TOOLS_KVCLI_KVCLI_H_

#include <cstdio>
#include <string>
#include <vector>

namespace shmkv {
namespace kvcli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStore = 3;

struct RunOptions {
  // Parse and validate everything, then return before touching any store,
  // file or stdin (0 if the command line is valid). Help still prints. For
  // fuzzing and tests of the argument parser.
  bool dry_run = false;
};

// `args` excludes the program name: {"get", "--key=0x5f3e0001", "user:1"}.
int RunKvcli(std::vector<std::string> args, std::FILE* in, std::FILE* out, std::FILE* err);
int RunKvcli(std::vector<std::string> args, std::FILE* in, std::FILE* out, std::FILE* err,
             const RunOptions& options);

}  // namespace kvcli
}  // namespace shmkv

#endif  // SHMKV_TOOLS_KVCLI_KVCLI_H_
