// Single-store behaviour: the data operations, binary keys and values, open
// modes, attachments, and one provoking test per error code of store.h.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shmkv/options.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"
#include "tests/test_util.h"

namespace shmkv {
namespace {

using ::shmkv::testutil::CheckValue;
using ::shmkv::testutil::CountAttachments;
using ::shmkv::testutil::KeyHex;
using ::shmkv::testutil::ListSysvSem;
using ::shmkv::testutil::ListSysvShm;
using ::shmkv::testutil::MakeValue;
using ::shmkv::testutil::RunInChild;
using ::shmkv::testutil::ScopedStore;
using ::shmkv::testutil::SmallOptions;
using ::shmkv::testutil::UniqueStoreName;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

// One line of Stats() for failure messages.
std::string StatsLine(Store* store) {
  absl::StatusOr<StoreStats> st = store->Stats();
  if (!st.ok()) return st.status().ToString();
  return absl::StrCat("[stats: items ", st->items, ", live key+value bytes ",
                      st->key_bytes + st->value_bytes, ", bytes_used ", st->bytes_used,
                      ", log_bytes ", st->log_bytes, " of ", st->capacity, ", evictions ",
                      st->evictions, "]");
}

std::string GetOrDie(Store* store, absl::string_view key) {
  std::string v;
  absl::Status s = store->Get(key, &v);
  if (!s.ok()) return "<" + s.ToString() + ">";
  return v;
}

TEST(StoreBasic, PutGetViewContainsDelete) {
  ScopedStore store;
  ASSERT_OK(store.Open());

  uint64_t v1 = 0;
  ASSERT_OK(store->Put("alpha", "one", {}, &v1));
  EXPECT_NE(v1, 0u);
  EXPECT_EQ(GetOrDie(store.get(), "alpha"), "one");

  std::string seen;
  EntryMeta seen_meta;
  bool called = false;
  ASSERT_OK(store->View("alpha", [&](absl::string_view value, const EntryMeta& meta) {
    called = true;
    seen = std::string(value);
    seen_meta = meta;
  }));
  EXPECT_TRUE(called);
  EXPECT_EQ(seen, "one");
  EXPECT_EQ(seen_meta.version, v1);
  EXPECT_EQ(seen_meta.value_size, 3u);

  ASSERT_OK_AND_ASSIGN(bool has, store->Contains("alpha"));
  EXPECT_TRUE(has);
  ASSERT_OK_AND_ASSIGN(has, store->Contains("beta"));
  EXPECT_FALSE(has);

  std::string v;
  absl::Status missing = store->Get("beta", &v);
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  called = false;
  missing = store->View("beta", [&](absl::string_view, const EntryMeta&) { called = true; });
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;
  EXPECT_FALSE(called);

  ASSERT_OK(store->Delete("alpha"));
  EXPECT_TRUE(absl::IsNotFound(store->Get("alpha", &v)));
  ASSERT_OK_AND_ASSIGN(has, store->Contains("alpha"));
  EXPECT_FALSE(has);
  absl::Status again = store->Delete("alpha");
  EXPECT_TRUE(absl::IsNotFound(again)) << again;
}

TEST(StoreBasic, SizeAndClear) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 0u);
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(store->Put(absl::StrCat("k", i), MakeValue(absl::StrCat("k", i), 1, 100)));
  }
  ASSERT_OK_AND_ASSIGN(size, store->Size());
  EXPECT_EQ(size, 300u);
  // Overwrites do not add entries; deletes remove them.
  for (int i = 0; i < 100; ++i) ASSERT_OK(store->Put(absl::StrCat("k", i), "x"));
  for (int i = 100; i < 150; ++i) ASSERT_OK(store->Delete(absl::StrCat("k", i)));
  ASSERT_OK_AND_ASSIGN(size, store->Size());
  EXPECT_EQ(size, 250u);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.items, 250u);

  ASSERT_OK(store->Clear());
  ASSERT_OK_AND_ASSIGN(size, store->Size());
  EXPECT_EQ(size, 0u);
  std::string v;
  for (int i = 0; i < 300; ++i) {
    EXPECT_TRUE(absl::IsNotFound(store->Get(absl::StrCat("k", i), &v))) << i;
  }
  ASSERT_OK_AND_ASSIGN(stats, store->Stats());
  EXPECT_EQ(stats.items, 0u);
  EXPECT_EQ(stats.key_bytes, 0u);
  EXPECT_EQ(stats.value_bytes, 0u);
  // The store is usable after Clear.
  ASSERT_OK(store->Put("after", "clear"));
  EXPECT_EQ(GetOrDie(store.get(), "after"), "clear");
}

TEST(StoreBasic, BinaryKeysAndValues) {
  ScopedStore store;
  ASSERT_OK(store.Open());

  // Keys that differ only after an embedded NUL are different keys.
  const std::string k1("a\0b", 3), k2("a\0c", 3), k3("a", 1), k4("\0", 1);
  ASSERT_OK(store->Put(k1, "v1"));
  ASSERT_OK(store->Put(k2, "v2"));
  ASSERT_OK(store->Put(k3, "v3"));
  ASSERT_OK(store->Put(k4, "v4"));
  EXPECT_EQ(GetOrDie(store.get(), k1), "v1");
  EXPECT_EQ(GetOrDie(store.get(), k2), "v2");
  EXPECT_EQ(GetOrDie(store.get(), k3), "v3");
  EXPECT_EQ(GetOrDie(store.get(), k4), "v4");

  // Every byte value, embedded NULs included, survives in a value.
  std::string all;
  for (int rep = 0; rep < 3; ++rep)
    for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  ASSERT_OK(store->Put("bytes", all));
  std::string got;
  ASSERT_OK(store->Get("bytes", &got));
  EXPECT_EQ(got.size(), all.size());
  EXPECT_TRUE(got == all);

  // A zero-byte value is a present, empty value, not a missing one.
  ASSERT_OK(store->Put("empty", ""));
  got = "garbage";
  EntryMeta meta;
  ASSERT_OK(store->Get("empty", &got, &meta));
  EXPECT_EQ(got, "");
  EXPECT_EQ(meta.value_size, 0u);
  ASSERT_OK_AND_ASSIGN(bool has, store->Contains("empty"));
  EXPECT_TRUE(has);

  // The largest key allowed (4096 bytes of binary data).
  std::string big_key(kMaxKeySizeLimit, '\0');
  for (size_t i = 0; i < big_key.size(); ++i) big_key[i] = static_cast<char>(i * 7 + 3);
  const std::string big_value = MakeValue(big_key, 9, 3000);
  ASSERT_OK(store->Put(big_key, big_value));
  ASSERT_OK(store->Get(big_key, &got));
  EXPECT_OK(CheckValue(big_key, got));
  EXPECT_TRUE(got == big_value);
  // Its 4095-byte prefix is another (absent) key.
  EXPECT_TRUE(absl::IsNotFound(store->Get(big_key.substr(0, 4095), &got)));

  // A value of exactly max_value_size.
  const std::string max_value = MakeValue("max", 1, SmallOptions().max_value_size);
  ASSERT_OK(store->Put("max", max_value));
  ASSERT_OK(store->Get("max", &got));
  EXPECT_TRUE(got == max_value);
}

