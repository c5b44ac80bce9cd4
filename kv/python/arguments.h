// Python arguments to C++ values: keys and values, TTLs, sizes, names.
#ifndef SHMKV_KV_PYTHON_ARGUMENTS_H_
#define SHMKV_KV_PYTHON_ARGUMENTS_H_

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shmkv/store_name.h"

namespace shmkv::python {

namespace py = pybind11;

// A key or value from Python: bytes, or str (encoded as UTF-8), viewed in
// place; bytearray and memoryview are copied (they may change while the GIL
// is released).
class Bytes {
 public:
  Bytes(const py::handle& object, const char* what) {
    PyObject* o = object.ptr();
    if (PyBytes_Check(o)) {
      view_ = absl::string_view(PyBytes_AS_STRING(o), static_cast<size_t>(PyBytes_GET_SIZE(o)));
    } else if (PyUnicode_Check(o)) {
      Py_ssize_t size = 0;
      const char* data = PyUnicode_AsUTF8AndSize(o, &size);
      if (data == nullptr) throw py::error_already_set();
      view_ = absl::string_view(data, static_cast<size_t>(size));
    } else if (PyByteArray_Check(o) || PyMemoryView_Check(o)) {
      py::object copy = py::reinterpret_steal<py::object>(PyBytes_FromObject(o));
      if (!copy) throw py::error_already_set();
      copy_.assign(PyBytes_AS_STRING(copy.ptr()),
                   static_cast<size_t>(PyBytes_GET_SIZE(copy.ptr())));
      view_ = absl::string_view(copy_);
    } else {
      PyErr_Format(PyExc_TypeError, "%s must be bytes or str, not %s", what, Py_TYPE(o)->tp_name);
      throw py::error_already_set();
    }
  }
  absl::string_view view() const { return view_; }

 private:
  absl::string_view view_;
  std::string copy_;
};

// Numbers, flags and text from Python. Each raises TypeError naming `what`
// and the types it accepts for another type, and OverflowError naming the
// range for an int outside it; an exception raised by the object's own
// __index__ or __float__ propagates.
// An int (or an object with __index__; not a float) in min..max.
int64_t Int(const py::handle& object, const char* what, int64_t min, int64_t max);
// An int (or an object with __index__; not a float) in 0..max.
uint64_t Unsigned(const py::handle& object, const char* what, uint64_t max);
// A real number: an int, a float, or an object with __float__ or __index__.
double Real(const py::handle& object, const char* what);
// True or False (nothing else: 0, None and "yes" are refused).
bool Flag(const py::handle& object, const char* what);
// A str.
std::string Text(const py::handle& object, const char* what);

// A TTL in seconds: None = the store's default; math.inf = never expires. A
// positive TTL below kTtlResolution is rounded up to it (TtlFromSeconds in
// shmkv/options.h). Raises InvalidArgument for other values <= 0 and NaN.
absl::Duration Ttl(const py::handle& ttl, const char* what = "ttl");
// Seconds > 0 as a Duration (finite unless allow_inf); raises InvalidArgument.
absl::Duration Timeout(const py::handle& seconds, const char* what, bool allow_inf = false);
// Seconds as a float; None for an infinite duration.
py::object Seconds(absl::Duration d);
// A byte count: an int >= 0, or a str such as "64MiB".
uint64_t Size(const py::handle& value, const char* what);
// key (int or "0x5f3e0001") or path (str, bytes or os.PathLike) and proj;
// exactly one of key and path.
StoreName NameOf(const py::object& key, const py::object& path, const py::handle& proj);

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_ARGUMENTS_H_
