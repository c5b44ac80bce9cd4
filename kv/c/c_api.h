// What the C API's files share: the structs behind its opaque handles, and
// the conversions between C arguments and absl types (argument checks that
// report through shmkv_error, statuses to codes, durations, metadata).
#ifndef SHMKV_KV_C_C_API_H_
#define SHMKV_KV_C_C_API_H_

#include <algorithm>
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
};

struct shmkv_store {
  std::unique_ptr<shmkv::Store> store;
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

// The status's code, with its message in *err (when err is not NULL).
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

// A byte string from a pointer and a length; false (with the error reported)
// for a NULL pointer with a nonzero length.
bool Bytes(const void* data, size_t size, const char* what, absl::string_view* out,
           shmkv_error* err);
// A TTL in seconds: 0 = the store's default, SHMKV_TTL_NEVER = never.
bool Ttl(double seconds, absl::Duration* out, shmkv_error* err);
// A timeout in seconds: > 0, or 0 for `fallback`.
bool Timeout(double seconds, absl::Duration fallback, const char* what, absl::Duration* out,
             shmkv_error* err);
// Seconds, SHMKV_TTL_NEVER for an infinite duration.
double Seconds(absl::Duration d);
void FillMeta(const EntryMeta& in, shmkv_meta* out);
// False (reported) for a NULL or closed handle.
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