TEST(StoreBasic, GetReusesCallerString) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "short"));

  // Whatever the string held before is replaced, not appended to.
  std::string value(1000, 'Z');
  const char* buffer = value.data();
  const size_t capacity = value.capacity();
  ASSERT_OK(store->Get("k", &value));
  EXPECT_EQ(value, "short");
  // ...and its buffer is reused rather than reallocated.
  EXPECT_EQ(value.data(), buffer);
  EXPECT_EQ(value.capacity(), capacity);

  const std::string long_value = MakeValue("k", 2, 3000);
  ASSERT_OK(store->Put("k", long_value));
  ASSERT_OK(store->Get("k", &value));
  EXPECT_TRUE(value == long_value);

  // A failed Get reports NotFound; the value is not trusted afterwards, but
  // the next successful Get overwrites it completely.
  EXPECT_TRUE(absl::IsNotFound(store->Get("missing", &value)));
  ASSERT_OK(store->Put("k", "s"));
  ASSERT_OK(store->Get("k", &value));
  EXPECT_EQ(value, "s");
}

TEST(StoreBasic, OverwriteGrowsAndShrinks) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  uint64_t last_version = 0;
  const size_t sizes[] = {10, 3000, 32, 4096, 0, 1, 2048};
  uint64_t seq = 0;
  for (size_t len : sizes) {
    std::string value =
        len < testutil::kMinValueSize ? std::string(len, 'q') : MakeValue("key", ++seq, len);
    uint64_t version = 0;
    ASSERT_OK(store->Put("key", value, {}, &version));
    EXPECT_GT(version, last_version);
    last_version = version;
    std::string got;
    EntryMeta meta;
    ASSERT_OK(store->Get("key", &got, &meta));
    EXPECT_TRUE(got == value) << "len " << len;
    EXPECT_EQ(meta.version, version);
    EXPECT_EQ(meta.value_size, len);
  }
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 1u);
}

TEST(StoreBasic, OpenModes) {
  const StoreName name = UniqueStoreName();
  ScopedStore cleanup(name);

  // kAttach on a missing store: NotFound naming the key.
  auto attached = Store::Open(name, SmallOptions(), OpenMode::kAttach);
  ASSERT_FALSE(attached.ok());
  EXPECT_TRUE(absl::IsNotFound(attached.status())) << attached.status();
  EXPECT_THAT(std::string(attached.status().message()), HasSubstr(KeyHex(name.key())));

  // kOpenOrCreate creates it.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first,
                       Store::Open(name, SmallOptions(), OpenMode::kOpenOrCreate));
  ASSERT_OK(first->Put("made-by", "first"));

  // kCreate on an existing store: AlreadyExists naming the key.
  auto created = Store::Open(name, SmallOptions(), OpenMode::kCreate);
  ASSERT_FALSE(created.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(created.status())) << created.status();
  EXPECT_THAT(std::string(created.status().message()), HasSubstr(KeyHex(name.key())));
  // ...and did not disturb the contents.
  EXPECT_EQ(GetOrDie(first.get(), "made-by"), "first");

  // kOpenOrCreate and kAttach on the existing store attach to it.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second,
                       Store::Open(name, SmallOptions(), OpenMode::kOpenOrCreate));
  EXPECT_EQ(GetOrDie(second.get(), "made-by"), "first");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> third,
                       Store::Open(name, SmallOptions(), OpenMode::kAttach));
  EXPECT_EQ(GetOrDie(third.get(), "made-by"), "first");

  // Creation options are the creator's; an attach with other options keeps them.
  Options other = SmallOptions();
  other.capacity_bytes = size_t{8} << 20;
  other.max_value_size = 100;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> fourth, Store::Open(name, other, OpenMode::kAttach));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, fourth->Info());
  EXPECT_EQ(info.max_value_size, SmallOptions().max_value_size);
  EXPECT_LE(info.capacity, SmallOptions().capacity_bytes);
  ASSERT_OK(fourth->Put("big", std::string(1000, 'b')));  // over `other`'s 100
}

TEST(StoreBasic, InfoReflectsCreationOptions) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = size_t{2} << 20;
  o.max_key_size = 200;
  o.max_value_size = 3000;
  o.evict = false;
  o.default_ttl = absl::Seconds(90);
  o.mode = 0640;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  EXPECT_EQ(info.key, store.key());
  EXPECT_THAT(info.name, HasSubstr(KeyHex(store.key())));
  EXPECT_EQ(info.layout_version, 3u);
  EXPECT_LE(info.capacity, o.capacity_bytes);
  EXPECT_GE(info.capacity, o.capacity_bytes * 9 / 10);
  EXPECT_GE(info.segment_bytes, info.capacity);
  EXPECT_EQ(info.max_key_size, 200u);
  EXPECT_EQ(info.max_value_size, 3000u);
  EXPECT_FALSE(info.evict);
  EXPECT_EQ(info.default_ttl, absl::Seconds(90));
  EXPECT_EQ(info.mode & 0777, 0640);
  EXPECT_EQ(info.creator_pid, getpid());
  EXPECT_EQ(info.creator_uid, getuid());
  EXPECT_GE(info.lock_stripes, 1u);
  EXPECT_EQ(info.lock_stripes & (info.lock_stripes - 1), 0u) << "power of two";
  EXPECT_FALSE(info.removed);
  EXPECT_GE(info.attached_processes, 1u);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.capacity, info.capacity);

  // The kernel objects carry the requested mode.
  bool found_shm = false, found_sem = false;
  for (const auto& shm : ListSysvShm()) {
    if (shm.id != info.shm_id) continue;
    found_shm = true;
    EXPECT_EQ(shm.key, store.key());
    EXPECT_EQ(shm.perms & 0777, 0640);
    EXPECT_EQ(shm.size, info.segment_bytes);
  }
  for (const auto& sem : ListSysvSem()) {
    if (sem.id != info.sem_id) continue;
    found_sem = true;
    EXPECT_EQ(sem.perms & 0777, 0640);
  }
  EXPECT_TRUE(found_shm) << "segment id " << info.shm_id << " not in /proc/sysvipc/shm";
  EXPECT_TRUE(found_sem) << "semaphore set id " << info.sem_id << " not in /proc/sysvipc/sem";

  // Keys over this store's own max_key_size are refused, naming the limit.
  absl::Status s = store->Put(std::string(201, 'k'), "v");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("200"));
  ASSERT_OK(store->Put(std::string(200, 'k'), "v"));
}

