// A C++ program using a store as a cross-process cache: the first process to
// ask for a report computes it, every other one reads it from the store.
//
//   c++ -std=c++17 report_cache.cc $(pkg-config --cflags --libs shmkv) -o report_cache
//   ./report_cache 0x5f3e0001
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "shmkv/store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s KEY   (a System V key, e.g. 0x5f3e0001)\n", argv[0]);
    return 2;
  }
  absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::ParseKey(argv[1]);
  if (!name.ok()) {
    std::fprintf(stderr, "report_cache: %s\n", name.status().ToString().c_str());
    return 2;
  }
  shmkv::Options options;
  options.capacity_bytes = 16 << 20;
  absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
      shmkv::Store::Open(*name, options, shmkv::OpenMode::kOpenOrCreate);
  if (!store.ok()) {
    std::fprintf(stderr, "report_cache: %s\n", store.status().ToString().c_str());
    return 1;
  }
  bool computed = false;
  absl::StatusOr<std::string> report =
      (*store)->GetOrCompute("report:today", [&]() -> absl::StatusOr<std::string> {
        computed = true;
        return absl::StrCat("report built by pid ", getpid());
      });
  if (!report.ok()) {
    std::fprintf(stderr, "report_cache: %s\n", report.status().ToString().c_str());
    return 1;
  }
  std::printf("%s (%s)\n", report->c_str(), computed ? "computed here" : "from the store");
  return 0;
}
