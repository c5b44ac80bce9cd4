#include "tests/test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "testing/key_range.h"

namespace shmkv {
namespace testutil {
namespace {

union SemUn {
  int val;
  semid_ds* buf;
  unsigned short* array;
};

int ExitStatusOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

int WaitPid(pid_t pid) {
  int wstatus = 0;
  for (;;) {
    pid_t r = waitpid(pid, &wstatus, 0);
    if (r == pid) return ExitStatusOf(wstatus);
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}

// Runs in the child: never returns.
[[noreturn]] void ChildMain(const std::function<int()>& fn, absl::Duration timeout, pid_t parent) {
  if (timeout == absl::InfiniteDuration()) {
    // A companion lives as long as the test needs it, and no longer: it dies
    // with the test process (also when the test is killed on its timeout).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(124);  // the parent died before prctl
  } else {
    // A hung child must not hang the suite: SIGALRM's default action kills it.
    signal(SIGALRM, SIG_DFL);
    alarm(static_cast<unsigned>(absl::ToInt64Seconds(timeout) + 1));
  }
  int rc = 125;
  try {
    rc = fn();
  } catch (...) {
    std::fprintf(stderr, "[child %d] exception escaped\n", static_cast<int>(getpid()));
    rc = 125;
  }
  _exit(rc & 0xff);
}

void FlushBeforeFork() {
  std::fflush(stdout);
  std::fflush(stderr);
}

}  // namespace

// ---------------------------------------------------------------- names ---

key_t UniqueKey() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string owner = test == nullptr
                                ? "(outside a test)"
                                : absl::StrCat(test->test_suite_name(), ".", test->name());
  absl::StatusOr<key_t> key = testguard::AllocateTestKey(owner);
  if (!key.ok()) {
    std::fprintf(stderr, "UniqueKey: %s\n", key.status().ToString().c_str());
    abort();
  }
  return *key;
}

StoreName UniqueStoreName() {
  absl::StatusOr<StoreName> name = StoreName::FromKey(UniqueKey());
  if (!name.ok()) {
    std::fprintf(stderr, "StoreName::FromKey failed: %s\n", name.status().ToString().c_str());
    abort();
  }
  return *std::move(name);
}

Options SmallOptions() {
  Options o;
  o.capacity_bytes = size_t{4} << 20;
  o.max_value_size = 4096;
  o.mode = 0600;
  return o;
}

Options StripedOptions(uint32_t stripes, absl::Duration lock_timeout) {
  Options o = SmallOptions();
  o.lock_stripes = stripes;
  o.lock_timeout = lock_timeout;
  return o;
}

Options WithClock(const Clock* clock, Options o) {
  o.clock = clock;
  return o;
}

Options OneStripe() {
  Options o = SmallOptions();
  o.lock_stripes = 1;
  o.max_key_size = 64;
  return o;
}

// ----------------------------------------------------------- ScopedStore ---

ScopedStore::ScopedStore() : ScopedStore(UniqueStoreName()) {}

ScopedStore::ScopedStore(StoreName name) : name_(std::move(name)), owner_pid_(getpid()) {}

void ScopedStore::RecordIds(Store* store) {
  absl::StatusOr<StoreInfo> info = store->Info();
  if (!info.ok()) return;
  if (info->shm_id >= 0) shm_ids_.push_back(info->shm_id);
  if (info->sem_id >= 0) sem_ids_.push_back(info->sem_id);
}

absl::Status ScopedStore::Open(const Options& options, OpenMode mode) {
  store_.reset();
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(name_, options, mode);
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  RecordIds(store_.get());
  return absl::OkStatus();
}

absl::Status ScopedStore::Destroy() {
  store_.reset();
  return Store::Destroy(name_);
}

ScopedStore::~ScopedStore() {
  if (getpid() != owner_pid_) return;  // a forked child: not ours to clean
  store_.reset();
  // Learn the ids of a store that children created, then destroy it.
  {
    Options o;
    o.allow_foreign_owner = true;
    o.lock_timeout = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(name_, o, OpenMode::kAttach);
    if (s.ok()) RecordIds(s->get());
  }
  absl::Status destroyed = Store::Destroy(name_);
  if (!destroyed.ok() && !absl::IsNotFound(destroyed) && !absl::IsFailedPrecondition(destroyed)) {
    ADD_FAILURE() << "cleanup: Store::Destroy(" << name_.ToString() << "): " << destroyed;
  }
  std::string leftover = ForceRemoveIpc(name_.key(), shm_ids_, sem_ids_);
  if (destroyed.ok() && !leftover.empty()) {
    ADD_FAILURE() << "cleanup: Store::Destroy(" << name_.ToString()
                  << ") returned OK but left: " << leftover;
  }
}

std::string ForceRemoveIpc(key_t key, const std::vector<int>& shm_ids,
                           const std::vector<int>& sem_ids) {
  std::string removed;
  int id = shmget(key, 0, 0);
  if (id >= 0 && shmctl(id, IPC_RMID, nullptr) == 0) {
    absl::StrAppend(&removed, "segment ", id, " at ", KeyHex(key), "; ");
  }
  id = semget(key, 0, 0);
  if (id >= 0 && semctl(id, 0, IPC_RMID) == 0) {
    absl::StrAppend(&removed, "semaphore set ", id, " at ", KeyHex(key), "; ");
  }
  for (int shm_id : shm_ids) {
    shmid_ds ds;
    if (shmctl(shm_id, IPC_STAT, &ds) != 0) continue;
    // Ids are recycled: only touch a segment that still has our key.
    if (ds.shm_perm.__key != key && ds.shm_perm.__key != IPC_PRIVATE) continue;
    // Already marked for removal: it goes away with its last attachment.
    if (ds.shm_perm.mode & SHM_DEST) continue;
    if (shmctl(shm_id, IPC_RMID, nullptr) == 0) {
      absl::StrAppend(&removed, "segment id ", shm_id, "; ");
    }
  }
  for (int sem_id : sem_ids) {
    semid_ds ds;
    SemUn arg;
    arg.buf = &ds;
    if (semctl(sem_id, 0, IPC_STAT, arg) != 0) continue;
    if (ds.sem_perm.__key != key && ds.sem_perm.__key != IPC_PRIVATE) continue;
    if (semctl(sem_id, 0, IPC_RMID) == 0) {
      absl::StrAppend(&removed, "semaphore set id ", sem_id, "; ");
    }
  }
  return removed;
}

// ------------------------------------------------------------- processes ---

std::string DescribeExit(int status) {
  if (status < 0) return "fork/wait failed";
  if (status > 128) {
    return absl::StrCat("killed by signal ", status - 128, " (", strsignal(status - 128), ")");
  }
  return absl::StrCat("exit status ", status);
}

int RunInChild(const std::function<int()>& fn, absl::Duration timeout) {
  FlushBeforeFork();
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) ChildMain(fn, timeout, parent);
  return WaitPid(pid);
}

std::vector<int> RunChildren(int n, const std::function<int(int)>& fn, absl::Duration timeout) {
  int gate[2];
  if (pipe(gate) != 0) return std::vector<int>(n, -1);
  FlushBeforeFork();
  const pid_t parent = getpid();
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      close(gate[1]);
      char c;
      // Blocks until the parent closes its end: every child then starts at once.
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      close(gate[0]);
      ChildMain([&fn, i] { return fn(i); }, timeout, parent);
    }
    pids.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);
  std::vector<int> statuses;
  for (pid_t pid : pids) statuses.push_back(pid < 0 ? -1 : WaitPid(pid));
  return statuses;
}