// A field of /proc/meminfo as a number (kB suffix dropped); -1 if absent.
int64_t MemInfo(const std::string& field) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  int64_t value = 0;
  while (in >> name >> value) {
    if (name == field + ":") return value;
    std::string rest;
    std::getline(in, rest);
  }
  return -1;
}

// With huge pages reserved, a store lives in them and says so; without, the
// creation fails saying how many are free and which sysctl reserves them,
// and leaves no segment behind. Which branch runs depends on the host.
TEST(StoreBasic, HugePagesWorkOrSayWhatToDo) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = size_t{8} << 20;
  o.huge_pages = true;
  const int64_t free_pages = MemInfo("HugePages_Free");
  const int64_t page_kib = MemInfo("Hugepagesize");
  absl::Status opened = store.Open(o);
  if (free_pages >= 0 && page_kib > 0 && free_pages * page_kib * 1024 >= int64_t{16} << 20 &&
      opened.ok()) {
    ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
    EXPECT_TRUE(info.huge_pages);
    EXPECT_LT(MemInfo("HugePages_Free"), free_pages) << "the segment took no huge pages";
    ASSERT_OK(store->Put("k", "v"));
    std::string v;
    ASSERT_OK(store->Get("k", &v));
    EXPECT_EQ(v, "v");
    return;
  }
  ASSERT_FALSE(opened.ok()) << "created in huge pages although only " << free_pages << " are free";
  EXPECT_TRUE(absl::IsResourceExhausted(opened) || absl::IsPermissionDenied(opened)) << opened;
  EXPECT_THAT(std::string(opened.message()), HasSubstr("huge pages"));
  EXPECT_THAT(std::string(opened.message()),
              AnyOf(HasSubstr("vm.nr_hugepages"), HasSubstr("vm.hugetlb_shm_group")));
  absl::StatusOr<std::unique_ptr<Store>> after =
      Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  EXPECT_TRUE(absl::IsNotFound(after.status())) << after.status();
  // The same name works without huge pages.
  o.huge_pages = false;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  EXPECT_FALSE(info.huge_pages);
}

// Pages of the segment resident in memory, seen through a mapping of our
// own: mincore on shared memory reports the segment's pages, whoever
// touched them.
absl::StatusOr<std::pair<size_t, size_t>> ResidentPages(int shm_id, size_t bytes) {
  void* base = shmat(shm_id, nullptr, SHM_RDONLY);
  if (base == reinterpret_cast<void*>(-1)) return absl::InternalError("shmat failed");
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  const int rc = mincore(base, bytes, vec.data());
  shmdt(base);
  if (rc != 0) return absl::InternalError("mincore failed");
  size_t resident = 0;
  for (unsigned char v : vec) resident += v & 1;
  return std::make_pair(resident, vec.size());
}

// Options::populate maps in the whole segment at open: pages no entry has
// touched yet are resident afterwards.
TEST(StoreBasic, PopulateMapsInTheWholeSegment) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = size_t{16} << 20;
  ASSERT_OK(store.Open(o));
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_OK_AND_ASSIGN(auto before, ResidentPages(info.shm_id, info.segment_bytes));
  EXPECT_LT(before.first, before.second / 2)
      << "a fresh store should not have its arena in memory yet";
  Options attach = SmallOptions();
  attach.populate = true;
  absl::StatusOr<std::unique_ptr<Store>> second =
      Store::Open(store.name(), attach, OpenMode::kAttach);
  ASSERT_OK(second.status());
  ASSERT_OK_AND_ASSIGN(auto after, ResidentPages(info.shm_id, info.segment_bytes));
  EXPECT_EQ(after.first, after.second);
  std::string v;
  ASSERT_OK((*second)->Get("k", &v));
  EXPECT_EQ(v, "v");
}

TEST(StoreBasic, TwoAttachmentsInOneProcess) {
  ScopedStore cleanup;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> a,
                       Store::Open(cleanup.name(), SmallOptions(), OpenMode::kCreate));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> b,
                       Store::Open(cleanup.name(), SmallOptions(), OpenMode::kAttach));
  // Two Store objects are two attachments, mapped at different addresses.
  EXPECT_EQ(CountAttachments(cleanup.key()), 2);
  ASSERT_OK_AND_ASSIGN(StoreInfo ia, a->Info());
  ASSERT_OK_AND_ASSIGN(StoreInfo ib, b->Info());
  EXPECT_EQ(ia.shm_id, ib.shm_id);

  for (int i = 0; i < 200; ++i) {
    const std::string k = absl::StrCat("via-a/", i);
    ASSERT_OK(a->Put(k, MakeValue(k, i, 50 + i)));
  }
  for (int i = 0; i < 200; ++i) {
    const std::string k = absl::StrCat("via-a/", i);
    std::string v;
    ASSERT_OK(b->Get(k, &v));
    EXPECT_OK(CheckValue(k, v));
  }
  ASSERT_OK(b->Put("via-b", "hello"));
  EXPECT_EQ(GetOrDie(a.get(), "via-b"), "hello");
  ASSERT_OK(a->Delete("via-b"));
  ASSERT_OK_AND_ASSIGN(bool has, b->Contains("via-b"));
  EXPECT_FALSE(has);

  // Dropping one attachment leaves the other working.
  a.reset();
  EXPECT_EQ(CountAttachments(cleanup.key()), 1);
  std::string v;
  ASSERT_OK(b->Get("via-a/7", &v));
  EXPECT_OK(CheckValue("via-a/7", v));
  b.reset();
  EXPECT_EQ(CountAttachments(cleanup.key()), 0);
}

TEST(StoreBasic, DestroyThenAttachIsNotFound) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK(store.Destroy());

  auto attached = Store::Open(store.name(), SmallOptions(), OpenMode::kAttach);
  EXPECT_TRUE(absl::IsNotFound(attached.status())) << attached.status();
  // Destroying what does not exist is NotFound too.
  absl::Status again = Store::Destroy(store.name());
  EXPECT_TRUE(absl::IsNotFound(again)) << again;
  // The name is free: a new, empty store can be created there.
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kCreate));
  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("k", &v)));
}

