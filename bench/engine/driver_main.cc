#include "bench/engine/driver_main.h"

namespace shmkv {
namespace bench {

int DriverMain(int argc, char** argv, const char* program, const char* description,
               WorkloadConfig config,
               absl::FunctionRef<void(FlagSet* flags, WorkloadConfig* config)> add_flags,
               absl::FunctionRef<int(const WorkloadConfig& config)> run) {
  FlagSet flags(program, description);
  AddWorkloadFlags(&flags, &config);
  add_flags(&flags, &config);
  flags.ParseOrExit(argc, argv);
  return run(config);
}

}  // namespace bench
}  // namespace shmkv
