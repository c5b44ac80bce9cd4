// kvcli: inspect and manage shmkv stores. `kvcli help` explains the commands;
// the implementation is the RunKvcli library (kvcli.h).
#include <string>
#include <vector>

#include "tools/kvcli/kvcli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return shmkv::kvcli::RunKvcli(std::move(args), stdin, stdout, stderr);
}
