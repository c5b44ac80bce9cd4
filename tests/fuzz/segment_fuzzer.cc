// libFuzzer target: a store image in private memory, populated, then
// scribbled on by the fuzzer's bytes, then driven through gets, puts (one
// at a time and batched), deletes, iteration and Check(repair). Any crash,
// hang, or access outside the image (the image is its own heap block, so
// ASan sees overruns) is a bug. The stripe mutexes are re-initialised after scribbling:
// robust-mutex bookkeeping lives in the segment and is trusted (doc/security.md).
//
// Input: a sequence of 4-byte records {offset (3 bytes, little-endian), value}
// applied as single-byte writes; the bytes left over pick the operations.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kv/internal/geometry.h"
#include "kv/internal/layout.h"
#include "kv/internal/segment_store.h"
#include "kv/platform/robust_mutex.h"
#include "shmkv/clock.h"

namespace {

using shmkv::internal::Geometry;

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<char, FreeDeleter>;

// Segments are page-aligned; so are these images.
AlignedBuffer NewImage(size_t bytes) {
  return AlignedBuffer(static_cast<char*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096)));
}

struct Image {
  Geometry geometry;
  AlignedBuffer pristine;
};

const Image& BuildPristine() {
  static const Image* image = [] {
    shmkv::Options options;
    options.capacity_bytes = 64 << 10;
    options.max_key_size = 64;
    options.max_value_size = 1024;
    options.lock_stripes = 4;
    options.expected_items = 64;
    auto* built = new Image;
    built->geometry = *shmkv::internal::PlanGeometry(options);
    built->pristine = NewImage(built->geometry.segment_bytes);
    std::memset(built->pristine.get(), 0, built->geometry.segment_bytes);
    shmkv::internal::CreatorRecord creator;
    creator.key = 0x1234;
    (void)shmkv::internal::InitializeImage(built->pristine.get(), built->geometry, creator);
    static shmkv::ManualClock clock(1000000);
    options.clock = &clock;
    shmkv::internal::SegmentStore segment(built->pristine.get(), built->geometry, -1, -1, options,
                                          nullptr);
    shmkv::Store& store = segment;
    for (int i = 0; i < 300; ++i) {
      shmkv::WriteOptions write;
      if (i % 5 == 0) write.ttl = absl::Seconds(i % 3 + 1);
      (void)store.Put(absl::StrCat("key", i), std::string(i * 7 % 700, 'v'), write);
      if (i % 7 == 0) (void)store.Delete(absl::StrCat("key", i / 2));
    }
    return built;
  }();
  return *image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Image& pristine = BuildPristine();
  const Geometry& g = pristine.geometry;
  AlignedBuffer image = NewImage(g.segment_bytes);
  std::memcpy(image.get(), pristine.pristine.get(), g.segment_bytes);

  size_t pos = 0;
  size_t writes = size / 2 / 4;
  for (size_t i = 0; i < writes; ++i, pos += 4) {
    uint32_t offset = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16);
    image.get()[offset % g.segment_bytes] = static_cast<char>(data[pos + 3]);
  }

  absl::StatusOr<Geometry> geometry =
      shmkv::internal::ValidateImage(image.get(), g.segment_bytes, "fuzzed image");
  if (!geometry.ok()) return 0;
  auto* stripes =
      reinterpret_cast<shmkv::internal::Stripe*>(image.get() + geometry->stripe_table_offset);
  for (uint32_t i = 0; i < geometry->stripe_count; ++i) {
    shmkv::platform::InitRobustMutex(&stripes[i].mutex);
  }

  static shmkv::ManualClock clock(1000000);
  shmkv::Options options;
  options.clock = &clock;
  options.lock_timeout = absl::Milliseconds(10);
  shmkv::internal::SegmentStore segment(image.get(), *geometry, -1, -1, options, nullptr);
  shmkv::Store& store = segment;
  std::string value;
  std::vector<shmkv::GetResult> results;
  std::vector<shmkv::PutResult> put_results;
  for (; pos < size; ++pos) {
    const uint8_t op = data[pos];
    const std::string key = absl::StrCat("key", op % 64 * 5);
    switch (op % 8) {
      case 0:
        if (op & 0x80) {  // a batch over several stripes, a repeat and a bad key
          const std::string other = absl::StrCat("key", (op + 7) % 64 * 5);
          const absl::string_view keys[] = {key, other, "", key, "key1"};
          (void)store.GetMany(keys, &results);
        } else {
          (void)store.Get(key, &value);
        }
        break;
      case 1:
        if (op & 0x80) {
          const std::string other = absl::StrCat("key", (op + 11) % 64 * 5);
          const std::string v(op * 3, 'q');
          shmkv::WriteOptions if_absent;
          if_absent.condition = shmkv::WriteCondition::kIfAbsent;
          const shmkv::PutItem items[] = {{key, v}, {other, v, &if_absent}, {key, "", nullptr}};
          (void)store.PutMany(items, {}, &put_results);
        } else {
          (void)store.Put(key, std::string(op * 3, 'p'));
        }
        break;
      case 2:
        (void)store.Delete(key);
        break;
      case 3:
        (void)store.ForEach("key1", [](absl::string_view, absl::string_view,
                                       const shmkv::EntryMeta&) { return true; });
        break;
      case 4:
        (void)store.Check(op & 0x10);
        break;
      case 5:
        (void)store.Increment(key, 1);
        break;
      case 6:
        clock.Advance(700);
        (void)store.FlushExpired();
        break;
      case 7:
        (void)store.Stats();
        (void)store.Size();
        break;
    }
  }
  (void)store.Check(true);
  // After repair, the store must be fully usable and consistent.
  for (int i = 0; i < 50; ++i) (void)store.Put(absl::StrCat("after", i), std::string(i * 13, 'a'));
  absl::StatusOr<shmkv::CheckReport> report = store.Check(false);
  if (report.ok() && !report->ok) {
    std::fprintf(stderr, "check after repair still finds problems: %s\n",
                 report->problems[0].c_str());
    __builtin_trap();
  }
  return 0;
}
