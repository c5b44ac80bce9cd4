// Helpers shared by the shmkv test suites: unique store names, a store that
// destroys itself, fork helpers whose children never return into GoogleTest,
// a self-checking value format, and readers of /proc/sysvipc.
//
// Children must not use GoogleTest assertions: they report through their exit
// status (0 = success) and print what went wrong to stderr, see CHILD_CHECK.
#ifndef SHMKV_TESTS_TEST_UTIL_H_
#define SHMKV_TESTS_TEST_UTIL_H_

#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/clock.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "testing/key_range.h"

namespace shmkv {
namespace testutil {

// ---------------------------------------------------------------- names ---

// A key of this test run's range (testing/key_range.h) at which
// neither a shared-memory segment nor a semaphore set exists right now,
// recorded as taken by the running test.
key_t UniqueKey();
StoreName UniqueStoreName();
// "0x5e0a1b02": how StoreName::ToString() and kvcli print a key.
using testguard::KeyHex;

// Options small enough for fast tests (4 MiB, 4 KiB values, 0600).
Options SmallOptions();
// SmallOptions with `stripes` lock stripes and that lock timeout.
Options StripedOptions(uint32_t stripes, absl::Duration lock_timeout);
// SmallOptions with one lock stripe and keys of up to 64 bytes.
Options OneStripe();
// `o` reading the time from `clock`.
Options WithClock(const Clock* clock, Options o = SmallOptions());

// A fixed "now" (milliseconds since the epoch) for a ManualClock.
inline constexpr int64_t kStartMs = int64_t{1700000000000};

// ----------------------------------------------------------- ScopedStore ---

// Owns a store name for the length of a test. The destructor detaches, calls
// Store::Destroy and then removes whatever SysV segment or semaphore set is
// still there (reporting a test failure if Destroy left something behind), so
// a test that fails half-way, or whose children created the store, leaves
// nothing behind. Does nothing when destroyed in a forked child.
class ScopedStore {
 public:
  ScopedStore();  // picks UniqueStoreName()
  explicit ScopedStore(StoreName name);
  ~ScopedStore();
  ScopedStore(const ScopedStore&) = delete;
  ScopedStore& operator=(const ScopedStore&) = delete;

  // Opens this process's attachment (replacing a previous one) and records
  // the segment and semaphore ids for the cleanup.
  absl::Status Open(const Options& options = SmallOptions(), OpenMode mode = OpenMode::kCreate);
  // Drops this process's attachment; the store stays.
  void Detach() { store_.reset(); }
  // Detaches and calls Store::Destroy now.
  absl::Status Destroy();

  Store* get() const { return store_.get(); }
  Store* operator->() const { return store_.get(); }
  Store& operator*() const { return *store_; }
  const StoreName& name() const { return name_; }
  key_t key() const { return name_.key(); }

 private:
  void RecordIds(Store* store);

