#include "bench/peers/peer_main.h"

#include "absl/strings/str_cat.h"
#include "bench/engine/flags.h"
#include "bench/engine/runner.h"
#include "bench/engine/workload_config.h"

namespace shmkv {
namespace bench {

int RunSocketPeerMain(int argc, char** argv, const char* program, const char* description,
                      const char* server,
                      absl::FunctionRef<std::unique_ptr<Backend>(const std::string& socket)> make) {
  WorkloadConfig config;
  std::string socket;
  FlagSet flags(program, description);
  AddWorkloadFlags(&flags, &config);
  flags.String("socket", "PATH", absl::StrCat("the ", server, "'s unix socket (required)"),
               &socket);
  flags.ParseOrExit(argc, argv);
  std::unique_ptr<Backend> backend = make(socket);
  return RunBenchmark(backend.get(), config);
}

}  // namespace bench
}  // namespace shmkv
