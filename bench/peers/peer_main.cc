#include "bench/peers/peer_main.h"

#include "absl/strings/str_cat.h"
#include "bench/engine/driver_main.h"
#include "bench/engine/flags.h"
#include "bench/engine/runner.h"
#include "bench/engine/workload_config.h"

namespace shmkv {
namespace bench {

int RunSocketPeerMain(int argc, char** argv, const char* program, const char* description,
                      const char* server,
                      absl::FunctionRef<std::unique_ptr<Backend>(const std::string& socket)> make) {
  std::string socket;
  return DriverMain(
      argc, argv, program, description, WorkloadConfig(),
      [&](FlagSet* flags, WorkloadConfig*) {
        flags->String("socket", "PATH", absl::StrCat("the ", server, "'s unix socket (required)"),
                      &socket);
      },
      [&](const WorkloadConfig& config) {
        std::unique_ptr<Backend> backend = make(socket);
        return RunBenchmark(backend.get(), config);
      });
}

}  // namespace bench
}  // namespace shmkv