  StoreName name_;
  pid_t owner_pid_;
  std::unique_ptr<Store> store_;
  std::vector<int> shm_ids_, sem_ids_;
};

// Removes a SysV segment and semaphore set at `key` (and the given ids) if
// they exist. Returns a description of what had to be removed ("" if none).
std::string ForceRemoveIpc(key_t key, const std::vector<int>& shm_ids,
                           const std::vector<int>& sem_ids);

// ------------------------------------------------------------- processes ---

// Exit status of a child: its exit code, or 128 + signal number when a signal
// killed it, or -1 when fork/wait failed.
std::string DescribeExit(int status);

// Runs `fn` in a forked child and returns its exit status (see DescribeExit).
// The child leaves through _exit(fn()) and never returns into GoogleTest; an
// exception becomes status 125. An alarm kills a child still running after
// `timeout`.
int RunInChild(const std::function<int()>& fn, absl::Duration timeout = absl::Seconds(50));

// Forks n children that block on a common start gate, opens the gate once all
// exist (so racing calls really race), and returns their exit statuses.
std::vector<int> RunChildren(int n, const std::function<int(int index)>& fn,
                             absl::Duration timeout = absl::Seconds(50));

// A child running concurrently with the test. The destructor kills (SIGKILL)
// and reaps a child that is still running, so assertion failures in the
// parent leave no process behind. With timeout = absl::InfiniteDuration() the
// child is a companion: no alarm ends it, it runs until the test stops or
// kills it, and it dies with the test process. Use that for a child whose
// work must last as long as the parent's (a writer beside a reader), since
// the parent's own time grows with load and sanitizers.
class ChildProcess {
 public:
  explicit ChildProcess(const std::function<int()>& fn, absl::Duration timeout = absl::Seconds(50));
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for the child to end; returns its exit status (see DescribeExit).
  int Wait();
  void Kill(int sig);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

// A one-shot signal between processes over a pipe, created before fork.
class PipeEvent {
 public:
  PipeEvent();
  ~PipeEvent();
  PipeEvent(const PipeEvent&) = delete;
  PipeEvent& operator=(const PipeEvent&) = delete;
  void Notify();                         // writes one byte
  bool WaitFor(absl::Duration timeout);  // true once a byte arrived

 private:
  int fds_[2] = {-1, -1};
};

// An array of T in anonymous MAP_SHARED memory: written by forked children,
// read by the parent after wait (or concurrently through atomics).
template <typename T>
class SharedArray {
 public:
  explicit SharedArray(size_t n) : n_(n) {
    void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      perror("mmap");
      abort();
    }
    data_ = static_cast<T*>(p);
    for (size_t i = 0; i < n_; ++i) new (&data_[i]) T();
  }
  ~SharedArray() {
    for (size_t i = 0; i < n_; ++i) data_[i].~T();
    munmap(data_, bytes());
  }
  SharedArray(const SharedArray&) = delete;
  SharedArray& operator=(const SharedArray&) = delete;
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return n_; }

 private:
  size_t bytes() const { return n_ == 0 ? 1 : n_ * sizeof(T); }
  size_t n_;
  T* data_;
};

// Reports a failed expectation from a child on stderr and returns `code`
// `rc` from the enclosing function (the child's exit status).
#define CHILD_CHECK(cond, rc)                                                                  \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "[child %d] %s:%d: check failed: %s\n", static_cast<int>(getpid()), \
                   __FILE__, __LINE__, #cond);                                                 \
      return (rc);                                                                             \
    }                                                                                          \
  } while (0)

