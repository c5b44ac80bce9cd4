// shmkv's Python exception classes, and raising them from a Status.
#ifndef SHMKV_KV_PYTHON_ERRORS_H_
#define SHMKV_KV_PYTHON_ERRORS_H_

#include <pybind11/pybind11.h>

#include <string>

#include "absl/status/status.h"

namespace shmkv::python {

namespace py = pybind11;

// Defines shmkv.Error and its subclasses in the module.
void RegisterExceptions(py::module_& m);

// Where a status came from decides the class of a FailedPrecondition: on
// open it means "not a shmkv store (or another layout)", on Increment "the
// value is not a number"; and that of Unavailable and DeadlineExceeded: from
// the store a lock timeout, from Redis (NearCache) Redis being unreachable.
enum class Context { kOpen, kData, kIncrement, kRedis };

// Sets the Python exception for `status` (with .code, the absl code's name)
// and throws py::error_already_set.
[[noreturn]] void Raise(const absl::Status& status, Context context = Context::kData);
[[noreturn]] void RaiseInvalid(const std::string& message);
// shmkv.Error with `message`, for a closed store.
[[noreturn]] void RaiseError(const char* message);

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_ERRORS_H_
