// JavaScript arguments to C++ values: keys and values, TTLs, numbers,
// sizes, store names. Each throws TypeError for a wrong type and RangeError
// for a value out of range, naming the argument (`what`) and what to give.
#ifndef SHMKV_KV_NODE_ARGUMENTS_H_
#define SHMKV_KV_NODE_ARGUMENTS_H_

#include <napi.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/store_name.h"

namespace shmkv::node {

// A key or value: a string (encoded as UTF-8, copied: into an inline buffer
// when it surely fits, as a key does, else onto the heap) or a Buffer or
// other Uint8Array (viewed in place: valid for the length of a synchronous
// call). Neither copied nor moved: the view may point into the object.
class Bytes {
 public:
  Bytes(const Napi::Value& value, const char* what);
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  absl::string_view view() const { return view_; }

 private:
  absl::string_view view_;
  std::string copy_;
  char inline_[256];
};

// Where a call copies into: a Uint8Array argument (a Buffer) from `offset`
// on (undefined, or an empty Value for an argument not given: 0; else an
// integer 0..its length); `room` bytes are left.
struct Target {
  char* data = nullptr;
  size_t room = 0;
};
Target TargetOf(const Napi::Env& env, const Napi::Value& target, const Napi::Value& offset,
                const char* what);
// TargetOf's offset alone, into a Buffer of `length` bytes.
size_t OffsetIn(const Napi::Env& env, const Napi::Value& offset, size_t length);

// Whether `value` is a string or a Uint8Array (what Bytes takes).
bool IsBytes(const Napi::Value& value);

// `options` itself: undefined (no options) or a plain object.
Napi::Object OptionsObject(const Napi::Env& env, const Napi::Value& options, const char* what);
// options[name], undefined when options is empty.
Napi::Value Field(const Napi::Object& options, const char* name);

// A TTL in seconds: undefined = the store's default; Infinity = never
// expires; a positive TTL below 1 ms counts as 1 ms (TtlFromSeconds).
// 0, a negative number or NaN is a RangeError.
absl::Duration Ttl(const Napi::Value& value, const char* what);
// Seconds > 0 (finite) as a Duration; `fallback` when undefined.
absl::Duration Timeout(const Napi::Value& value, const char* what, absl::Duration fallback);
// An integer number (safe) or a bigint in min..max; `fallback` when undefined.
int64_t Int(const Napi::Value& value, const char* what, int64_t min, int64_t max, int64_t fallback);
// An integer number (safe) or a bigint in 0..max.
uint64_t Unsigned(const Napi::Value& value, const char* what, uint64_t max);
// true or false; `fallback` when undefined.
bool Flag(const Napi::Value& value, const char* what, bool fallback);
// A string; `fallback` when undefined.
std::string Text(const Napi::Value& value, const char* what, const std::string& fallback);
// A byte count: an integer >= 0 or a string such as "64MiB".
uint64_t Size(const Napi::Value& value, const char* what);
// { key } (a number or a string such as "0x5f3e0001") or { path, proj }.
StoreName NameOf(const Napi::Env& env, const Napi::Object& options);

// An int64 as a number when it is safe, else as a bigint.
Napi::Value Integer(const Napi::Env& env, int64_t n);
// Seconds as a number; Infinity for an infinite duration.
Napi::Value Seconds(const Napi::Env& env, absl::Duration d);

}  // namespace shmkv::node

#endif  // SHMKV_KV_NODE_ARGUMENTS_H_
