// The shared segment's layout, version 4. doc/layout.md is the full spec;
// the rules that matter when reading this file:
//
//  * Segment = Header (one 4 KiB page, read counters in its second half) |
//    Stripe[stripe_count] |
//    index slots uint32[stripe_count * slots_per_stripe] |
//    arena: stripe_count slices of stripe_arena_bytes each.
//  * Nothing in the segment is a pointer. A record is referred to by its
//    offset from its slice's start, in 8-byte units (slice + fixed offset =
//    segment offset), so a segment may be mapped anywhere.
//  * Each stripe owns its index slots and its arena slice and is guarded by
//    its own robust mutex. A stripe's slice is a circular log of records
//    written at `head` and reclaimed at `tail` (monotonic byte positions;
//    physical offset = position % stripe_arena_bytes). The log is the truth;
//    the index is derived from it, which is what makes crash recovery a
//    rebuild (doc/recovery.md).
//  * The index is an open-addressing table per stripe with linear probing:
//    a key's probe starts at IndexHome(hash) and each slot (IndexSlot) holds
//    a record's slice offset plus a tag of its key's hash, so a probe reads a
//    record only when the tag matches. Deletion shifts later slots back (no
//    tombstones). A stripe holds at most MaxIndexEntries() entries, so every
//    probe meets an empty slot.
//  * All multi-process fields are naturally aligned, so single stores are
//    atomic; publishing stores use release order (see Publish below).
#ifndef SHMKV_KV_INTERNAL_LAYOUT_H_
#define SHMKV_KV_INTERNAL_LAYOUT_H_

#include <pthread.h>

#include <cstddef>
#include <cstdint>

