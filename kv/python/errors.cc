#include "kv/python/errors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kv/util/advice_terms.h"
#include "shmkv/store.h"

namespace shmkv::python {
namespace {

struct Exceptions {
  py::object error, store_not_found, permission_denied, not_a_store, store_full, lock_timeout,
      corrupt, invalid_argument, not_a_number, unavailable, store_destroyed;
};
Exceptions* exceptions = nullptr;

py::object NewException(py::module_& m, const char* name, const char* doc, py::handle bases) {
  const std::string qualified = absl::StrCat("shmkv.", name);
  py::object cls = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr));
  if (!cls) throw py::error_already_set();
  m.attr(name) = cls;
  return cls;
}

// The library's advice (open modes, Options fields, Store calls) in this
// module's terms: shmkv.Store's keyword arguments and its methods.
std::string InPythonTerms(absl::string_view message) {
  static const util::BindingTerms* const terms = [] {
    auto* t = new util::BindingTerms;
    t->create_store = "shmkv.Store(..., create=True, capacity=64 << 20)";
    t->capacity_example = "capacity=64 << 20";
    t->open_again = "open it again with shmkv.Store";
    t->open_to_replace = "open with create=True";
    t->capacity = "capacity";
    t->max_value = "max_value";
    t->max_key = "the maximal key size";
    t->items = "items";
    t->lock_timeout = "lock_timeout";
    t->allow_foreign_owner = "allow_foreign_owner";
    t->wait_timeout = "wait_timeout";
    t->lease_timeout = "lease_timeout";
    t->repair = "check(repair=True)";
    t->destroy = "shmkv.destroy";
    t->near_options = "NearCache's arguments";
    t->fill_ttl = "fill_ttl";
    t->heartbeat_timeout = "heartbeat_timeout";
    t->redis_timeout = "redis_timeout";
    t->sync_check_interval = "sync_check_interval";
    return t;
  }();
  return util::InBindingTerms(message, *terms);
}

}  // namespace

[[noreturn]] void Raise(const absl::Status& status, Context context) {
  py::object cls = exceptions->error;
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      cls = exceptions->store_not_found;
      break;
    case absl::StatusCode::kPermissionDenied:
      cls = exceptions->permission_denied;
      break;
    case absl::StatusCode::kFailedPrecondition:
      if (context == Context::kOpen) cls = exceptions->not_a_store;
      if (context == Context::kIncrement) cls = exceptions->not_a_number;
      break;
    case absl::StatusCode::kResourceExhausted:
      cls = exceptions->store_full;
      break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      cls = context == Context::kRedis ? exceptions->unavailable : exceptions->lock_timeout;
      break;
    case absl::StatusCode::kDataLoss:
      cls = exceptions->corrupt;
      break;
    case absl::StatusCode::kInvalidArgument:
      cls = exceptions->invalid_argument;
      break;
    default:
      break;
  }
  // A destroyed store is its own error whatever the call and context.
  if (IsStoreDestroyed(status)) cls = exceptions->store_destroyed;
  py::object error = cls(InPythonTerms(status.message()));
  error.attr("code") = absl::StatusCodeToString(status.code());
  PyErr_SetObject(cls.ptr(), error.ptr());
  throw py::error_already_set();
}

[[noreturn]] void RaiseInvalid(const std::string& message) {
  Raise(absl::InvalidArgumentError(message));
}

[[noreturn]] void RaiseError(const char* message) {
  PyErr_SetString(exceptions->error.ptr(), message);
  throw py::error_already_set();
}

void RegisterExceptions(py::module_& m) {
  static Exceptions all;
  exceptions = &all;
  all.error =
      NewException(m, "Error", "Base class of shmkv's errors; .code names the absl status code.",
                   PyExc_Exception);
  all.store_not_found = NewException(
      m, "StoreNotFound", "No store at that name (create one with create=True).", all.error);
  all.permission_denied = NewException(
      m, "PermissionDenied", "The segment's mode or owner refuses this process.", all.error);
  all.not_a_store = NewException(
      m, "NotAStore", "The segment at that name is not a shmkv store of this layout.", all.error);
  all.store_full = NewException(
      m, "StoreFull",
      "No room: a full store that may not evict (a value over the store's max_value is "
      "InvalidArgument).",
      all.error);
  all.lock_timeout = NewException(
      m, "LockTimeout", "A lock (or another process's computation) was not released in time.",
      all.error);
  all.corrupt =
      NewException(m, "Corrupt", "The segment is corrupt: run check(repair=True).", all.error);
  all.invalid_argument = NewException(m, "InvalidArgument", "A bad key, value or option.",
                                      py::make_tuple(all.error, py::handle(PyExc_ValueError)));
  all.not_a_number = NewException(m, "NotANumber", "incr on a value that is not a decimal number.",
                                  py::make_tuple(all.error, py::handle(PyExc_ValueError)));
  all.store_destroyed = NewException(
      m, "StoreDestroyed",
      "The store was destroyed (shmkv.destroy, kvcli destroy) after this Store opened it; every "
      "later call fails so. Open the name again to use the store now there.",
      all.error);
  all.unavailable = NewException(
      m, "Unavailable",
      "NearCache: Redis refused the connection or did not answer within redis_timeout.", all.error);
}

}  // namespace shmkv::python