// An attachment to a destroyed store fails every operation (before the fix
// its writes succeeded into a segment nobody would ever see again).
TEST(StoreBasic, AttachmentFailsAfterDestroy) {
  ScopedStore cleanup;
  ASSERT_OK(cleanup.Open());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> old,
                       Store::Open(cleanup.name(), SmallOptions(), OpenMode::kAttach));
  ASSERT_OK(old->Put("before", "destroy"));
  ASSERT_OK(cleanup.Destroy());

  auto destroyed = [](const absl::Status& s) {
    return s.code() == absl::StatusCode::kFailedPrecondition && IsStoreDestroyed(s) &&
           absl::StrContains(s.message(), "store was destroyed; open it again");
  };
  std::string v;
  EXPECT_PRED1(destroyed, old->Get("before", &v));
  EXPECT_PRED1(destroyed, old->Put("after", "destroy"));
  EXPECT_PRED1(destroyed, old->Add("added", "x"));
  EXPECT_PRED1(destroyed, old->Delete("before"));
  EXPECT_PRED1(destroyed, old->Touch("before", absl::Seconds(1)));
  EXPECT_PRED1(destroyed, old->Increment("n", 1).status());
  EXPECT_PRED1(destroyed, old->Contains("before").status());
  EXPECT_PRED1(destroyed, old->GetOrCompute("c", [] { return std::string("x"); }).status());
  EXPECT_PRED1(destroyed, old->ForEach("", [](auto, auto, const auto&) { return true; }));
  EXPECT_PRED1(destroyed, old->Clear());
  EXPECT_PRED1(destroyed, old->FlushExpired().status());
  EXPECT_PRED1(destroyed, old->Size().status());
  EXPECT_PRED1(destroyed, old->Stats().status());
  EXPECT_PRED1(destroyed, old->Info().status());
  EXPECT_PRED1(destroyed, old->Check(false).status());

  // A new store at the same name is independent of it.
  ASSERT_OK(cleanup.Open(SmallOptions(), OpenMode::kCreate));
  EXPECT_TRUE(absl::IsNotFound(cleanup->Get("before", &v)));
  ASSERT_OK(cleanup->Put("new", "store"));
  EXPECT_PRED1(destroyed, old->Get("new", &v));
}

// IsStoreDestroyed tells a destroyed store from the other FailedPrecondition
// answers: a CompareAndSwap mismatch, a value that is not a number.
TEST(StoreBasic, DestroyedIsToldApartFromUnmetConditions) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  uint64_t version = 0;
  ASSERT_OK(store->Put("k", "text", {}, &version));
  const absl::Status mismatch = store->CompareAndSwap("k", version + 1, "x");
  EXPECT_TRUE(absl::IsFailedPrecondition(mismatch)) << mismatch;
  EXPECT_FALSE(IsStoreDestroyed(mismatch));
  const absl::Status not_a_number = store->Increment("k", 1).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(not_a_number)) << not_a_number;
  EXPECT_FALSE(IsStoreDestroyed(not_a_number));
  EXPECT_FALSE(IsStoreDestroyed(absl::OkStatus()));
  EXPECT_FALSE(IsStoreDestroyed(absl::FailedPreconditionError("store was destroyed")));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> old,
                       Store::Open(store.name(), SmallOptions(), OpenMode::kAttach));
  ASSERT_OK(store.Destroy());
  EXPECT_TRUE(IsStoreDestroyed(old->CompareAndSwap("k", version, "x")));
  EXPECT_TRUE(IsStoreDestroyed(old->Increment("k", 1).status()));
  std::vector<GetResult> results;
  const std::vector<absl::string_view> keys = {"k", "other"};
  EXPECT_TRUE(IsStoreDestroyed(old->GetMany(keys, &results)));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(IsStoreDestroyed(results[1].status)) << results[1].status;
}

TEST(StoreBasic, StoreNameParsingAndPaths) {
  auto zero = StoreName::FromKey(0);
  EXPECT_TRUE(absl::IsInvalidArgument(zero.status())) << zero.status();

  ASSERT_OK_AND_ASSIGN(StoreName parsed, StoreName::ParseKey("0x5f3e0001"));
  EXPECT_EQ(parsed.key(), 0x5f3e0001);
  EXPECT_EQ(parsed.ToString(), "key 0x5f3e0001");
  ASSERT_OK_AND_ASSIGN(StoreName decimal, StoreName::ParseKey("1234"));
  EXPECT_EQ(decimal.key(), 1234);
  for (const char* bad : {"", "0x", "zz", "0x5f3e0001junk", "12 34", " 1", "+1", "-1", "1 ", "0x+1",
                          "0x 1", "4294967296", "0x100000000"}) {
    auto r = StoreName::ParseKey(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << "'" << bad << "': " << r.status();
  }

  const std::string path = absl::StrCat(::testing::TempDir(), "shmkv_name_", getpid());
  std::ofstream(path) << "x";
  for (int bad_proj : {0, 256, -1}) {
    auto r = StoreName::FromPath(path, bad_proj);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad_proj << ": " << r.status();
  }
  auto missing = StoreName::FromPath(path + ".missing", 1);
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path + ".missing"));

  ASSERT_OK_AND_ASSIGN(StoreName by_path, StoreName::FromPath(path, 7));
  EXPECT_EQ(by_path.path(), path);
  EXPECT_EQ(by_path.proj_id(), 7);
  EXPECT_THAT(by_path.ToString(), HasSubstr(path));
  EXPECT_THAT(by_path.ToString(), HasSubstr(KeyHex(by_path.key())));

  // A store named by path works like one named by key; Info records the path.
  // (ftok keys are not from UniqueKey's range: skip if one happens to exist.)
  if (shmget(by_path.key(), 0, 0) < 0) {
    ScopedStore store(by_path);
    ASSERT_OK(store.Open());
    ASSERT_OK(store->Put("p", "q"));
    ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
    EXPECT_THAT(info.name, HasSubstr(path));
  }
  std::remove(path.c_str());
}

// ------------------------------------------------------------ error codes ---

TEST(StoreErrors, EmptyKeyIsInvalidArgument) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  std::string v;
  absl::Status s = store->Put("", "v");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("empty"));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Get("", &v)));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Delete("")));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Contains("").status()));
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 0u);
}

TEST(StoreErrors, KeyOverLimitIsInvalidArgument) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  const std::string too_long(kMaxKeySizeLimit + 1, 'k');
  absl::Status s = store->Put(too_long, "v");
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(std::string(s.message()), AnyOf(HasSubstr("4096"), HasSubstr("4097")));
  std::string v;
  s = store->Get(too_long, &v);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, 0u);
}