ChildProcess::ChildProcess(const std::function<int()>& fn, absl::Duration timeout) {
  FlushBeforeFork();
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) ChildMain(fn, timeout, parent);
  if (pid_ < 0) reaped_ = true;
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

int ChildProcess::Wait() {
  if (!reaped_) {
    status_ = WaitPid(pid_);
    reaped_ = true;
  }
  return status_;
}

void ChildProcess::Kill(int sig) {
  if (!reaped_) kill(pid_, sig);
}

PipeEvent::PipeEvent() {
  if (pipe(fds_) != 0) {
    perror("pipe");
    abort();
  }
}

PipeEvent::~PipeEvent() {
  close(fds_[0]);
  close(fds_[1]);
}

void PipeEvent::Notify() {
  char c = 1;
  while (write(fds_[1], &c, 1) < 0 && errno == EINTR) {
  }
}

bool PipeEvent::WaitFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left < 0) return false;
    pollfd p{fds_[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r > 0) {
      char c;
      return read(fds_[0], &c, 1) == 1;
    }
    if (r < 0 && errno != EINTR) return false;
  }
}

// ---------------------------------------------------------------- values ---

uint64_t Fnv1a(absl::string_view data, uint64_t h) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

constexpr char kMagic[4] = {'S', 'K', 'v', '1'};

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// absl::string_view::substr would pull in Abseil's throw delegate; slices
// here are always in range.
absl::string_view Slice(absl::string_view v, size_t pos, size_t n) {
  return absl::string_view(v.data() + pos, std::min(n, v.size() - pos));
}

uint64_t Checksum(absl::string_view value) {
  uint64_t h = Fnv1a(Slice(value, 0, 24));
  return Fnv1a(Slice(value, 32, value.size()), h);
}

}  // namespace

std::string MakeValue(absl::string_view key, uint64_t seq, size_t len) {
  if (len < kMinValueSize) len = kMinValueSize;
  std::string v(len, '\0');
  const uint64_t key_hash = Fnv1a(key);
  std::memcpy(&v[0], kMagic, 4);
  PutU32(&v[4], static_cast<uint32_t>(len));
  PutU64(&v[8], seq);
  PutU64(&v[16], key_hash);
  size_t pos = kMinValueSize;
  const size_t key_bytes = std::min(key.size(), len - pos);
  std::memcpy(&v[pos], key.data(), key_bytes);
  pos += key_bytes;
  uint64_t x = key_hash ^ (seq * 0x2545f4914f6cdd1dull);
  for (; pos < len; ++pos) {
    if (pos % 8 == 0 || pos == kMinValueSize + key_bytes) x = SplitMix(x + pos);
    v[pos] = static_cast<char>((x >> (8 * (pos % 8))) & 0xff);
  }
  PutU64(&v[24], Checksum(v));
  return v;
}

