// The Python module `shmkv`: the C++ Store API for Python, sharing stores
// with C++ and C processes. Built with pybind11 over the C++ API (not over
// the C API through ctypes/cffi): a call costs one C++ call, not a ctypes
// marshalling round, and Python exceptions map to absl::Status codes in one
// place (errors.h). Every call that may wait for a lock runs with the GIL
// released (store.cc).
#include <pybind11/pybind11.h>

#include <cmath>

#include "kv/python/errors.h"
#include "kv/python/near_cache.h"
#include "kv/python/store.h"

namespace py = pybind11;

PYBIND11_MODULE(shmkv, m) {
  using shmkv::python::DefineNearCache;
  using shmkv::python::DefineStore;
  using shmkv::python::RegisterExceptions;
  m.doc() =
      "shmkv: a key-value cache in one System V shared-memory segment, shared by every\n"
      "process on the host (C++, C and Python alike). Keys and values are bytes (str is\n"
      "accepted and encoded as UTF-8). TTLs are seconds: None means the store's default,\n"
      "math.inf never expires, and a positive TTL below 1 ms counts as 1 ms (stores count\n"
      "expiry in milliseconds). An argument of the wrong type or range raises TypeError,\n"
      "OverflowError or InvalidArgument (a ValueError) naming it. NearCache reads through a\n"
      "store in front of Redis.";

  RegisterExceptions(m);

  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  py::object meta = namedtuple("Meta", py::make_tuple("version", "flags", "ttl_remaining", "size"));
  meta.attr("__doc__") =
      "An entry's metadata: version (the cas token), flags, ttl_remaining (seconds, None when it "
      "never expires), size (bytes of the value).";
  meta.attr("__module__") = "shmkv";
  m.attr("Meta") = meta;
  m.attr("NEVER") = py::float_(INFINITY);

  DefineStore(m, meta);
  DefineNearCache(m);
}