// Like CHILD_CHECK for an absl::Status (or StatusOr) that must be OK.
#define CHILD_CHECK_OK(expr, rc)                                                               \
  do {                                                                                         \
    const absl::Status child_check_status_ = ::shmkv::testutil::ToStatus(expr);                \
    if (!child_check_status_.ok()) {                                                           \
      std::fprintf(stderr, "[child %d] %s:%d: %s: %s\n", static_cast<int>(getpid()), __FILE__, \
                   __LINE__, #expr, child_check_status_.ToString().c_str());                   \
      return (rc);                                                                             \
    }                                                                                          \
  } while (0)

// Like CHILD_CHECK: the status (or StatusOr) must have the given code.
#define CHILD_CHECK_CODE(expr, status_code, rc)                                                   \
  do {                                                                                            \
    const absl::Status child_check_status_ = ::shmkv::testutil::ToStatus(expr);                   \
    if (child_check_status_.code() != (status_code)) {                                            \
      std::fprintf(stderr, "[child %d] %s:%d: %s: want %s, got %s\n", static_cast<int>(getpid()), \
                   __FILE__, __LINE__, #expr, absl::StatusCodeToString(status_code).c_str(),      \
                   child_check_status_.ToString().c_str());                                       \
      return (rc);                                                                                \
    }                                                                                             \
  } while (0)

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// GoogleTest helpers for the parent process (the including file includes gtest).
#define EXPECT_OK(expr) EXPECT_EQ(::shmkv::testutil::ToStatus(expr), ::absl::OkStatus())
#define ASSERT_OK(expr) ASSERT_EQ(::shmkv::testutil::ToStatus(expr), ::absl::OkStatus())
#define SHMKV_CONCAT_INNER_(a, b) a##b
#define SHMKV_CONCAT_(a, b) SHMKV_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(SHMKV_CONCAT_(statusor_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)        \
  auto tmp = (expr);                                      \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << tmp.status(); \
  lhs = *std::move(tmp)

// ---------------------------------------------------------------- random ---

// A seeded generator private to one thread or process: runs repeat, and no
// state is shared. (absl::BitGen seeds itself from a pool that every thread
// shares inside Debian's Abseil, which is not built with ThreadSanitizer;
// TSan cannot see that pool's locking and reports races in it.)
class TestRng {
 public:
  explicit TestRng(uint64_t seed) : engine_(seed) {}
  // A whole number in [lo, hi).
  template <typename T>
  T Uniform(T lo, T hi) {
    return std::uniform_int_distribution<T>(lo, hi - 1)(engine_);
  }
  // In [0, 1).
  double Unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  bool Bernoulli(double p) { return Unit() < p; }
  // For std::shuffle and the <random> distributions.
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

// ---------------------------------------------------------------- values ---

// Self-checking values. Layout (little-endian):
//   [0,4)   magic "SKv1"
//   [4,8)   total length
//   [8,16)  sequence number
//   [16,24) FNV-1a hash of the key
//   [24,32) FNV-1a checksum of every other byte of the value
//   [32,..) the key's bytes (as many as fit), then bytes derived from
//           (key hash, seq, position)
// so a torn write, a value stored under another key, or a truncated value
// fails CheckValue.
inline constexpr size_t kMinValueSize = 32;
// `len` below kMinValueSize is raised to kMinValueSize.
std::string MakeValue(absl::string_view key, uint64_t seq, size_t len);
// Returns the value's sequence number, or an error naming the defect.
absl::StatusOr<uint64_t> CheckValue(absl::string_view key, absl::string_view value);

uint64_t Fnv1a(absl::string_view data, uint64_t h = 14695981039346656037ull);

// ---------------------------------------------------------------- reading -

// The value of `key`, or "<status>" if Get fails: for EXPECT_EQ.
std::string GetOrDie(Store* store, absl::string_view key);

// One line of Stats() for failure messages.
std::string StatsLine(Store* store);

// The metadata of `key` (a test failure if Get fails).
EntryMeta MetaOf(Store& store, absl::string_view key);

// ------------------------------------------------------------ /proc/sysvipc -

struct SysvShm {
  key_t key;
  int id;
  int perms;
  uint64_t size;
  uint64_t nattch;
};
struct SysvSem {
  key_t key;
  int id;
  int perms;
  int nsems;
};
std::vector<SysvShm> ListSysvShm();
std::vector<SysvSem> ListSysvSem();

// Number of this process's mappings (attachments) of the segment at `key`,
// from /proc/self/maps.
int CountAttachments(key_t key);

// A plain SysV segment (not a shmkv store) of `bytes` at `key`, made with
// IPC_EXCL and mode 0600, attached, and removed at scope end.
class ForeignSegment {
 public:
  ForeignSegment(key_t key, size_t bytes);
  ~ForeignSegment();
  ForeignSegment(const ForeignSegment&) = delete;
  ForeignSegment& operator=(const ForeignSegment&) = delete;
  bool ok() const { return addr_ != nullptr; }
  unsigned char* data() { return addr_; }
  size_t size() const { return bytes_; }

 private:
  int id_ = -1;
  unsigned char* addr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace testutil
}  // namespace shmkv

#endif  // SHMKV_TESTS_TEST_UTIL_H_
