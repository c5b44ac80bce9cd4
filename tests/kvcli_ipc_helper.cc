// System V helper for the kvcli suites (tests/kvcli_*_test.sh): makes the
// situations kvcli must handle (foreign segments, foreign owners, corrupt
// stores, held locks) and cleans up after the test. Mostly not a shmkv
// client: it goes straight to the kernel, and to the segment layout
// (kv/internal/layout.h) for corruption; create-as uses the library, to make
// a store that another user owns, and keys-in-stripe0 to do in one process
// what would take kvcli hundreds of runs.
//
//   kvcli_ipc_helper foreign KEY BYTES   create a segment that is not a store
//   kvcli_ipc_helper create-as UID KEY   create a 1 MiB store (mode 0666) as
//                                        user UID (root only; exit 77 when
//                                        not permitted)
//   kvcli_ipc_helper zero-index KEY      clear a store's hash index (every
//                                        entry goes missing from the index)
//   kvcli_ipc_helper set-layout KEY N    overwrite the layout version field
//   kvcli_ipc_helper scribble-header KEY change a byte the header checksum
//                                        covers (the store reads as corrupt)
//   kvcli_ipc_helper damage-record KEY   zero the state byte of the third
//                                        live record of stripe 0's log and
//                                        print its key
//   kvcli_ipc_helper damage-head KEY     overwrite stripe 0's log head word
//   kvcli_ipc_helper hold-lock KEY MS    hold the store-wide semaphore for MS
//                                        ms, printing "held" once it is held
//   kvcli_ipc_helper hold-stripe KEY     lock stripe 0's mutex and make its
//                                        read version odd (as a store
//                                        operation does), print "held" and
//                                        wait until killed
//   kvcli_ipc_helper keys-in-stripe0 KEY N
//                                        print N keys that the store places
//                                        in lock stripe 0 (found by writing
//                                        each candidate p0, p1... and seeing
//                                        which stripe grew); the store is
//                                        left empty of them
//   kvcli_ipc_helper exists KEY          print "shm=0|1 sem=0|1"
//   kvcli_ipc_helper remove KEY          remove the segment and semaphore set
//                                        at KEY if present (print what)
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kv/internal/layout.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

namespace {

bool ParseNumber(const char* text, uint64_t* out) {
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 0);
  if (errno != 0 || *end != '\0') return false;
  *out = value;
  return true;
}

bool ParseKey(const char* text, key_t* key) {
  uint64_t value = 0;
  if (!ParseNumber(text, &value) || value == 0 || value > 0xffffffffu) return false;
  *key = static_cast<key_t>(static_cast<uint32_t>(value));
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: kvcli_ipc_helper foreign KEY BYTES | create-as UID KEY |\n"
               "       zero-index KEY | set-layout KEY N | scribble-header KEY |\n"
               "       hold-lock KEY MS | hold-stripe KEY | keys-in-stripe0 KEY N |\n"
               "       exists KEY | remove KEY\n");
  return 2;
}

int Fail(const char* what) {
  std::fprintf(stderr, "kvcli_ipc_helper: %s: %s\n", what, std::strerror(errno));
  return 1;
}

// Maps the segment at `key` read-write; nullptr on failure (reported).
char* Map(key_t key, shmid_ds* ds) {
  int id = shmget(key, 0, 0);
  if (id < 0) {
    Fail("shmget");
    return nullptr;
  }
  if (shmctl(id, IPC_STAT, ds) != 0) {
    Fail("shmctl(IPC_STAT)");
    return nullptr;
  }
  void* base = shmat(id, nullptr, 0);
  if (base == reinterpret_cast<void*>(-1)) {
    Fail("shmat");
    return nullptr;
  }
  return static_cast<char*>(base);
}

}  // namespace

