// main() of a peer driver whose server listens on a unix socket: the
// workload flags plus --socket=PATH, then RunBenchmark.
#ifndef SHMKV_BENCH_PEERS_PEER_MAIN_H_
#define SHMKV_BENCH_PEERS_PEER_MAIN_H_

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "bench/engine/backend.h"

namespace shmkv {
namespace bench {

// `program` and `description` are the usage text's; `server` names the
// server in --socket's help. Returns the process exit code.
int RunSocketPeerMain(int argc, char** argv, const char* program, const char* description,
                      const char* server,
                      absl::FunctionRef<std::unique_ptr<Backend>(const std::string& socket)> make);

// The same, for a backend `B` constructed from the socket's path.
template <typename B>
int RunSocketPeerMain(int argc, char** argv, const char* program, const char* description,
                      const char* server) {
  return RunSocketPeerMain(argc, argv, program, description, server,
                           [](const std::string& socket) -> std::unique_ptr<Backend> {
                             return std::make_unique<B>(socket);
                           });
}

}  // namespace bench
}  // namespace shmkv

#endif  // SHMKV_BENCH_PEERS_PEER_MAIN_H_