TEST(StoreErrors, ValueOverMaximumIsResourceExhausted) {
  ScopedStore store;
  Options o = SmallOptions();
  o.max_value_size = 5000;
  ASSERT_OK(store.Open(o));
  ASSERT_OK(store->Put("k", "old"));
  absl::Status s = store->Put("k", std::string(5001, 'v'));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("5000"));
  // The failed write changed nothing.
  EXPECT_EQ(GetOrDie(store.get(), "k"), "old");
  ASSERT_OK(store->Put("k", std::string(5000, 'v')));
}

TEST(StoreErrors, ValueLargerThanTheWholeStore) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 256 << 10;
  o.max_value_size = 1 << 20;  // over the capacity
  absl::Status opened = store.Open(o);
  if (!opened.ok()) {
    // Refusing the combination up front is fine if it says which option.
    EXPECT_TRUE(absl::IsInvalidArgument(opened) || absl::IsResourceExhausted(opened)) << opened;
    EXPECT_THAT(std::string(opened.message()),
                AnyOf(HasSubstr("max_value_size"), HasSubstr("capacity")));
    // A store that does open must refuse a value larger than itself.
    o.max_value_size = 64 << 10;
    ASSERT_OK(store.Open(o));
  }
  ASSERT_OK(store->Put("keep", "me"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  absl::Status s = store->Put("huge", std::string(info.capacity + 1, 'h'));
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat(info.max_value_size)));
  EXPECT_EQ(GetOrDie(store.get(), "keep"), "me");
  std::string v;
  EXPECT_TRUE(absl::IsNotFound(store->Get("huge", &v)));
}

TEST(StoreErrors, BadOptionsAreInvalidArgument) {
  const StoreName name = UniqueStoreName();
  ScopedStore cleanup(name);

  Options zero = SmallOptions();
  zero.capacity_bytes = 0;
  auto r = Store::Open(name, zero, OpenMode::kCreate);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("Options::capacity_bytes"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("--capacity")));

  Options big_key = SmallOptions();
  big_key.max_key_size = kMaxKeySizeLimit + 1;
  r = Store::Open(name, big_key, OpenMode::kCreate);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("4096"));

  Options huge = SmallOptions();
  huge.capacity_bytes = kMaxSegmentBytes + 1;
  r = Store::Open(name, huge, OpenMode::kCreate);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()) || absl::IsResourceExhausted(r.status()))
      << r.status();

  // None of the refused opens left anything behind.
  EXPECT_LT(shmget(name.key(), 0, 0), 0);
  auto attach = Store::Open(name, SmallOptions(), OpenMode::kAttach);
  EXPECT_TRUE(absl::IsNotFound(attach.status())) << attach.status();
}

// Creates a plain SysV segment (not a shmkv store) and removes it at scope end.
class ForeignSegment {
 public:
  ForeignSegment(key_t key, size_t bytes) {
    id_ = shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600);
    if (id_ < 0) return;
    void* p = shmat(id_, nullptr, 0);
    if (p == reinterpret_cast<void*>(-1)) return;
    addr_ = static_cast<unsigned char*>(p);
    bytes_ = bytes;
  }
  ~ForeignSegment() {
    if (addr_ != nullptr) shmdt(addr_);
    if (id_ >= 0) shmctl(id_, IPC_RMID, nullptr);
  }
  bool ok() const { return addr_ != nullptr; }
  unsigned char* data() { return addr_; }
  size_t size() const { return bytes_; }

 private:
  int id_ = -1;
  unsigned char* addr_ = nullptr;
  size_t bytes_ = 0;
};

TEST(StoreErrors, ForeignSegmentIsFailedPrecondition) {
  testutil::TestRng gen(5);
  struct Case {
    size_t bytes;
    bool random;
  };
  for (const Case& c :
       {Case{64, false}, Case{1 << 20, false}, Case{1 << 20, true}, Case{4096, true}}) {
    SCOPED_TRACE(absl::StrCat(c.bytes, " bytes, ", c.random ? "random" : "zero"));
    const StoreName name = UniqueStoreName();
    ScopedStore cleanup(name);
    ForeignSegment foreign(name.key(), c.bytes);
    ASSERT_TRUE(foreign.ok()) << strerror(errno);
    if (c.random) {
      for (size_t i = 0; i < c.bytes; ++i)
        foreign.data()[i] = static_cast<char>(gen.Uniform(0, 256));
    }
    const std::vector<unsigned char> before(foreign.data(), foreign.data() + c.bytes);

    for (OpenMode mode : {OpenMode::kAttach, OpenMode::kOpenOrCreate}) {
      auto r = Store::Open(name, SmallOptions(), mode);
      ASSERT_FALSE(r.ok());
      EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
      EXPECT_THAT(std::string(r.status().message()), HasSubstr(KeyHex(name.key())));
    }
    // The segment belongs to someone else: it was neither changed nor removed.
    EXPECT_TRUE(std::equal(before.begin(), before.end(), foreign.data()));
    EXPECT_GE(shmget(name.key(), 0, 0), 0);
    absl::Status d = Store::Destroy(name);
    EXPECT_FALSE(d.ok()) << "Destroy removed a segment that is not a shmkv store";
    EXPECT_GE(shmget(name.key(), 0, 0), 0);
  }
}

// A store's bytes copied into a segment at another key: Info reports the key
// it was opened at (what ipcs shows), and warns that the header names
// another.
TEST(StoreBasic, InfoOfACopiedSegmentNamesTheKeyItWasOpenedAt) {
  ScopedStore original;
  ASSERT_OK(original.Open());
  ASSERT_OK(original->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, original->Info());
  const StoreName copy_name = UniqueStoreName();
  ScopedStore cleanup(copy_name);
  {
    ForeignSegment copy(copy_name.key(), info.segment_bytes);
    ASSERT_TRUE(copy.ok()) << strerror(errno);
    void* from = shmat(info.shm_id, nullptr, SHM_RDONLY);
    ASSERT_NE(from, reinterpret_cast<void*>(-1));
    std::memcpy(copy.data(), from, info.segment_bytes);
    shmdt(from);
    auto opened = Store::Open(copy_name, SmallOptions(), OpenMode::kAttach);
    ASSERT_OK(opened.status());
    std::string v;
    ASSERT_OK((*opened)->Get("k", &v));
    EXPECT_EQ(v, "v");
    ASSERT_OK_AND_ASSIGN(StoreInfo copied, (*opened)->Info());
    EXPECT_EQ(copied.key, copy_name.key());
    EXPECT_EQ(copied.name, info.name);
    EXPECT_THAT(absl::StrJoin(copied.warnings, "\n"),
                ::testing::AllOf(HasSubstr(info.name), HasSubstr(KeyHex(copy_name.key()))));
    // The original has no such warning.
    for (const std::string& w : info.warnings) EXPECT_THAT(w, ::testing::Not(HasSubstr("copied")));
  }
}