// Zeroes the state byte of the third live record of stripe 0's log (which
// has not wrapped) and prints its key; false when there is none.
bool DamageThirdRecord(char* base, const shmkv::internal::Header& header) {
  using shmkv::internal::EntryHeader;
  auto* stripe = reinterpret_cast<shmkv::internal::Stripe*>(base + header.stripe_table_offset);
  char* slice = base + header.arena_offset;
  int live = 0;
  for (uint64_t pos = stripe->tail; pos < stripe->head && pos < header.stripe_arena_bytes;) {
    auto* e = reinterpret_cast<EntryHeader*>(slice + pos);
    if (e->state == shmkv::internal::kLive && ++live == 3) {
      std::printf("%.*s\n", static_cast<int>(e->key_size), slice + pos + sizeof(EntryHeader));
      e->state = 0;
      return true;
    }
    pos += e->state == shmkv::internal::kPad
               ? e->value_size
               : shmkv::internal::RecordBytes(e->key_size, e->value_size);
  }
  std::fprintf(stderr, "kvcli_ipc_helper: fewer than 3 live records in stripe 0\n");
  return false;
}

// Prints `want` keys of stripe 0 of the store at `key`, trying p0..p199:
// each is written, kept if stripe 0 then holds one entry, and deleted.
// 0 when all were found.
int KeysInStripe0(key_t key, uint64_t want) {
  absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::FromKey(key);
  if (!name.ok()) return Usage();
  absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
      shmkv::Store::Open(*name, shmkv::Options(), shmkv::OpenMode::kAttach);
  absl::Status status = store.status();
  uint64_t found = 0;
  for (int i = 0; status.ok() && found < want && i < 200; ++i) {
    const std::string candidate = "p" + std::to_string(i);
    status = (*store)->Put(candidate, "x");
    if (!status.ok()) break;
    absl::StatusOr<std::vector<shmkv::StripeStats>> stripes = (*store)->StatsByStripe();
    status = stripes.status();
    if (status.ok() && (*stripes)[0].stats.items == 1) {
      std::printf("%s\n", candidate.c_str());
      ++found;
    }
    if (status.ok()) status = (*store)->Delete(candidate);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "kvcli_ipc_helper: %s\n", status.ToString().c_str());
    return 1;
  }
  return found == want ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc < 3) return Usage();
  const std::string command = argv[1];
  if (command == "create-as" && argc == 4) {
    uint64_t uid = 0;
    key_t key;
    if (!ParseNumber(argv[2], &uid) || !ParseKey(argv[3], &key)) return Usage();
    if (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(uid)) != 0 ||
        setuid(static_cast<uid_t>(uid)) != 0) {
      if (errno == EPERM) {
        std::fprintf(stderr, "kvcli_ipc_helper: create-as needs root\n");
        return 77;
      }
      return Fail("setuid");
    }
    absl::StatusOr<shmkv::StoreName> name = shmkv::StoreName::FromKey(key);
    if (!name.ok()) return Usage();
    shmkv::Options options;
    options.capacity_bytes = size_t{1} << 20;
    options.mode = 0666;
    absl::StatusOr<std::unique_ptr<shmkv::Store>> store =
        shmkv::Store::Open(*name, options, shmkv::OpenMode::kCreate);
    if (!store.ok()) {
      std::fprintf(stderr, "kvcli_ipc_helper: %s\n", store.status().ToString().c_str());
      return 1;
    }
    return 0;
  }
  key_t key;
  if (!ParseKey(argv[2], &key)) return Usage();
  if (command == "foreign" && argc == 4) {
    uint64_t bytes = 0;
    if (!ParseNumber(argv[3], &bytes) || bytes == 0) return Usage();
    int id = shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) return Fail("shmget(IPC_CREAT)");
    void* base = shmat(id, nullptr, 0);
    if (base == reinterpret_cast<void*>(-1)) return Fail("shmat");
    std::memset(base, 0x5a, bytes);
    shmdt(base);
    std::printf("%d\n", id);
    return 0;
  }
  if (command == "zero-index" || command == "scribble-header" || command == "damage-record" ||
      command == "damage-head" || (command == "set-layout" && argc == 4)) {
    shmid_ds ds;
    char* base = Map(key, &ds);
    if (base == nullptr) return 1;
    auto* header = reinterpret_cast<shmkv::internal::Header*>(base);
    if (ds.shm_segsz < shmkv::internal::kHeaderRegionBytes ||
        header->magic != shmkv::internal::kMagic) {
      std::fprintf(stderr, "kvcli_ipc_helper: not a shmkv store\n");
      return 1;
    }
    if (command == "zero-index") {
      const uint64_t from = header->index_offset, to = header->arena_offset;
      if (from >= to || to > ds.shm_segsz) {
        std::fprintf(stderr, "kvcli_ipc_helper: odd header\n");
        return 1;
      }
      std::memset(base + from, 0, to - from);
    } else if (command == "scribble-header") {
      header->created_at_ms ^= 1;
    } else if (command == "damage-head") {
      reinterpret_cast<shmkv::internal::Stripe*>(base + header->stripe_table_offset)->head =
          ~uint64_t{0} - 7;
    } else if (command == "damage-record") {
      if (!DamageThirdRecord(base, *header)) return 1;
    } else {
      uint64_t version = 0;
      if (!ParseNumber(argv[3], &version)) return Usage();
      header->layout_version = static_cast<uint32_t>(version);
    }
    shmdt(base);
    return 0;
  }
  if (command == "hold-lock" && argc == 4) {
    uint64_t ms = 0;
    if (!ParseNumber(argv[3], &ms)) return Usage();
    int sem = semget(key, 0, 0);
    if (sem < 0) return Fail("semget");
    sembuf take = {0, -1, SEM_UNDO};
    if (semop(sem, &take, 1) != 0) return Fail("semop");
    std::printf("held\n");
    std::fflush(stdout);
    timespec ts = {static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    sembuf give = {0, 1, SEM_UNDO};
    semop(sem, &give, 1);
    return 0;
  }
  if (command == "hold-stripe") {
    shmid_ds ds;
    char* base = Map(key, &ds);
    if (base == nullptr) return 1;
    const auto* header = reinterpret_cast<const shmkv::internal::Header*>(base);
    const uint64_t offset = header->stripe_table_offset;
    if (ds.shm_segsz < shmkv::internal::kHeaderRegionBytes ||
        header->magic != shmkv::internal::kMagic ||
        offset + sizeof(shmkv::internal::Stripe) > ds.shm_segsz) {
      std::fprintf(stderr, "kvcli_ipc_helper: not a shmkv store\n");
      return 1;
    }
    auto* stripe = reinterpret_cast<shmkv::internal::Stripe*>(base + offset);
    const int rc = pthread_mutex_lock(&stripe->mutex);
    if (rc != 0 && rc != EOWNERDEAD) {
      errno = rc;
      return Fail("pthread_mutex_lock");
    }
    stripe->holder_pid = static_cast<int32_t>(getpid());
    // As a holder does (doc/locking.md, "Optimistic reads"): an odd version
    // sends readers to the lock; killed, it leaves the version odd.
    const uint64_t version = __atomic_load_n(&stripe->read_version, __ATOMIC_RELAXED);
    __atomic_store_n(&stripe->read_version, version | 1, __ATOMIC_RELEASE);
    std::printf("held\n");
    std::fflush(stdout);
    for (;;) pause();
  }
  if (command == "keys-in-stripe0" && argc == 4) {
    uint64_t want = 0;
    if (!ParseNumber(argv[3], &want)) return Usage();
    return KeysInStripe0(key, want);
  }
  if (command == "exists") {
    const bool shm = shmget(key, 0, 0) >= 0;
    const bool sem = semget(key, 0, 0) >= 0;
    std::printf("shm=%d sem=%d\n", shm ? 1 : 0, sem ? 1 : 0);
    return 0;
  }
  if (command == "remove") {
    int status = 0;
    int shm = shmget(key, 0, 0);
    if (shm >= 0) {
      if (shmctl(shm, IPC_RMID, nullptr) == 0) {
        std::printf("removed segment %d\n", shm);
      } else {
        status = Fail("shmctl(IPC_RMID)");
      }
    }
    int sem = semget(key, 0, 0);
    if (sem >= 0) {
      if (semctl(sem, 0, IPC_RMID) == 0) {
        std::printf("removed semaphore set %d\n", sem);
      } else {
        status = Fail("semctl(IPC_RMID)");
      }
    }
    return status;
  }
  return Usage();
}
