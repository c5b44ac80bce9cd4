#include "bench/engine/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/engine/client_thread.h"
#include "bench/engine/keys_values.h"
#include "bench/engine/prefault.h"
#include "bench/engine/report.h"
#include "bench/engine/run_control.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/util/sleep.h"

namespace shmkv {
namespace bench {
namespace {

volatile sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: waits wake up
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// A failed step of a run. The message is the line the runner prints (none
// after an interrupt: the runner then says it was interrupted).
absl::Status StepFailed(const std::string& message) { return absl::AbortedError(message); }

class Runner {
 public:
  Runner(Backend* backend, const WorkloadConfig& config)
      : backend_(backend), config_(config), label_(backend->Name()) {}
  int Run();

 private:
  // The steps of Run, in order.
  absl::Status MapControl();
  absl::Status CreateAndAttach();
  absl::Status Preload(const Workload& workload, Progress* progress);
  absl::Status StartClients(const Workload& workload);
  [[noreturn]] void RunClientProcess(int p, pid_t parent, const Workload& workload);
  absl::Status AwaitReady();
  absl::Status Warmup(Progress* progress);
  absl::Status Measure(Progress* progress);
  absl::Status MeasureDuration(uint64_t t_phase, Progress* progress);
  absl::Status AwaitChildren();
  absl::Status MeasureOps(uint64_t base, Progress* progress);
  absl::Status StopClients();
  int Finish();

