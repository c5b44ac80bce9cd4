// line_transfer_probe: what it costs to move one cache line between two
// cores, the input of doc/performance.md's model that a per-process
// benchmark cannot show (this VM exposes no hardware counters to perf).
//
//   line_transfer_probe [--cpus=0,1] [--trials=15] [--ops=2000000]
//
// Two processes (a fork), pinned to the two CPUs, share one anonymous
// mapping and run, one after the other, each test `--trials` times:
//
//   pingpong      one counter; each process bumps it only when the other
//                 did last, so every bump moves the line to the other core:
//                 ns per bump = one handoff of a line that was just written
//                 (ops / 20 bumps per process: a descheduled partner stalls it).
//   add_shared    both processes `lock xadd` one counter as fast as they can:
//                 ns per add, each process, when the line is written by both.
//   add_private   the same, each on a counter of its own line: an atomic add
//                 that moves nothing.
//   stripe_shared both lock one process-shared robust mutex, write two more
//                 lines of the same struct (as a Get writes its stripe's
//                 holder_pid, hits and acquisitions) and unlock: ns per hold,
//                 each process, when both use one stripe.
//   stripe_private the same on a stripe each.
//
// It prints the median and the minimum over the trials of each (a shared,
// noisy machine: the minimum is the hardware's figure, the median what a
// run meets). The figures mean something only when both processes run at
// once: on a busy machine they take turns on the CPUs, a handoff then
// takes a scheduler's time slice, and the probe says so. Running it as
// root under `chrt -f 10` for its half second keeps both on their CPUs.
// add_shared and stripe_shared are the most one line and one stripe do
// with two cores hammering them (a core often keeps the line for several
// operations), not a per-operation cost. Nothing outlives the probe: the
// mapping is anonymous.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <vector>

namespace {

struct alignas(64) Line {
  uint64_t word;
};

// One stripe as the store lays it out: the mutex's line, then two more.
struct alignas(64) FakeStripe {
  pthread_mutex_t mutex;
  alignas(64) uint64_t second_line;
  alignas(64) uint64_t third_line;
};

struct Shared {
  Line ready[2];
  Line counter;
  Line own[2];
  FakeStripe stripe[2];
  Line ns[2];  // each process's elapsed time of its last trial
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    std::fprintf(stderr, "cannot pin to CPU %d: %s\n", cpu, std::strerror(errno));
    std::exit(2);
  }
}

// True when --cpus names two different CPUs this process may run on;
// otherwise says which it may use.
bool UsableCpus(const int cpus[2]) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return true;  // pinning will say
  bool ok = cpus[0] != cpus[1];
  for (int i = 0; i < 2; ++i) {
    ok = ok && cpus[i] >= 0 && cpus[i] < CPU_SETSIZE && CPU_ISSET(cpus[i], &allowed);
  }
  if (ok) return true;
  std::fprintf(stderr,
               "--cpus=%d,%d must name two different CPUs this process may run on:", cpus[0],
               cpus[1]);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) std::fprintf(stderr, " %d", cpu);
  }
  std::fprintf(stderr, "%s\n", CPU_COUNT(&allowed) < 2 ? " (the probe needs two)" : "");
  return false;
}

