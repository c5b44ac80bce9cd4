// A wall-clock step for another process, for tests: loaded with LD_PRELOAD,
// this library defines clock_gettime, gettimeofday and time, and shifts what
// CLOCK_REALTIME (and CLOCK_REALTIME_COARSE) reads by the whole seconds
// written in the file that SHMKV_TEST_WALL_CLOCK_SHIFT_FILE names ("-3600"
// steps the clock an hour back). No variable, no file or no number: no
// shift. The file is read again on every wall-clock read, so a test steps
// the clock of a running process by rewriting it. Likewise
// SHMKV_TEST_SUSPEND_FILE names a file of seconds added to CLOCK_BOOTTIME
// only: what a process sees after the host was suspended that long (the
// clock that counts suspend moves, CLOCK_MONOTONIC does not). The other
// clocks are never shifted; the real clocks are read with the system call,
// as tests/lock_clock_test.cc does within one binary.
//
// Debian's Abseil computes absl::Now() from the cycle counter and reads
// clock_gettime(CLOCK_REALTIME) only about every two seconds: a program
// sees a step through absl::Now() up to that much later (a step back, or
// forward by more than 5 s, at once then; Abseil slews smaller ones).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace {

// The whole seconds in the file the variable `name` names (0 when none).
long SecondsIn(const char* name) {
  const char* path = getenv(name);
  if (path == nullptr) return 0;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[32];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  return strtol(text, nullptr, 10);
}

long ShiftSeconds() { return SecondsIn("SHMKV_TEST_WALL_CLOCK_SHIFT_FILE"); }

}  // namespace

extern "C" int clock_gettime(clockid_t clock, struct timespec* ts) {
  const int rc = static_cast<int>(syscall(SYS_clock_gettime, clock, ts));
  if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    ts->tv_sec += ShiftSeconds();
  }
  if (rc == 0 && clock == CLOCK_BOOTTIME) ts->tv_sec += SecondsIn("SHMKV_TEST_SUSPEND_FILE");
  return rc;
}

extern "C" int gettimeofday(struct timeval* tv, void* tz) {
  const int rc = static_cast<int>(syscall(SYS_gettimeofday, tv, tz));
  if (rc == 0) tv->tv_sec += ShiftSeconds();
  return rc;
}

extern "C" time_t time(time_t* out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out != nullptr) *out = ts.tv_sec;
  return ts.tv_sec;
}
