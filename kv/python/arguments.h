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

// A TTL in seconds: None = the store's default; math.inf = never expires.
// Raises InvalidArgument for other values <= 0 and NaN.
absl::Duration Ttl(const py::object& ttl, const char* what = "ttl");
// Seconds as a float; None for an infinite duration.
py::object Seconds(absl::Duration d);
// A byte count: an int, or a str such as "64MiB".
uint64_t Size(const py::object& value, const char* what);
// key (int or "0x5f3e0001") or path and proj; exactly one of key and path.
StoreName NameOf(const py::object& key, const py::object& path, int proj);

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_ARGUMENTS_H_