TEST(StoreErrors, ModeRefusesOtherUsers) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another uid";
  constexpr uid_t kNobody = 65534;

  ScopedStore closed;  // 0600: only the owner
  ASSERT_OK(closed.Open());
  ASSERT_OK(closed->Put("secret", "v"));
  Options open_mode = SmallOptions();
  open_mode.mode = 0666;
  ScopedStore open;  // 0666, but created by root
  ASSERT_OK(open.Open(open_mode));
  ASSERT_OK(open->Put("shared", "v"));

  const StoreName closed_name = closed.name(), open_name = open.name();
  const int status = RunInChild([&]() -> int {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) return 90;
    Options o = SmallOptions();
    o.allow_foreign_owner = true;
    // The kernel refuses the 0600 segment to another uid.
    auto r = Store::Open(closed_name, o, OpenMode::kAttach);
    CHILD_CHECK_CODE(r, absl::StatusCode::kPermissionDenied, 1);
    const std::string msg(r.status().message());
    CHILD_CHECK(msg.find(KeyHex(closed_name.key())) != std::string::npos, 2);
    r = Store::Open(closed_name, o, OpenMode::kOpenOrCreate);
    CHILD_CHECK_CODE(r, absl::StatusCode::kPermissionDenied, 3);

    // A 0666 segment created by root is refused unless allow_foreign_owner.
    o.allow_foreign_owner = false;
    r = Store::Open(open_name, o, OpenMode::kAttach);
    CHILD_CHECK_CODE(r, absl::StatusCode::kPermissionDenied, 4);
    CHILD_CHECK(
        std::string(r.status().message()).find("allow_foreign_owner") != std::string::npos ||
            std::string(r.status().message()).find("uid") != std::string::npos,
        5);
    o.allow_foreign_owner = true;
    r = Store::Open(open_name, o, OpenMode::kAttach);
    CHILD_CHECK_OK(r, 6);
    std::string v;
    CHILD_CHECK_OK((*r)->Get("shared", &v), 7);
    CHILD_CHECK(v == "v", 8);
    CHILD_CHECK_OK((*r)->Put("from-nobody", "hi"), 9);
    // Destroy by a process that may not remove it.
    CHILD_CHECK_CODE(Store::Destroy(closed_name), absl::StatusCode::kPermissionDenied, 10);
    return 0;
  });
  EXPECT_EQ(status, 0) << testutil::DescribeExit(status);
  EXPECT_EQ(GetOrDie(open.get(), "from-nobody"), "hi");
  EXPECT_EQ(GetOrDie(closed.get(), "secret"), "v");
}

TEST(StoreErrors, FullStoreWithoutEvictionIsResourceExhausted) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 256 << 10;
  o.max_value_size = 2048;
  o.evict = false;
  ASSERT_OK(store.Open(o));

  std::vector<std::string> stored;
  absl::Status full;
  for (int i = 0; i < 1000; ++i) {
    const std::string k = absl::StrCat("fill/", i);
    absl::Status s = store->Put(k, MakeValue(k, i, 1024));
    if (!s.ok()) {
      full = s;
      break;
    }
    stored.push_back(k);
  }
  ASSERT_FALSE(full.ok()) << "1000 KiB went into a 256 KiB store without eviction";
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_THAT(std::string(full.message()), AnyOf(HasSubstr("full"), HasSubstr("evict")));
  EXPECT_GT(stored.size(), 50u) << "gave up long before the capacity was used";

  // Keep trying other keys (other stripes may have room); nothing is lost.
  int refused = 1;
  for (int i = 1000; i < 1400; ++i) {
    const std::string k = absl::StrCat("fill/", i);
    absl::Status s = store->Put(k, MakeValue(k, i, 1024));
    if (s.ok()) {
      stored.push_back(k);
    } else {
      EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
      ++refused;
    }
  }
  EXPECT_GT(refused, 100);
  for (const std::string& k : stored) {
    std::string v;
    ASSERT_OK(store->Get(k, &v)) << k;
    EXPECT_OK(CheckValue(k, v));
  }
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, stored.size());
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
  EXPECT_EQ(stats.evictions, 0u);

  // Deleting every other entry makes room again.
  size_t freed = 0;
  for (size_t i = 0; i < stored.size(); i += 2, ++freed) ASSERT_OK(store->Delete(stored[i]));
  for (size_t i = 0; i < freed / 4; ++i) {
    const std::string k = absl::StrCat("again/", i);
    EXPECT_OK(store->Put(k, MakeValue(k, i, 1024))) << k << " " << StatsLine(store.get());
  }
  for (size_t i = 1; i < stored.size(); i += 2) {
    std::string v;
    ASSERT_OK(store->Get(stored[i], &v)) << stored[i];
    EXPECT_OK(CheckValue(stored[i], v));
  }
}

// A full store without eviction still takes overwrites that need no more
// room than the entries they replace (it must not turn read-only for
// updates), round after round as its logs wrap; a larger value is refused
// and loses nothing.
TEST(StoreErrors, FullStoreWithoutEvictionTakesSameSizeOverwrites) {
  for (uint32_t stripes : {1u, 4u}) {
    SCOPED_TRACE(absl::StrCat(stripes, " stripes"));
    ScopedStore store;
    Options o = SmallOptions();
    o.capacity_bytes = 256 << 10;
    o.max_value_size = 2048;
    o.lock_stripes = stripes;
    o.evict = false;
    ASSERT_OK(store.Open(o));
    std::vector<std::string> stored;
    for (int i = 0; i < 1000; ++i) {
      const std::string k = absl::StrCat("fill/", i);
      if (!store->Put(k, MakeValue(k, i, 1024)).ok()) continue;
      stored.push_back(k);
    }
    ASSERT_GT(stored.size(), 50u);
    ASSERT_LT(stored.size(), 1000u) << "the store never filled up";
    for (int round = 1; round <= 4; ++round) {
      for (const std::string& k : stored) {
        ASSERT_OK(store->Put(k, MakeValue(k, 1000 * round, 1024)))
            << "round " << round << ", " << k << " " << StatsLine(store.get());
      }
    }
    // Smaller values free room; a value larger than what it replaces only
    // fits if that room is there.
    const std::string& first = stored.front();
    ASSERT_OK(store->Put(first, MakeValue(first, 7, 900)));
    ASSERT_OK(store->Put(first, MakeValue(first, 8, 1024)));
    int refused = 0;
    for (const std::string& k : stored) {
      absl::Status s = store->Put(k, MakeValue(k, 9, 2000));
      if (!s.ok()) {
        EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
        ++refused;
      }
    }
    EXPECT_GT(refused, 0) << "a full store took every value twice as large";
    for (const std::string& k : stored) {
      std::string v;
      ASSERT_OK(store->Get(k, &v)) << k;
      EXPECT_OK(CheckValue(k, v));
    }
    ASSERT_OK_AND_ASSIGN(StoreStats stats, store->Stats());
    EXPECT_EQ(stats.evictions, 0u);
    EXPECT_EQ(stats.items, stored.size());
    ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
    EXPECT_TRUE(report.ok) << absl::StrJoin(report.problems, "\n");
  }
}

