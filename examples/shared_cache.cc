// Several worker processes share expensive results through one shmkv store.
//
// Each worker answers a stream of requests "how many primes are below N?"
// for N drawn from a small set of popular values. Answers are computed once
// (GetOrCompute: concurrent misses on one key compute it once, across
// processes) and every other request, from any worker, is a cache hit.
//
//   shared_cache [--workers=4] [--requests=20000] [--key=0x5f3e0042] [--keep]
//
// Without --keep the store is destroyed at the end.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shmkv/store.h"

namespace {

int CountPrimesBelow(int n) {
  std::vector<bool> composite(n + 1, false);
  int count = 0;
  for (int i = 2; i < n; ++i) {
    if (composite[i]) continue;
    ++count;
    for (long j = static_cast<long>(i) * i; j <= n; j += i) composite[j] = true;
  }
  return count;
}

bool Flag(const char* arg, const char* name, std::string* value) {
  size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  *value = arg + len + 1;
  return true;
}

int Worker(const shmkv::StoreName& name, int id, int requests) {
  absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
      shmkv::Store::Open(name, shmkv::Options(), shmkv::OpenMode::kAttach);
  if (!store.ok()) {
    std::fprintf(stderr, "worker %d: %s\n", id, std::string(store.status().message()).c_str());
    return 1;
  }
  unsigned seed = 12345u + id;
  int computed = 0;
  for (int i = 0; i < requests; ++i) {
    int n = 200000 + 50000 * (rand_r(&seed) % 16);  // 16 popular questions
    std::string key = absl::StrCat("primes-below:", n);
    absl::StatusOr<std::string> answer =
        (*store)->GetOrCompute(key, [&]() -> absl::StatusOr<std::string> {
          ++computed;
          return absl::StrCat(CountPrimesBelow(n));
        });
    if (!answer.ok()) {
      std::fprintf(stderr, "worker %d: %s\n", id, answer.status().ToString().c_str());
      return 1;
    }
    (void)(*store)->Increment("stats:requests", 1);
  }
  (void)(*store)->Increment("stats:computed", computed);
  std::printf("worker %d (pid %d): %d requests, computed %d answers itself\n", id, getpid(),
              requests, computed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 4, requests = 20000;
  std::string key_text = "0x5f3e0042", value;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (Flag(argv[i], "--workers", &value) && absl::SimpleAtoi(value, &workers) && workers > 0)
      continue;
    if (Flag(argv[i], "--requests", &value) && absl::SimpleAtoi(value, &requests) && requests > 0)
      continue;
    if (Flag(argv[i], "--key", &key_text)) continue;
    if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
      continue;
    }
    std::fprintf(stderr, "usage: %s [--workers=N] [--requests=N] [--key=0x...] [--keep]\n",
                 argv[0]);
    return 2;
  }
  absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::ParseKey(key_text);
  if (!name.ok()) {
    std::fprintf(stderr, "%s\n", std::string(name.status().message()).c_str());
    return 2;
  }
  shmkv::Options options;
  options.capacity_bytes = 8 << 20;
  options.max_value_size = 64 << 10;
  absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
      shmkv::Store::Open(*name, options, shmkv::OpenMode::kOpenOrCreate);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  absl::Time start = absl::Now();
  std::vector<pid_t> children;
  for (int i = 0; i < workers; ++i) {
    pid_t pid = fork();
    if (pid == 0) _exit(Worker(*name, i, requests));
    children.push_back(pid);
  }
  // Wait for the workers, drawing progress from the shared request counter.
  int failed = 0;
  size_t running = children.size();
  const long long goal = static_cast<long long>(workers) * requests;
  const bool tty = isatty(STDERR_FILENO);
  std::string done_text;
  int last_filled = 0;
  while (running > 0) {
    for (pid_t& pid : children) {
      int status = 0;
      if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
        pid = 0;
        --running;
      }
    }
    long long done = 0;
    if ((*store)->Get("stats:requests", &done_text).ok()) (void)absl::SimpleAtoi(done_text, &done);
    const int width = 40;
    const int filled = static_cast<int>(width * std::min(done, goal) / goal);
    if (tty || filled >= last_filled + width / 4 || (running == 0 && filled != last_filled)) {
      std::fprintf(stderr, "%s  [%s%s] %lld/%lld requests%s", tty ? "\r" : "",
                   std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(), done,
                   goal, tty ? "" : "\n");
      last_filled = filled;
    }
    if (running > 0) absl::SleepFor(absl::Milliseconds(100));
  }
  if (tty) std::fprintf(stderr, "\n");
  std::string total, computed;
  (void)(*store)->Get("stats:requests", &total);
  (void)(*store)->Get("stats:computed", &computed);
  std::printf(
      "%d workers answered %s requests in %s; %s answers were computed, the rest came from the "
      "cache\n",
      workers, total.c_str(), absl::FormatDuration(absl::Now() - start).c_str(), computed.c_str());
  store->reset();
  if (!keep) (void)shmkv::Store::Destroy(*name);
  return failed == 0 ? 0 : 1;
}