  int Fail(const std::string& message, int code = 1);
  void CloseGates() {
    for (int* fd : {&gates_.ready[0], &gates_.ready[1], &gates_.go[0], &gates_.go[1]}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }
  bool Interrupted() const { return g_signal != 0; }
  void StopAll();
  uint64_t ProgressSum() const;
  // Ops/s over the last half second or more, for the progress line; returns
  // the time now.
  uint64_t UpdateRate();
  bool ChildrenAlive(std::string* why);
  // What thread t (of all, process-major) gets: its seed and its share of --ops.
  uint64_t SeedOf(int t) const { return config_.seed * 1000003ULL + static_cast<uint64_t>(t); }
  uint64_t QuotaOf(int t) const;

  Backend* backend_;
  WorkloadConfig config_;
  std::string label_;
  Control* ctl_ = nullptr;
  ThreadSlot* slots_ = nullptr;
  size_t map_bytes_ = 0;
  int total_threads_ = 0;
  std::vector<pid_t> children_;
  std::vector<bool> reaped_;
  std::vector<std::thread> threads_;
  Gates gates_;
  bool created_ = false;
  bool attached_ = false;
  uint64_t rate_sum_ = 0, rate_t_ = 0;
  double rate_ = 0;
};

uint64_t Runner::ProgressSum() const {
  uint64_t sum = 0;
  for (int i = 0; i < total_threads_; ++i)
    sum += slots_[i].progress.load(std::memory_order_relaxed);
  return sum;
}

bool Runner::ChildrenAlive(std::string* why) {
  for (size_t i = 0; i < children_.size(); ++i) {
    if (reaped_[i]) continue;
    int status;
    if (waitpid(children_[i], &status, WNOHANG) == children_[i]) {
      reaped_[i] = true;
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!clean || ctl_->phase.load() < kMeasure) {
        *why =
            WIFSIGNALED(status)
                ? absl::StrCat("client process ", i, " killed by signal ", WTERMSIG(status))
                : absl::StrCat("client process ", i, " exited with status ", WEXITSTATUS(status));
        return false;
      }
    }
  }
  return true;
}

// Tells every client to stop and waits for them (processes that do not stop
// within 10 s are killed).
void Runner::StopAll() {
  if (ctl_ != nullptr) ctl_->phase.store(kStop);
  if (gates_.go[1] >= 0) {
    WriteBytes(gates_.go[1], static_cast<size_t>(total_threads_));  // release threads still waiting
    close(gates_.go[1]);
    gates_.go[1] = -1;
  }
  const int64_t deadline = platform::MonotonicNanos() + 10000000000;
  for (size_t i = 0; i < children_.size(); ++i) {
    while (!reaped_[i]) {
      int status;
      pid_t r = waitpid(children_[i], &status, WNOHANG);
      if (r == children_[i] || (r < 0 && errno == ECHILD)) {
        reaped_[i] = true;
      } else if (platform::MonotonicNanos() > deadline) {
        kill(children_[i], SIGKILL);
        waitpid(children_[i], &status, 0);
        reaped_[i] = true;
      } else {
        util::SleepAtMost(absl::Milliseconds(5));
      }
    }
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

int Runner::Fail(const std::string& message, int code) {
  StopAll();
  if (attached_) backend_->Detach();
  attached_ = false;
  if (created_) backend_->Destroy();
  created_ = false;
  if (ctl_ != nullptr) munmap(ctl_, map_bytes_);
  ctl_ = nullptr;
  CloseGates();
  if (g_signal != 0) {
    std::fprintf(stderr, "%s: interrupted; cleaned up\n", label_.c_str());
    return 128 + g_signal;
  }
  std::fprintf(stderr, "%s: %s\n", label_.c_str(), message.c_str());
  return code;
}

int Runner::Run() {
  if (absl::Status s = Validate(config_); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), std::string(s.message()).c_str());
    return 2;
  }
  InstallSignalHandlers();
  const Workload workload(config_);
  Progress progress(label_, config_.quiet);
  absl::Status s = MapControl();
  if (s.ok()) s = CreateAndAttach();
  if (s.ok() && config_.preload) s = Preload(workload, &progress);
  if (s.ok()) s = StartClients(workload);
  if (s.ok()) s = AwaitReady();
  if (s.ok()) s = Warmup(&progress);
  if (s.ok()) {
    backend_->MeasureStarted();
    s = Measure(&progress);
    backend_->MeasureEnded();
  }
  if (s.ok()) {
    progress.Clear();
    s = StopClients();
  }
  if (!s.ok()) return Fail(std::string(s.message()));
  return Finish();
}

// The shared mapping (Control and the thread slots) and the gates' pipes.
absl::Status Runner::MapControl() {
  total_threads_ = config_.procs * config_.threads;
  map_bytes_ = sizeof(Control) + sizeof(ThreadSlot) * static_cast<size_t>(total_threads_);
  void* mem = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return StepFailed(absl::StrCat("mmap: ", std::strerror(errno)));
  ctl_ = new (mem) Control();
  if (pipe2(gates_.ready, O_CLOEXEC) != 0 || pipe2(gates_.go, O_CLOEXEC) != 0) {
    return StepFailed(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  fcntl(gates_.go[1], F_SETFL, O_NONBLOCK);
  slots_ = reinterpret_cast<ThreadSlot*>(static_cast<char*>(mem) + sizeof(Control));
  for (int i = 0; i < total_threads_; ++i) new (&slots_[i]) ThreadSlot();
  return absl::OkStatus();
}

absl::Status Runner::CreateAndAttach() {
  if (absl::Status s = backend_->Create(config_); !s.ok()) return StepFailed(s.ToString());
  created_ = true;
  if (Interrupted()) return StepFailed("");
  if (absl::Status s = backend_->Attach(); !s.ok()) return StepFailed(s.ToString());
  attached_ = true;
  return absl::OkStatus();
}

absl::Status Runner::Preload(const Workload& workload, Progress* progress) {
  const uint64_t t0 = platform::MonotonicNanos();
  absl::Status s = backend_->Preload(workload, [&](uint64_t done, uint64_t total) {
    const double secs = static_cast<double>(platform::MonotonicNanos() - t0) / 1e9;
    progress->Show("preload", total ? static_cast<double>(done) / static_cast<double>(total) : 1.0,
                   secs > 0 ? static_cast<double>(done) / secs : 0);
    return !Interrupted();
  });
  progress->Clear();
  if (!s.ok()) return StepFailed(absl::StrCat("preload failed: ", s.ToString()));
  if (!config_.quiet) {
    std::fprintf(stderr, "%s: preloaded %s keys in %.1f s\n", label_.c_str(),
                 HumanCount(static_cast<double>(config_.keys)).c_str(),
                 static_cast<double>(platform::MonotonicNanos() - t0) / 1e9);
  }
  return absl::OkStatus();
}

uint64_t Runner::QuotaOf(int t) const {
  if (config_.ops == 0) return UINT64_MAX;
  const uint64_t n = static_cast<uint64_t>(total_threads_);
  return config_.ops / n + (static_cast<uint64_t>(t) < config_.ops % n ? 1 : 0);
}

// Forks the client processes (the parent detaches first), or starts the
// client threads in this process.
absl::Status Runner::StartClients(const Workload& workload) {
  if (!config_.fork_processes) {
    for (int t = 0; t < total_threads_; ++t) {
      threads_.emplace_back(RunClientThread, backend_, std::cref(workload), ctl_, &gates_,
                            &slots_[t], SeedOf(t), QuotaOf(t));
    }
    return absl::OkStatus();
  }
  backend_->Detach();
  attached_ = false;
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t parent = getpid();
  for (int p = 0; p < config_.procs; ++p) {
    const pid_t pid = fork();
    if (pid < 0) return StepFailed(absl::StrCat("fork: ", std::strerror(errno)));
    if (pid == 0) RunClientProcess(p, parent, workload);
    children_.push_back(pid);
    reaped_.push_back(false);
  }
  return absl::OkStatus();
}

// Client process p: attaches, prefaults, runs its threads, exits.
void Runner::RunClientProcess(int p, pid_t parent, const Workload& workload) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
  if (absl::Status s = backend_->Attach(); !s.ok()) {
    RecordFailure(ctl_, absl::StrCat("process ", p, ": attach: ", s.ToString()));
    _exit(1);
  }
  if (config_.prefault) PrefaultSharedMappings();
  std::vector<std::thread> threads;
  for (int t = 0; t < config_.threads; ++t) {
    const int index = p * config_.threads + t;
    threads.emplace_back(RunClientThread, backend_, std::cref(workload), ctl_, &gates_,
                         &slots_[index], SeedOf(index), QuotaOf(index));
  }
  for (std::thread& t : threads) t.join();
  backend_->Detach();
  _exit(0);
}

// Every client connected? One byte per thread arrives on the ready pipe.
absl::Status Runner::AwaitReady() {
  std::string why;
  const int64_t ready_deadline = platform::MonotonicNanos() + 120000000000;
  for (int arrived = 0; arrived < total_threads_;) {
    pollfd pfd{gates_.ready[0], POLLIN, 0};
    if (poll(&pfd, 1, 1000) > 0) {
      char buf[256];
      const ssize_t n = read(gates_.ready[0], buf, sizeof(buf));
      if (n > 0) arrived += static_cast<int>(n);
    }
    if (ctl_->failed.load() > 0) return StepFailed(ctl_->fail_message);
    if (arrived < total_threads_ && !ChildrenAlive(&why)) {
      return StepFailed(ctl_->failed.load() > 0 ? ctl_->fail_message : why);
    }
    if (Interrupted()) return StepFailed("");
    if (platform::MonotonicNanos() > ready_deadline)
      return StepFailed("clients did not start within 120 s");
  }
  return absl::OkStatus();
}

uint64_t Runner::UpdateRate() {
  const uint64_t now = platform::MonotonicNanos();
  if (now - rate_t_ >= 500000000ULL) {
    const uint64_t sum = ProgressSum();
    rate_ = static_cast<double>(sum - rate_sum_) * 1e9 / static_cast<double>(now - rate_t_);
    rate_sum_ = sum;
    rate_t_ = now;
  }
  return now;
}

// Opens the gates and lets the clients run, unmeasured, for --warmup.
absl::Status Runner::Warmup(Progress* progress) {
  ctl_->phase.store(kWarmup, std::memory_order_release);
  WriteBytes(gates_.go[1], static_cast<size_t>(total_threads_));
  const uint64_t warmup_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(config_.warmup));
  const uint64_t t_phase = platform::MonotonicNanos();
  rate_t_ = t_phase;
  std::string why;
  while (warmup_ns > 0) {
    const uint64_t now = UpdateRate();
    if (now - t_phase >= warmup_ns) break;
    progress->Show("warmup", static_cast<double>(now - t_phase) / static_cast<double>(warmup_ns),
                   rate_);
    if (Interrupted()) return StepFailed("");
    if (ctl_->failed.load() > 0) return StepFailed(ctl_->fail_message);
    if (!ChildrenAlive(&why)) return StepFailed(why);
    util::SleepAtMost(
        std::min(absl::Milliseconds(100),
                 absl::Nanoseconds(warmup_ns - (now - t_phase)) + absl::Milliseconds(1)));
  }
  return absl::OkStatus();
}

// The measured phase: for --duration, or until the clients did --ops.
absl::Status Runner::Measure(Progress* progress) {
  const uint64_t base = ProgressSum();
  ctl_->phase.store(kMeasure, std::memory_order_release);
  const uint64_t t_phase = platform::MonotonicNanos();
  if (config_.ops == 0) return MeasureDuration(t_phase, progress);
  // No polling at all, so that a syscall count of the run does not depend
  // on its length: block until each child exits.
  if (config_.quiet && config_.fork_processes) return AwaitChildren();
  return MeasureOps(base, progress);
}

absl::Status Runner::MeasureDuration(uint64_t t_phase, Progress* progress) {
  const uint64_t duration_ns = static_cast<uint64_t>(absl::ToInt64Nanoseconds(config_.duration));
  std::string why;
  for (;;) {
    const uint64_t now = UpdateRate();
    if (now - t_phase >= duration_ns) break;
    progress->Show("measure", static_cast<double>(now - t_phase) / static_cast<double>(duration_ns),
                   rate_);
    if (Interrupted()) return StepFailed("");
    if (!ChildrenAlive(&why)) return StepFailed(why);
    util::SleepAtMost(
        std::min(absl::Milliseconds(100),
                 absl::Nanoseconds(duration_ns - (now - t_phase)) + absl::Milliseconds(1)));
  }
  ctl_->phase.store(kStop, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Runner::AwaitChildren() {
  for (size_t i = 0; i < children_.size(); ++i) {
    int status;
    while (!reaped_[i]) {
      if (waitpid(children_[i], &status, 0) == children_[i]) {
        reaped_[i] = true;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          return StepFailed("a client process failed");
        }
      } else if (Interrupted()) {
        return StepFailed("");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Runner::MeasureOps(uint64_t base, Progress* progress) {
  std::string why;
  while (ctl_->finished.load(std::memory_order_acquire) < total_threads_) {
    UpdateRate();
    const double done =
        static_cast<double>(ProgressSum() - base) / static_cast<double>(config_.ops);
    progress->Show("measure", done, rate_);
    if (Interrupted()) return StepFailed("");
    if (!ChildrenAlive(&why)) return StepFailed(why);
    util::SleepAtMost(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

// After the measured phase: stops and waits for every client.
absl::Status Runner::StopClients() {
  StopAll();
  if (attached_) backend_->Detach();
  attached_ = false;
  if (ctl_->failed.load() > 0) return StepFailed(ctl_->fail_message);
  return absl::OkStatus();
}

// Reports, removes the system's instance and the shared mapping; returns the
// exit code.
int Runner::Finish() {
  const RunTotals totals = SumSlots(slots_, config_);
  std::vector<std::pair<std::string, std::string>> extra;
  backend_->Describe(&extra);
  PrintReport(label_, config_, totals, extra);
  backend_->Destroy();
  created_ = false;
  munmap(ctl_, map_bytes_);
  ctl_ = nullptr;
  CloseGates();
  if (Interrupted()) return 128 + g_signal;
  return totals.errors > 0 || totals.ops == 0 ? 1 : 0;
}

}  // namespace

bool StopRequested() { return g_signal != 0; }

int RunBenchmark(Backend* backend, const WorkloadConfig& config) {
  Runner runner(backend, config);
  return runner.Run();
}

}  // namespace bench
}  // namespace shmkv