absl::StatusOr<uint64_t> CheckValue(absl::string_view key, absl::string_view value) {
  if (value.size() < kMinValueSize) {
    return absl::DataLossError(absl::StrCat("value of ", value.size(), " bytes is too short"));
  }
  if (std::memcmp(value.data(), kMagic, 4) != 0) return absl::DataLossError("bad magic");
  const uint32_t len = GetU32(value.data() + 4);
  if (len != value.size()) {
    return absl::DataLossError(
        absl::StrCat("value has ", value.size(), " bytes, its header says ", len));
  }
  const uint64_t seq = GetU64(value.data() + 8);
  if (GetU64(value.data() + 24) != Checksum(value)) {
    return absl::DataLossError(absl::StrCat("checksum mismatch (seq ", seq, ")"));
  }
  if (GetU64(value.data() + 16) != Fnv1a(key)) {
    return absl::DataLossError(absl::StrCat("value belongs to another key (seq ", seq, ")"));
  }
  const size_t key_bytes = std::min(key.size(), value.size() - kMinValueSize);
  if (Slice(value, kMinValueSize, key_bytes) != Slice(key, 0, key_bytes)) {
    return absl::DataLossError("embedded key differs");
  }
  // The filler is a function of (key, seq): regenerate and compare, so a value
  // whose checksum happens to match is still caught.
  if (MakeValue(key, seq, value.size()) != value) {
    return absl::DataLossError(absl::StrCat("filler differs (seq ", seq, ")"));
  }
  return seq;
}

// ------------------------------------------------------------ /proc/sysvipc -

namespace {

std::vector<std::vector<std::string>> ReadTable(const char* path) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    std::istringstream fields(line);
    std::vector<std::string> row;
    std::string f;
    while (fields >> f) row.push_back(f);
    if (!row.empty()) rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

std::vector<SysvShm> ListSysvShm() {
  // key shmid perms size cpid lpid nattch uid gid ...
  std::vector<SysvShm> out;
  for (const auto& row : ReadTable("/proc/sysvipc/shm")) {
    if (row.size() < 7) continue;
    out.push_back(SysvShm{static_cast<key_t>(std::stoll(row[0])), std::stoi(row[1]),
                          std::stoi(row[2], nullptr, 8), std::stoull(row[3]), std::stoull(row[6])});
  }
  return out;
}

std::vector<SysvSem> ListSysvSem() {
  // key semid perms nsems uid gid ...
  std::vector<SysvSem> out;
  for (const auto& row : ReadTable("/proc/sysvipc/sem")) {
    if (row.size() < 4) continue;
    out.push_back(SysvSem{static_cast<key_t>(std::stoll(row[0])), std::stoi(row[1]),
                          std::stoi(row[2], nullptr, 8), std::stoi(row[3])});
  }
  return out;
}

int CountAttachments(key_t key) {
  const std::string name = absl::StrFormat("/SYSV%08x", static_cast<uint32_t>(key));
  std::ifstream in("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    // address perms offset dev inode path: an attachment starts at offset 0.
    std::istringstream f(line);
    std::string addr, perms, offset, dev, inode, path;
    if (!(f >> addr >> perms >> offset >> dev >> inode >> path)) continue;
    if (path == name && std::stoull(offset, nullptr, 16) == 0) ++n;
  }
  return n;
}

std::string GetOrDie(Store* store, absl::string_view key) {
  std::string v;
  absl::Status s = store->Get(key, &v);
  if (!s.ok()) return "<" + s.ToString() + ">";
  return v;
}

std::string StatsLine(Store* store) {
  absl::StatusOr<StoreStats> st = store->Stats();
  if (!st.ok()) return st.status().ToString();
  return absl::StrCat("[stats: items ", st->items, ", live key+value bytes ",
                      st->key_bytes + st->value_bytes, ", bytes_used ", st->bytes_used,
                      ", log_bytes ", st->log_bytes, " of ", st->capacity, ", evictions ",
                      st->evictions, "]");
}

EntryMeta MetaOf(Store& store, absl::string_view key) {
  std::string v;
  EntryMeta meta;
  absl::Status s = store.Get(key, &v, &meta);
  EXPECT_TRUE(s.ok()) << key << ": " << s;
  return meta;
}

ForeignSegment::ForeignSegment(key_t key, size_t bytes) {
  id_ = shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600);
  if (id_ < 0) return;
  void* p = shmat(id_, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return;
  addr_ = static_cast<unsigned char*>(p);
  bytes_ = bytes;
}

ForeignSegment::~ForeignSegment() {
  if (addr_ != nullptr) shmdt(addr_);
  if (id_ >= 0) shmctl(id_, IPC_RMID, nullptr);
}

}  // namespace testutil
}  // namespace shmkv