uint64_t Load(const uint64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void Store(uint64_t* p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

// The parent's child, checked now and then while the parent spins waiting
// for it, so a child that died ends the probe instead of hanging it (the
// child dies with the parent: PR_SET_PDEATHSIG).
pid_t g_child = 0;
void CheckPartner(uint64_t spins) {
  if (g_child <= 0 || spins % (uint64_t{1} << 22) != 0) return;
  if (waitpid(g_child, nullptr, WNOHANG) == g_child) {
    std::fprintf(stderr, "the probe's second process died; nothing measured\n");
    std::exit(1);
  }
}

// Both processes wait here until both arrived for trial `round`.
void Meet(Shared* s, int me, uint64_t round) {
  Store(&s->ready[me].word, round);
  for (uint64_t spins = 1; Load(&s->ready[1 - me].word) < round; ++spins) CheckPartner(spins);
}

uint64_t PingPongOps(uint64_t ops) { return std::max<uint64_t>(1, ops / 20); }

void RunTest(Shared* s, int me, int test, uint64_t ops) {
  switch (test) {
    case 0:  // pingpong: process 0 bumps even values, process 1 odd ones
      for (uint64_t i = 0; i < PingPongOps(ops); ++i) {
        const uint64_t want = 2 * i + static_cast<uint64_t>(me);
        for (uint64_t spins = 1; Load(&s->counter.word) != want; ++spins) CheckPartner(spins);
        Store(&s->counter.word, want + 1);
      }
      break;
    case 1:
    case 2: {
      uint64_t* word = test == 1 ? &s->counter.word : &s->own[me].word;
      for (uint64_t i = 0; i < ops; ++i) __atomic_fetch_add(word, 1, __ATOMIC_SEQ_CST);
      break;
    }
    default: {
      FakeStripe* stripe = &s->stripe[test == 3 ? 0 : me];
      for (uint64_t i = 0; i < ops; ++i) {
        pthread_mutex_lock(&stripe->mutex);
        __atomic_store_n(&stripe->second_line, stripe->second_line + 1, __ATOMIC_RELAXED);
        __atomic_store_n(&stripe->third_line, stripe->third_line + 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&stripe->mutex);
      }
    }
  }
}

void InitMutex(pthread_mutex_t* m) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &attr);
  pthread_mutexattr_destroy(&attr);
}

}  // namespace

int main(int argc, char** argv) {
  int cpus[2] = {0, 1};
  int trials = 15;
  uint64_t ops = 2000000;
  for (int i = 1; i < argc; ++i) {
    if (std::sscanf(argv[i], "--cpus=%d,%d", &cpus[0], &cpus[1]) == 2) continue;
    if (std::sscanf(argv[i], "--trials=%d", &trials) == 1 && trials > 0) continue;
    if (std::sscanf(argv[i], "--ops=%lu", &ops) == 1 && ops > 0) continue;
    std::fprintf(stderr, "usage: %s [--cpus=A,B] [--trials=N] [--ops=N]\n", argv[0]);
    return 2;
  }
  if (!UsableCpus(cpus)) return 2;
  void* map =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  Shared* s = new (map) Shared{};
  for (FakeStripe& stripe : s->stripe) InitMutex(&stripe.mutex);
  const char* names[] = {"pingpong", "add_shared", "add_private", "stripe_shared",
                         "stripe_private"};
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  const int me = child == 0 ? 1 : 0;
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
  } else {
    g_child = child;
  }
  Pin(cpus[me]);
  uint64_t round = 0;
  double pingpong_median = 0;
  for (int test = 0; test < 5; ++test) {
    std::vector<double> per_op;
    for (int t = 0; t < trials; ++t) {
      Store(&s->counter.word, 0);
      Meet(s, me, ++round);
      const uint64_t start = NowNs();
      RunTest(s, me, test, ops);
      Store(&s->ns[me].word, NowNs() - start);
      Meet(s, me, ++round);
      // pingpong: 2 * PingPongOps bumps in all, one handoff each; the
      // others: ops per process.
      const double slower = std::max(Load(&s->ns[0].word), Load(&s->ns[1].word));
      per_op.push_back(slower / (test == 0 ? 2.0 * PingPongOps(ops) : ops));
    }
    if (me == 1) continue;
    std::sort(per_op.begin(), per_op.end());
    if (test == 0) pingpong_median = per_op[per_op.size() / 2];
    std::printf("%-15s median %7.1f ns  min %7.1f ns  (CPUs %d,%d; %d trials of %lu)\n",
                names[test], per_op[per_op.size() / 2], per_op[0], cpus[0], cpus[1], trials, ops);
  }
  if (me == 1) _exit(0);
  if (pingpong_median > 5000) {
    std::printf(
        "a handoff took %.0f ns: the two processes did not run at the same time (a busy "
        "machine?); as root, `chrt -f 10` keeps both on their CPUs for the probe's run\n",
        pingpong_median);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