// Without eviction, compaction must never run short of room: random-size
// overwrites of a store whose live data fits all succeed, and once the store
// is full, overwrites that need no more room than what they replace still
// do. (A write that ate into the reserve once left compaction unable to move
// a live record at the tail, and every later write failed.)
TEST(StoreErrors, WithoutEvictionCompactionNeverRunsShort) {
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 4 << 20;
  o.max_value_size = 4096;
  o.lock_stripes = 16;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  testutil::TestRng rng(17);
  std::map<std::string, size_t> sizes;
  for (int i = 0; i < 100000; ++i) {
    const std::string k = absl::StrCat("k/", rng.Uniform(0, 800));
    const size_t n = rng.Uniform(1, 4097);
    ASSERT_OK(store->Put(k, std::string(n, 'a'))) << "put #" << i << " " << StatsLine(store.get());
    sizes[k] = n;
  }
  for (int i = 0; i < 100000; ++i) {
    const std::string k = absl::StrCat("more/", i);
    const size_t n = rng.Uniform(1, 4097);
    if (!store->Put(k, std::string(n, 'b')).ok()) continue;
    sizes[k] = n;
  }
  ASSERT_OK_AND_ASSIGN(StoreStats full, store->Stats());
  ASSERT_GT(full.bytes_used, full.capacity / 2) << "the store never filled up";
  std::vector<std::string> keys;
  for (const auto& [k, n] : sizes) keys.push_back(k);
  for (int i = 0; i < 100000; ++i) {
    const std::string& k = keys[rng.Uniform<size_t>(0, keys.size())];
    const size_t n = rng.Uniform<size_t>(1, sizes[k] + 1);
    ASSERT_OK(store->Put(k, std::string(n, 'c')))
        << "overwrite #" << i << " of " << k << " (" << sizes[k] << " -> " << n << " bytes) "
        << StatsLine(store.get());
    sizes[k] = n;
  }
  ASSERT_OK_AND_ASSIGN(StoreStats after, store->Stats());
  EXPECT_EQ(after.items, sizes.size());
  EXPECT_EQ(after.evictions, 0u);
}

TEST(StoreErrors, LockedOutIsUnavailableNamingTheHolder) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("held", "v"));
  testutil::PipeEvent holding;
  const StoreName name = store.name();
  testutil::ChildProcess holder([&]() -> int {
    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 1);
    // View's callback runs with the stripe lock held.
    CHILD_CHECK_OK((*s)->View("held",
                              [&](absl::string_view, const EntryMeta&) {
                                holding.Notify();
                                absl::SleepFor(absl::Seconds(3));
                              }),
                   2);
    return 0;
  });
  ASSERT_TRUE(holding.WaitFor(absl::Seconds(10)));
  const absl::Time held_since = absl::Now();

  Options impatient = SmallOptions();
  impatient.lock_timeout = absl::Milliseconds(300);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> waiter,
                       Store::Open(name, impatient, OpenMode::kAttach));
  absl::Time start = absl::Now();
  absl::Status s = waiter->Put("held", "w");
  absl::Duration waited = absl::Now() - start;
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat(holder.pid())));
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Milliseconds(2500));

  // A patient writer waits for the holder (about 3 s in all), then succeeds,
  // and the wait is counted.
  ASSERT_OK_AND_ASSIGN(StoreStats before, store->Stats());
  Options patient = SmallOptions();
  patient.lock_timeout = absl::Seconds(20);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> queued,
                       Store::Open(name, patient, OpenMode::kAttach));
  ASSERT_OK(queued->Put("held", "w"));
  EXPECT_GE(absl::Now() - held_since, absl::Seconds(2));
  EXPECT_EQ(holder.Wait(), 0);
  EXPECT_EQ(GetOrDie(store.get(), "held"), "w");
  ASSERT_OK_AND_ASSIGN(StoreStats after, store->Stats());
  EXPECT_GE(after.lock_waits, before.lock_waits + 1);
}

// Someone removes the store's semaphore set (ipcrm -s): only opening and
// destroying use it, so an attached process reads, checks and clears as
// before, one stripe's lock at a time.
TEST(StoreErrors, RemovedSemaphoreSetLeavesAttachedProcessesWorking) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  ASSERT_OK(store->Put("k", "v"));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  ASSERT_GE(info.sem_id, 0);
  ASSERT_EQ(semctl(info.sem_id, 0, IPC_RMID), 0) << strerror(errno);

  EXPECT_EQ(GetOrDie(store.get(), "k"), "v");
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok);
  EXPECT_OK(store->Clear());
  ASSERT_OK_AND_ASSIGN(uint64_t items, store->Size());
  EXPECT_EQ(items, 0u);
}

