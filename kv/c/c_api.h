// What the C API's files share: the structs behind its opaque handles, and
// the conversions between C arguments and absl types (argument checks that
// report through shmkv_error, statuses to codes, durations, metadata).
#ifndef SHMKV_KV_C_C_API_H_
#define SHMKV_KV_C_C_API_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/shmkv.h"
#include "shmkv/store.h"
#include "shmkv/store_name.h"

struct shmkv_options {
  shmkv::Options options;
  // Why the last shmkv_options_set_default_ttl was refused ("" if it was
  // not): the setters return nothing, so shmkv_open_* reports it.
  std::string default_ttl_error;
};

// A handle. shmkv_close does not free it: a thread that still holds a copy
// of the pointer gets INVALID_ARGUMENT from its next call, never freed
// memory. The attachment is released by whichever of shmkv_close and the
// calls in flight when it ran finishes last (EnterStore, LeaveStore), so no
// call ever runs on an unmapped segment or leaves a stripe lock in it held.
struct shmkv_store {
  std::unique_ptr<shmkv::Store> store;
  // Twice the calls in flight, plus 1 once shmkv_close ran.
  std::atomic<uint64_t> state{0};
  // Set by the one that detaches, so that it happens once.
  std::atomic<bool> detached{false};
  // The closed handles the library keeps (see above), as a list.
  shmkv_store* next_closed = nullptr;
};

struct shmkv_value_sink {
  std::string value;
};

namespace shmkv::c_api {

// Copies `text` into a fixed char array, cut to fit, NUL-terminated.
template <size_t N>
void CopyText(absl::string_view text, char (&out)[N]) {
  const size_t n = std::min(text.size(), N - 1);
  if (n > 0) std::memcpy(out, text.data(), n);  // an OK status has no message: data() may be null
  out[n] = '\0';
}

// The C code of a status: absl's code, or SHMKV_STORE_DESTROYED.
shmkv_status CodeOf(const absl::Status& status);
// The status's code, with its message in *err (when err is not NULL), its
// advice in this API's terms (kv/util/advice_terms.h).
shmkv_status Report(const absl::Status& status, shmkv_error* err);
shmkv_status Fail(shmkv_status code, absl::string_view message, shmkv_error* err);
shmkv_status InvalidArgument(absl::string_view message, shmkv_error* err);

// Runs `body` (returning shmkv_status) and turns an escaping exception into
// a status: C callers cannot catch C++ exceptions.
template <typename Body>
shmkv_status Guarded(shmkv_error* err, Body body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(SHMKV_RESOURCE_EXHAUSTED, "out of memory in this process", err);
  } catch (const std::exception& e) {
    return Fail(SHMKV_INTERNAL, absl::StrCat("unexpected exception: ", e.what()), err);
  } catch (...) {
    return Fail(SHMKV_INTERNAL, "unexpected exception", err);
  }
}

// Counts a call in flight on `store`; false (reported) for a NULL or closed
// handle. Each true is followed by one LeaveStore.
bool EnterStore(shmkv_store* store, shmkv_error* err);
// Ends a call; the last one out of a closed handle detaches it.
void LeaveStore(shmkv_store* store);

// Guarded, for a call on `store`: the attachment stays while `body` runs,
// even if another thread closes the handle meanwhile.
template <typename Body>
shmkv_status GuardedCall(shmkv_store* store, shmkv_error* err, Body body) {
  if (!EnterStore(store, err)) return SHMKV_INVALID_ARGUMENT;
  const shmkv_status status = Guarded(err, body);
  LeaveStore(store);
  return status;
}

// A byte string from a pointer and a length; false (with the error reported)
// for a NULL pointer with a nonzero length, or a length no object has.
bool Bytes(const void* data, size_t size, const char* what, absl::string_view* out,
           shmkv_error* err);
// A TTL of `seconds` > 0 (TtlFromSeconds: at least 1 ms, so that a positive
// TTL never means "no TTL"); false for NaN and seconds <= 0.
bool PositiveTtl(double seconds, absl::Duration* out);
// A TTL in seconds: 0 = the store's default, SHMKV_TTL_NEVER = never.
bool Ttl(double seconds, absl::Duration* out, shmkv_error* err);
// A timeout in seconds: > 0, or 0 for `fallback`.
bool Timeout(double seconds, absl::Duration fallback, const char* what, absl::Duration* out,
             shmkv_error* err);
// Seconds, SHMKV_TTL_NEVER for an infinite duration.
double Seconds(absl::Duration d);
void FillMeta(const EntryMeta& in, shmkv_meta* out);
// False (reported) for a NULL or closed handle; for callers that borrow the
// attachment while the caller promises to keep it open (the near cache).
bool CheckStore(const shmkv_store* store, shmkv_error* err);
// Copies `value` to the caller's buffer, or reports the size it needs.
shmkv_status CopyOut(absl::string_view value, void* buf, size_t buf_size, size_t* value_size,
                     shmkv_error* err);
bool CheckOutBuffer(void* buf, size_t buf_size, size_t* value_size, shmkv_error* err);

// Fills a caller's struct of `size` bytes from a complete one: a caller
// compiled against an older, shorter struct gets the fields it knows.
template <typename T>
shmkv_status CopyStruct(const T& full, void* out, size_t size, shmkv_error* err) {
  if (out == nullptr) return InvalidArgument("the output struct is NULL", err);
  if (size == 0) return InvalidArgument("the output struct's size is 0: pass sizeof", err);
  std::memset(out, 0, size);
  std::memcpy(out, &full, std::min(size, sizeof(T)));
  return SHMKV_OK;
}

}  // namespace shmkv::c_api

#endif  // SHMKV_KV_C_C_API_H_
