// Single-store behaviour: the data operations, binary keys and values, open
// modes, attachments, information about the store, and destroying it.
// Error codes are in store_errors_test.cc, the allocator in
// store_allocator_test.cc.
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
using ::shmkv::testutil::ForeignSegment;
using ::shmkv::testutil::GetOrDie;
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
  EXPECT_EQ(info.layout_version, 4u);
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

}  // namespace
}  // namespace shmkv
