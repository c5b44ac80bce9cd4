// Leaves a greeting in the store at KEY (creating the store if needed) and
// prints how many greetings there have been:
//   bazel run //:greeter -- 0x5f3e0001 hello
//   kvcli get --key=0x5f3e0001 greeting
#include <cstdio>
#include <memory>

#include "shmkv/store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: greeter KEY GREETING\n");
    return 2;
  }
  absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::ParseKey(argv[1]);
  if (!name.ok()) {
    std::fprintf(stderr, "greeter: %s\n", name.status().ToString().c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
      shmkv::Store::Open(*name, shmkv::Options(), shmkv::OpenMode::kOpenOrCreate);
  if (!store.ok()) {
    std::fprintf(stderr, "greeter: %s\n", store.status().ToString().c_str());
    return 1;
  }
  absl::Status put = (*store)->Put("greeting", argv[2]);
  absl::StatusOr<int64_t> count = (*store)->Increment("greetings", 1);
  if (!put.ok() || !count.ok()) {
    std::fprintf(stderr, "greeter: %s\n", (put.ok() ? count.status() : put).ToString().c_str());
    return 1;
  }
  std::printf("greetings so far: %lld\n", static_cast<long long>(*count));
  return 0;
}