// Corrupts records in the segment behind the store's back. The store must not
// crash or return wrong data: reads give the right value, NotFound or
// DataLoss; Check finds the damage and Check(true) repairs it.
TEST(StoreErrors, CorruptionIsDetectedAndRepaired) {
  ScopedStore store;
  ASSERT_OK(store.Open());
  constexpr int kKeys = 200;
  auto key_of = [](int i) { return absl::StrCat("corruption-target/", 100000 + i, "/k"); };
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(store->Put(key_of(i), MakeValue(key_of(i), i, 200 + i)));
  }
  ASSERT_OK_AND_ASSIGN(CheckReport clean, store->Check(false));
  EXPECT_TRUE(clean.ok);
  EXPECT_TRUE(clean.problems.empty());
  EXPECT_EQ(clean.entries_checked, static_cast<uint64_t>(kKeys));
  ASSERT_OK_AND_ASSIGN(StoreInfo info, store->Info());
  const int shm_id = info.shm_id;
  const StoreName name = store.name();
  store.Detach();

  // In a child: a crash there is a failed test, not a dead test binary.
  const int status = RunInChild([&]() -> int {
    void* base = shmat(shm_id, nullptr, 0);
    CHILD_CHECK(base != reinterpret_cast<void*>(-1), 1);
    char* seg = static_cast<char*>(base);
    const absl::string_view all(seg, info.segment_bytes);
    // Damage every 20th record: its key bytes and its 28-byte header
    // (layout v2) before them.
    int damaged = 0;
    for (int i = 0; i < kKeys; i += 20) {
      const std::string k = key_of(i);
      size_t at = all.find(k);
      if (at == absl::string_view::npos || at < 28) continue;
      std::memset(seg + at - 28, 0xA5, 28);
      seg[at + 3] ^= 0x5a;
      ++damaged;
    }
    if (damaged == 0) return 77;  // keys not stored verbatim: cannot aim
    shmdt(base);

    auto s = Store::Open(name, SmallOptions(), OpenMode::kAttach);
    CHILD_CHECK_OK(s, 2);
    Store& st = **s;
    for (int i = 0; i < kKeys; ++i) {
      std::string v;
      absl::Status g = st.Get(key_of(i), &v);
      if (g.ok()) {
        CHILD_CHECK_OK(CheckValue(key_of(i), v), 3);
      } else {
        if (!absl::IsNotFound(g) && !absl::IsDataLoss(g)) {
          std::fprintf(stderr, "Get(%s) on a damaged store: %s\n", key_of(i).c_str(),
                       g.ToString().c_str());
          return 4;
        }
      }
    }
    auto report = st.Check(false);
    CHILD_CHECK_OK(report, 5);
    CHILD_CHECK(!report->ok, 6);
    CHILD_CHECK(!report->problems.empty(), 7);
    auto repaired = st.Check(true);
    CHILD_CHECK_OK(repaired, 8);
    CHILD_CHECK(!repaired->repairs.empty(), 9);
    CHILD_CHECK(repaired->entries_dropped >= 1, 10);
    auto after = st.Check(false);
    CHILD_CHECK_OK(after, 11);
    CHILD_CHECK(after->ok, 12);
    return 0;
  });
  if (status == 77) GTEST_SKIP() << "keys are not stored verbatim in the segment";
  ASSERT_EQ(status, 0) << testutil::DescribeExit(status);

  // After the repair: every key reads back right or is gone, most survive,
  // and the store works normally.
  ASSERT_OK(store.Open(SmallOptions(), OpenMode::kAttach));
  int survivors = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string v;
    absl::Status g = store->Get(key_of(i), &v);
    if (g.ok()) {
      ++survivors;
      EXPECT_OK(CheckValue(key_of(i), v));
    } else {
      EXPECT_TRUE(absl::IsNotFound(g)) << g;
    }
  }
  EXPECT_GE(survivors, kKeys / 2);
  ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
  EXPECT_EQ(size, static_cast<uint64_t>(survivors));
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(store->Put(key_of(i), MakeValue(key_of(i), 1000 + i, 300)));
  }
  for (int i = 0; i < kKeys; ++i) {
    std::string v;
    ASSERT_OK(store->Get(key_of(i), &v));
    ASSERT_OK_AND_ASSIGN(uint64_t seq, CheckValue(key_of(i), v));
    EXPECT_EQ(seq, static_cast<uint64_t>(1000 + i));
  }
  ASSERT_OK_AND_ASSIGN(CheckReport final_report, store->Check(false));
  EXPECT_TRUE(final_report.ok);
}

// ------------------------------------------------------------- allocator ---

// Writes and deletes ten times the capacity in a store that may not evict:
// space must be reused, so no write fails and nothing stays allocated.
// One run with a fixed seed, so that a failure reproduces exactly.
void PutDeleteCycles(uint32_t seed) {
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  ScopedStore store;
  Options o = SmallOptions();
  o.capacity_bytes = 1 << 20;
  o.max_value_size = 4096;
  o.evict = false;
  ASSERT_OK(store.Open(o));
  ASSERT_OK_AND_ASSIGN(StoreStats start, store->Stats());

  testutil::TestRng gen(seed);
  uint64_t written = 0;
  uint64_t seq = 0;
  const uint64_t target = 10 * start.capacity;
  int round = 0;
  // Phase 1: batches of up to 1/8 of the capacity, written then deleted.
  while (written < target / 2) {
    std::vector<std::string> keys;
    uint64_t batch = 0;
    while (batch < start.capacity / 8) {
      const std::string k = absl::StrCat("batch/", round, "/", keys.size());
      const size_t len = gen.Uniform<size_t>(32, 4097);
      ASSERT_OK(store->Put(k, MakeValue(k, ++seq, len)))
          << "after " << written << " bytes " << StatsLine(store.get());
      keys.push_back(k);
      batch += len + k.size();
    }
    written += batch;
    // Delete in a scrambled order so that holes appear everywhere.
    std::shuffle(keys.begin(), keys.end(), gen.engine());
    for (const std::string& k : keys) ASSERT_OK(store->Delete(k));
    ASSERT_OK_AND_ASSIGN(uint64_t size, store->Size());
    ASSERT_EQ(size, 0u);
    ++round;
  }
  // Phase 2: a live set of 48 keys rewritten with ever-changing sizes.
  std::map<std::string, uint64_t> live;
  while (written < target) {
    const std::string k = absl::StrCat("churn/", gen.Uniform(0, 48));
    const size_t len = gen.Uniform<size_t>(32, 4097);
    if (gen.Bernoulli(0.2)) {
      absl::Status d = store->Delete(k);
      ASSERT_TRUE(d.ok() || absl::IsNotFound(d)) << d;
      live.erase(k);
      continue;
    }
    ASSERT_OK(store->Put(k, MakeValue(k, ++seq, len)))
        << "after " << written << " bytes " << StatsLine(store.get());
    live[k] = seq;
    written += len + k.size();
  }
  for (const auto& [k, want] : live) {
    std::string v;
    ASSERT_OK(store->Get(k, &v));
    ASSERT_OK_AND_ASSIGN(uint64_t got, CheckValue(k, v));
    EXPECT_EQ(got, want);
    ASSERT_OK(store->Delete(k));
  }

  ASSERT_OK_AND_ASSIGN(StoreStats end, store->Stats());
  EXPECT_EQ(end.items, 0u);
  EXPECT_EQ(end.key_bytes, 0u);
  EXPECT_EQ(end.value_bytes, 0u);
  EXPECT_EQ(end.bytes_used, start.bytes_used) << "space not returned after deleting everything";
  EXPECT_EQ(end.evictions, 0u);
  ASSERT_OK_AND_ASSIGN(CheckReport report, store->Check(false));
  EXPECT_TRUE(report.ok) << (report.problems.empty() ? "" : report.problems[0]);
}

TEST(StoreAllocator, PutDeleteCyclesReuseSpace) {
  for (uint32_t seed : {1u, 2u, 3u}) PutDeleteCycles(seed);
}

}  // namespace
}  // namespace shmkv
