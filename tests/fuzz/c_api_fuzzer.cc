// libFuzzer target over the C API's argument space: every call with NULL,
// closed, doubly closed and stale (copied before the close) handles; NULL
// pointers with sizes; sizes no object has (SIZE_MAX, PTRDIFF_MAX + 1) and
// sizes over the store's limits; NaN, negative, tiny and huge TTLs; bad
// modes, conditions, cursors and struct sizes. Every call must return a
// status code of shmkv.h (INVALID_ARGUMENT for a handle that is not open and
// for an impossible size), and nothing may crash, hang or leak.
//
// The calls run on one real store at a key of the IPC guard's range, made
// on first use and destroyed at exit.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "shmkv/shmkv.h"
#include "testing/c_guard.h"

namespace {

// The input as a stream of choices; zeros once it is used up.
class Choices {
 public:
  Choices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t Pick(uint32_t n) { return Byte() % n; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

shmkv_key_t store_key = 0;

void DestroyStore() { (void)shmkv_destroy_key(store_key, nullptr); }

shmkv_key_t StoreKey() {
  if (store_key == 0) {
    store_key = shmkv_test_key("c_api_fuzzer");
    shmkv_options* o = shmkv_options_create();
    shmkv_options_set_capacity(o, 1 << 20);
    shmkv_options_set_max_key_size(o, 64);
    shmkv_options_set_max_value_size(o, 1024);
    shmkv_store* s = nullptr;
    if (shmkv_open_key(store_key, o, SHMKV_CREATE, &s, nullptr) != SHMKV_OK) std::abort();
    shmkv_close(&s);
    shmkv_options_destroy(o);
    std::atexit(DestroyStore);
  }
  return store_key;
}

void Require(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsStatus(shmkv_status s) {
  return (s >= SHMKV_OK && s <= SHMKV_DATA_LOSS) || s == SHMKV_BUFFER_TOO_SMALL ||
         s == SHMKV_STORE_DESTROYED;
}

constexpr size_t kImpossible[] = {SIZE_MAX, static_cast<size_t>(PTRDIFF_MAX) + 1};
char big[4096];  // larger than the store's maximum key and value

// A byte string: real bytes, the empty string, NULL with a size, a size no
// object has, or one over the store's limits. *impossible says whether the
// call must fail with INVALID_ARGUMENT for it.
const void* Bytes(Choices& in, size_t* size, bool* impossible) {
  static const char kText[] = "k0k1k2k3k4k5k6k7";
  switch (in.Pick(6)) {
    case 0:
      *size = 0;
      return nullptr;
    case 1:
      *size = 1 + in.Pick(4);
      *impossible = true;
      return nullptr;
    case 2:
      *size = kImpossible[in.Pick(2)];
      *impossible = true;
      return kText;
    case 3:
      *size = sizeof big - in.Pick(8);
      return big;
    default:
      *size = 1 + in.Pick(sizeof kText - 1);
      return kText;
  }
}

double Seconds(Choices& in) {
  constexpr double kChoices[] = {0,     SHMKV_TTL_NEVER, -5, NAN,   INFINITY, -INFINITY,
                                 1e-12, 0.0005,          30, 1e300, -0.0};
  return kChoices[in.Pick(sizeof kChoices / sizeof kChoices[0])];
}

int Visit(void* context, const void*, size_t, const void*, size_t, const shmkv_meta*) {
  return context != nullptr;
}

int Compute(void* context, shmkv_value_sink* sink) {
  Choices& in = *static_cast<Choices*>(context);
  size_t size = 0;
  bool impossible = false;
  const void* value = Bytes(in, &size, &impossible);
  const shmkv_status s = shmkv_value_sink_set(in.Pick(8) == 0 ? nullptr : sink, value, size);
  Require(IsStatus(s));
  return in.Pick(4) == 0 ? static_cast<int>(in.Byte()) - 100 : s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Choices in(data, size);
  shmkv_store* open = nullptr;
  if (shmkv_open_key(StoreKey(), nullptr, SHMKV_ATTACH, &open, nullptr) != SHMKV_OK) std::abort();
  shmkv_store* copy = open;  // stale once `open` is closed
  bool closed = false;
  for (int step = 0; step < 64 && !in.empty(); ++step) {
    shmkv_store* handles[] = {open, copy, nullptr};
    shmkv_store* h = handles[in.Pick(3)];
    size_t key_size = 0, value_size = 0;
    bool bad_key = false, bad_value = false;
    const void* key = Bytes(in, &key_size, &bad_key);
    const void* value = Bytes(in, &value_size, &bad_value);
    // Whether the call must be INVALID_ARGUMENT: set for what each call takes.
    bool must_fail = h == nullptr || closed;
    char buf[64];
    size_t n = 0;
    const uint32_t op = in.Pick(16);
    shmkv_status s = SHMKV_OK;
    switch (op) {
      case 0:
        must_fail |= bad_key || bad_value;
        s = shmkv_put(h, key, key_size, value, value_size, Seconds(in), in.Byte(), nullptr,
                      nullptr);
        break;
      case 1:
        must_fail |= bad_key;
        s = shmkv_get(h, key, key_size, in.Pick(4) == 0 ? nullptr : buf, in.Pick(2) * sizeof buf,
                      in.Pick(8) == 0 ? nullptr : &n, nullptr, nullptr);
        break;
      case 2: {
        must_fail |= bad_key;
        int found;
        s = shmkv_contains(h, key, key_size, in.Pick(8) == 0 ? nullptr : &found, nullptr);
        break;
      }
      case 3:
        must_fail |= bad_key;
        s = shmkv_delete(h, key, key_size, nullptr);
        break;
      case 4: {
        must_fail |= bad_key;
        int64_t r;
        s = shmkv_incr(h, key, key_size, static_cast<int8_t>(in.Byte()), 0, in.Pick(2), Seconds(in),
                       &r, nullptr);
        break;
      }
      case 5:
        must_fail |= bad_key;
        s = shmkv_touch(h, key, key_size, Seconds(in), nullptr);
        break;
      case 6:
        must_fail |= bad_key || bad_value;
        s = shmkv_cas(h, key, key_size, in.Byte(), value, value_size, Seconds(in), 0, nullptr,
                      nullptr);
        break;
      case 7: {
        shmkv_get_item items[2] = {};
        items[0].key = key;
        items[0].key_size = key_size;
        items[1].key = value;
        items[1].key_size = value_size;
        items[1].buf = buf;
        items[1].buf_size = in.Pick(2) * sizeof buf;
        s = shmkv_get_many(h, in.Pick(8) == 0 ? nullptr : items, in.Pick(3), nullptr);
        break;
      }
      case 8: {
        shmkv_put_item items[2] = {};
        items[0].key = key;
        items[0].key_size = key_size;
        items[0].value = value;
        items[0].value_size = value_size;
        items[0].ttl = Seconds(in);
        items[0].condition = static_cast<int>(in.Pick(6));
        items[1] = items[0];
        items[1].value_size = kImpossible[in.Pick(2)];
        const size_t count = in.Pick(3);
        s = shmkv_put_many(h, in.Pick(8) == 0 ? nullptr : items, count, nullptr);
        if (s == SHMKV_OK && count == 2) Require(items[1].status == SHMKV_INVALID_ARGUMENT);
        break;
      }
      case 9: {
        must_fail |= bad_key;
        uint64_t next = 0;
        const char* match = in.Pick(2) == 0 ? nullptr : "k[0-4]*";
        s = shmkv_scan(h, in.Pick(2) == 0 ? 0 : in.Byte(), in.Pick(20), key, key_size, match,
                       in.Pick(2), in.Pick(8) == 0 ? nullptr : Visit, nullptr,
                       in.Pick(8) == 0 ? nullptr : &next, nullptr);
        break;
      }
      case 10:
        must_fail |= bad_key;
        s = shmkv_foreach(h, key, key_size, in.Pick(8) == 0 ? nullptr : Visit, &in, nullptr);
        break;
      case 11: {
        must_fail |= bad_key;
        uint64_t removed;
        s = shmkv_delete_matching(h, key, key_size, in.Pick(2) == 0 ? nullptr : "k1*", &removed,
                                  nullptr);
        break;
      }
      case 12:
        must_fail |= bad_key;
        s = shmkv_get_or_compute(h, key, key_size, in.Pick(8) == 0 ? nullptr : Compute, &in,
                                 nullptr, buf, sizeof buf, &n, nullptr);
        break;
      case 13: {
        shmkv_stats stats;
        shmkv_info info;
        s = in.Pick(2) == 0 ? shmkv_get_stats(h, &stats, in.Pick(2) * sizeof stats, nullptr)
                            : shmkv_get_info(h, &info, in.Pick(3) * sizeof info / 2, nullptr);
        break;
      }
      case 14: {
        shmkv_options* o = shmkv_options_create();
        shmkv_options_set_default_ttl(o, Seconds(in));
        shmkv_options_set_lock_timeout(o, Seconds(in));
        shmkv_store* other = reinterpret_cast<shmkv_store*>(&in);
        s = shmkv_open_key(StoreKey(), in.Pick(2) == 0 ? nullptr : o,
                           static_cast<int>(in.Pick(5)) - 1, &other, nullptr);
        Require((s == SHMKV_OK) == (other != nullptr));
        shmkv_close(&other);
        shmkv_options_destroy(o);
        must_fail = false;  // no handle argument
        break;
      }
      default:
        shmkv_close(&open);  // twice or more: closing a NULL handle is harmless
        Require(open == nullptr);
        closed = true;
        continue;
    }
    Require(IsStatus(s));
    if (must_fail) Require(s == SHMKV_INVALID_ARGUMENT);
  }
  shmkv_close(&open);
  shmkv_close(&open);
  return 0;
}