namespace shmkv::internal {

inline constexpr uint64_t kMagic = 0x315654534b4d4853ull;  // "SHMKSTV1" little-endian
inline constexpr uint32_t kLayoutVersion = 4;
inline constexpr uint32_t kByteOrderMark = 0x01020304;
inline constexpr uint32_t kReady = 0x52454459;      // Header::init_state once built
inline constexpr uint32_t kDestroyed = 0x44455354;  // Header::destroyed before IPC_RMID
inline constexpr size_t kHeaderRegionBytes = 4096;
inline constexpr size_t kUnit = 8;  // record alignment, and the unit of index slot offsets
// The highest log head a stripe may have: appends (at most a slice past it)
// never wrap a position, and no stripe comes near it in use (2^63 bytes).
inline constexpr uint64_t kMaxLogPosition = uint64_t{1} << 63;
inline constexpr size_t kNamePathBytes = 256;
inline constexpr uint32_t kHugePages = 1;  // Header::segment_flags

// Sizes and alignments that must match between every process of a store.
struct AbiFingerprint {
  uint16_t pointer_size;
  uint16_t mutex_size;
  uint16_t mutex_align;
  uint16_t header_size;
  uint16_t stripe_size;
  uint16_t stripe_align;
  uint16_t entry_header_size;
  uint16_t reserved;
};

struct Header {
  // ---- immutable after creation, covered by header_checksum ----
  uint64_t magic;
  uint32_t layout_version;
  uint32_t byte_order_mark;
  AbiFingerprint abi;
  uint64_t segment_bytes;
  uint64_t stripe_table_offset;
  uint64_t index_offset;
  uint64_t arena_offset;
  uint64_t stripe_arena_bytes;
  uint32_t stripe_count;      // power of two
  uint32_t slots_per_stripe;  // index slots per stripe
  uint32_t max_key_size;
  uint32_t max_value_size;
  uint32_t evict;          // 1: evict when full; 0: refuse writes
  uint32_t mode;           // permission bits requested at creation
  int64_t default_ttl_ms;  // 0: no expiry
  int64_t created_at_ms;
  uint32_t creator_uid;
  int32_t creator_pid;
  int32_t name_key;                // the SysV key
  int32_t name_proj;               // ftok project id, 0 when named by key
  char name_path[kNamePathBytes];  // ftok path, NUL-terminated; empty when named by key
  int32_t sem_id;                  // the store's semaphore set at creation
  uint32_t segment_flags;          // kHugePages when created with SHM_HUGETLB
  uint64_t hash_seed;              // random per store: seeds every key hash
  uint64_t header_checksum;        // Hash64 of the bytes before this field
  // ---- mutable ----
  uint32_t init_state;  // kReady once the creator finished
  uint32_t destroyed;   // kDestroyed once Destroy ran: every operation fails
};

// One lock stripe. Everything below the mutex is guarded by it.
struct alignas(64) Stripe {
  pthread_mutex_t mutex;
  uint64_t head;          // log position where the next record goes
  uint64_t tail;          // log position of the oldest record
  uint64_t next_version;  // versions are next_version * stripe_count + index
  uint64_t live_items;    // live entries, leases excluded
  uint64_t live_key_bytes;
  uint64_t live_value_bytes;
  uint64_t live_record_bytes;  // record bytes of live entries and leases
  uint64_t largest_record;     // high-water mark of record sizes since the last
                               // clear or rebuild; sizes the free-space reserve
  uint64_t index_entries;      // occupied index slots: live entries and leases
  int32_t holder_pid;          // for lock-timeout messages; 0 when free
  uint32_t rebuilding;         // 1 while a rebuild is in progress
  // Odd while a holder may be changing what the stripe holds; even when the
  // stripe is consistent: readers without the lock validate against it
  // (doc/locking.md, "Optimistic reads"). It only grows.
  uint64_t read_version;
  // Counters (statistics only; they may be off by one after a crash). Hits
  // and misses are counted in ReadCounters since version 4: the field that
  // held misses is written 0 and ignored.
  uint64_t unused_misses, puts, deletes, evictions, expirations;
  uint64_t lock_waits, owner_deaths;
  // Bumped by every holder on acquisition. A waiter that sees it change knows
  // the lock is busy, not stuck (Options::lock_timeout). It sits in what was
  // the struct's tail padding, so segments of earlier builds read it as 0.
  uint64_t acquisitions;
};

// Hits and misses, counted per CPU rather than per stripe, so that a read
// writes no cache line that readers on other CPUs write too: a read adds to
// the slot of the CPU it runs on (sched_getcpu() modulo the slot count; a
// relaxed atomic add, so threads and processes sharing a slot lose no
// count). Stats sums the slots. kReadCounterSlots slots of 64 bytes fill the
// header page from kReadCountersOffset.
struct alignas(64) ReadCounters {
  uint64_t hits;
  uint64_t misses;
  uint64_t reserved[6];
};
inline constexpr size_t kReadCountersOffset = 512;
inline constexpr uint32_t kReadCounterSlots = 56;

// An index slot: 0 is empty; otherwise (tag << ref_bits) | (unit + 1), where
// unit is the record's offset from its slice's start in kUnit bytes and
// ref_bits = IndexRefBits(slice bytes) is the fewest bits that hold any
// unit + 1. The tag is bits ref_bits..31 of the key's hash, so the slot's
// high bits equal the hash's: slot & ~ref_mask == uint32(hash) & ~ref_mask
// (no tag bits for a slice of 16 GiB or more).
using IndexSlot = uint32_t;

inline uint32_t IndexRefBits(uint64_t stripe_arena_bytes) {
  const uint64_t units = stripe_arena_bytes / kUnit;
  return units == 0 ? 1 : 64 - static_cast<uint32_t>(__builtin_clzll(units));
}
// The slot a probe for `hash` starts at: the high half of the hash scaled to
// [0, slots).
inline uint32_t IndexHome(uint64_t hash, uint32_t slots) {
  return static_cast<uint32_t>(((hash >> 32) * slots) >> 32);
}
// Entries a stripe's index may hold: 7/8 of its slots, at least one slot
// always empty.
inline uint32_t MaxIndexEntries(uint32_t slots) { return slots - (slots / 8 > 0 ? slots / 8 : 1); }

enum EntryState : uint8_t {
  kLive = 0xA1,
  kDead = 0xDE,
  kPad = 0xBA,  // filler to the end of the slice; value_size holds its length
};

enum EntryBits : uint8_t {
  kReferenced = 1,  // read since the CLOCK hand last passed (second chance)
  kLease = 2,       // a GetOrCompute placeholder; the value names the holder (doc/layout.md)
};

// A log record: this header, the key, the value, zero padding to kUnit.
// Packed to 28 bytes: records start 8-aligned, so the 64-bit fields are
// aligned in place; they are only ever copied, never addressed.
#pragma pack(push, 4)
struct EntryHeader {
  uint64_t version;
  int64_t expires_at_ms;  // 0: never
  uint32_t value_size;
  uint32_t flags;  // the user's
  uint16_t key_size;
  uint8_t state;  // EntryState
  uint8_t bits;   // EntryBits
};
#pragma pack(pop)

inline constexpr size_t kEntryHeaderBytes = sizeof(EntryHeader);
static_assert(kEntryHeaderBytes == 28, "the entry header is 28 bytes");
static_assert(sizeof(Header) <= kHeaderRegionBytes, "header must fit its page");
static_assert(sizeof(Header) <= kReadCountersOffset && sizeof(ReadCounters) == 64 &&
                  kReadCountersOffset + kReadCounterSlots * sizeof(ReadCounters) ==
                      kHeaderRegionBytes,
              "doc/layout.md: the read counters fill the header page after the header");
static_assert(offsetof(Header, header_checksum) % 8 == 0, "checksum alignment");

// The numbers doc/layout.md states, so that the spec and the structs cannot
// drift apart. The header is the same on every ABI: fixed-width fields, no
// padding.
static_assert(sizeof(AbiFingerprint) == 16 && sizeof(Header) == 416, "doc/layout.md: Header");
static_assert(offsetof(Header, layout_version) == 8 && offsetof(Header, byte_order_mark) == 12 &&
                  offsetof(Header, abi) == 16 && offsetof(Header, segment_bytes) == 32 &&
                  offsetof(Header, stripe_table_offset) == 40 &&
                  offsetof(Header, index_offset) == 48 && offsetof(Header, arena_offset) == 56 &&
                  offsetof(Header, stripe_arena_bytes) == 64 &&
                  offsetof(Header, stripe_count) == 72 &&
                  offsetof(Header, slots_per_stripe) == 76 &&
                  offsetof(Header, max_key_size) == 80 && offsetof(Header, max_value_size) == 84 &&
                  offsetof(Header, evict) == 88 && offsetof(Header, mode) == 92 &&
                  offsetof(Header, default_ttl_ms) == 96 &&
                  offsetof(Header, created_at_ms) == 104 && offsetof(Header, creator_uid) == 112 &&
                  offsetof(Header, creator_pid) == 116 && offsetof(Header, name_key) == 120 &&
                  offsetof(Header, name_proj) == 124 && offsetof(Header, name_path) == 128 &&
                  offsetof(Header, sem_id) == 384 && offsetof(Header, segment_flags) == 388 &&
                  offsetof(Header, hash_seed) == 392 && offsetof(Header, header_checksum) == 400 &&
                  offsetof(Header, init_state) == 408 && offsetof(Header, destroyed) == 412,
              "doc/layout.md: the header's offsets");
// The stripe's fields follow the mutex without gaps (offsets from its end).
inline constexpr size_t kMutexBytes = sizeof(pthread_mutex_t);
static_assert(offsetof(Stripe, head) == kMutexBytes &&
                  offsetof(Stripe, next_version) == kMutexBytes + 16 &&
                  offsetof(Stripe, index_entries) == kMutexBytes + 64 &&
                  offsetof(Stripe, holder_pid) == kMutexBytes + 72 &&
                  offsetof(Stripe, read_version) == kMutexBytes + 80 &&
                  offsetof(Stripe, acquisitions) == kMutexBytes + 144 && sizeof(Stripe) % 64 == 0,
              "doc/layout.md: the stripe's offsets");
#if defined(__x86_64__) && defined(__GLIBC__)
static_assert(kMutexBytes == 40 && alignof(pthread_mutex_t) == 8 && sizeof(Stripe) == 192,
              "doc/layout.md: the x86-64 glibc ABI fingerprint");
#endif
static_assert(offsetof(EntryHeader, expires_at_ms) == 8 &&
                  offsetof(EntryHeader, value_size) == 16 && offsetof(EntryHeader, flags) == 20 &&
                  offsetof(EntryHeader, key_size) == 24 && offsetof(EntryHeader, state) == 26 &&
                  offsetof(EntryHeader, bits) == 27,
              "doc/layout.md: the record header's offsets");

inline constexpr uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }
inline constexpr uint64_t RecordBytes(uint64_t key_size, uint64_t value_size) {
  return RoundUp(kEntryHeaderBytes + key_size + value_size, kUnit);
}

inline AbiFingerprint CurrentAbi() {
  AbiFingerprint abi{};
  abi.pointer_size = sizeof(void*);
  abi.mutex_size = sizeof(pthread_mutex_t);
  abi.mutex_align = alignof(pthread_mutex_t);
  abi.header_size = sizeof(Header);
  abi.stripe_size = sizeof(Stripe);
  abi.stripe_align = alignof(Stripe);
  abi.entry_header_size = sizeof(EntryHeader);
  return abi;
}

// Release stores for fields whose order matters to a process that inherits
// the stripe after a crash (and to the compiler, which could reorder them).
template <typename T>
inline void Publish(T* field, T value) {
  __atomic_store_n(field, value, __ATOMIC_RELEASE);
}
template <typename T>
inline T LoadOnce(const T* field) {
  return __atomic_load_n(field, __ATOMIC_RELAXED);
}
}  // namespace shmkv::internal

#endif  // SHMKV_KV_INTERNAL_LAYOUT_H_
