#include "kv/python/arguments.h"

#include <cmath>
#include <limits>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kv/python/errors.h"
#include "kv/util/parse.h"
#include "shmkv/options.h"

namespace shmkv::python {
namespace {

[[noreturn]] void RaiseType(const char* what, const char* accepted, const py::handle& object) {
  PyErr_Format(PyExc_TypeError, "%s must be %s, not %s", what, accepted,
               Py_TYPE(object.ptr())->tp_name);
  throw py::error_already_set();
}

// OverflowError: "what=VALUE is out of range: give RANGE" (the value left
// out when it is too long to print).
[[noreturn]] void RaiseRange(const char* what, const py::handle& value, const std::string& range) {
  std::string shown;
  PyObject* text = PyObject_Str(value.ptr());
  if (text != nullptr) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(text, &size);
    if (data != nullptr && size <= 40) shown = absl::StrCat("=", absl::string_view(data, size));
    Py_DECREF(text);
  }
  PyErr_Clear();
  const std::string message = absl::StrCat(what, shown, " is out of range: give ", range);
  PyErr_SetString(PyExc_OverflowError, message.c_str());
  throw py::error_already_set();
}

// The object as a Python int (calling its __index__), or TypeError.
py::object Index(const py::handle& object, const char* what, const char* accepted) {
  if (PyFloat_Check(object.ptr()) || !PyIndex_Check(object.ptr())) {
    RaiseType(what, accepted, object);
  }
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(object.ptr()));
  if (!index) throw py::error_already_set();
  return index;
}

bool IsNegative(const py::handle& index) {
  const int negative = PyObject_RichCompareBool(index.ptr(), py::int_(0).ptr(), Py_LT);
  if (negative < 0) throw py::error_already_set();
  return negative == 1;
}

}  // namespace

int64_t Int(const py::handle& object, const char* what, int64_t min, int64_t max) {
  py::object index = Index(object, what, "an int");
  int overflow = 0;
  const long long n = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (n == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0 || n < min || n > max) RaiseRange(what, index, absl::StrCat(min, "..", max));
  return n;
}

uint64_t Unsigned(const py::handle& object, const char* what, uint64_t max) {
  py::object index = Index(object, what, "an int");
  const std::string range = absl::StrCat("0..", max);
  if (IsNegative(index)) RaiseRange(what, index, range);
  const unsigned long long n = PyLong_AsUnsignedLongLong(index.ptr());
  if (n == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    RaiseRange(what, index, range);
  }
  if (n > max) RaiseRange(what, index, range);
  return n;
}

double Real(const py::handle& object, const char* what) {
  PyObject* o = object.ptr();
  const PyNumberMethods* number = Py_TYPE(o)->tp_as_number;
  const bool real =
      PyFloat_Check(o) || PyLong_Check(o) ||
      (number != nullptr && (number->nb_float != nullptr || number->nb_index != nullptr));
  if (!real) RaiseType(what, "a number (int or float)", object);
  const double value = PyFloat_AsDouble(o);
  if (value == -1.0 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) throw py::error_already_set();
    PyErr_Clear();
    RaiseRange(what, object, "a number a float can hold");
  }
  return value;
}

bool Flag(const py::handle& object, const char* what) {
  if (!PyBool_Check(object.ptr())) RaiseType(what, "True or False", object);
  return object.ptr() == Py_True;
}

std::string Text(const py::handle& object, const char* what) {
  if (!PyUnicode_Check(object.ptr())) RaiseType(what, "a str", object);
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(object.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return std::string(data, static_cast<size_t>(size));
}

absl::Duration Ttl(const py::handle& ttl, const char* what) {
  if (ttl.is_none()) return absl::ZeroDuration();
  const double seconds = Real(ttl, what);
  if (std::isnan(seconds) || seconds <= 0) {
    RaiseInvalid(absl::StrCat(what, "=", seconds,
                              " is not valid: give seconds > 0, math.inf (never expires) or None "
                              "(the store's default)"));
  }
  if (std::isinf(seconds)) return absl::InfiniteDuration();
  return TtlFromSeconds(seconds);
}

absl::Duration Timeout(const py::handle& seconds_object, const char* what, bool allow_inf) {
  const double seconds = Real(seconds_object, what);
  if (std::isnan(seconds) || seconds <= 0 || (std::isinf(seconds) && !allow_inf)) {
    RaiseInvalid(absl::StrCat(what, "=", seconds, " is not valid: give seconds > 0",
                              allow_inf ? " (math.inf: no limit)" : ""));
  }
  return std::isinf(seconds) ? absl::InfiniteDuration() : absl::Seconds(seconds);
}

py::object Seconds(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return py::none();
  return py::float_(absl::ToDoubleSeconds(d));
}

uint64_t Size(const py::handle& value, const char* what) {
  if (py::isinstance<py::str>(value)) {
    absl::StatusOr<uint64_t> parsed = util::ParseSize(Text(value, what));
    if (!parsed.ok()) RaiseInvalid(absl::StrCat(what, ": ", parsed.status().message()));
    return *parsed;
  }
  py::object index = Index(value, what, "an int or a str such as '64MiB'");
  if (IsNegative(index)) RaiseInvalid(absl::StrCat(what, " is negative: give a byte count >= 0"));
  return Unsigned(index, what, std::numeric_limits<uint64_t>::max());
}

// The path as the file system's bytes: str, bytes or os.PathLike.
std::string PathOf(const py::handle& path) {
  py::object fs = py::reinterpret_steal<py::object>(PyOS_FSPath(path.ptr()));
  if (!fs) {
    PyErr_Clear();
    RaiseType("path", "a str, bytes or os.PathLike", path);
  }
  if (PyBytes_Check(fs.ptr())) return std::string(py::reinterpret_borrow<py::bytes>(fs));
  py::object encoded = py::reinterpret_steal<py::object>(PyUnicode_EncodeFSDefault(fs.ptr()));
  if (!encoded) throw py::error_already_set();
  return std::string(py::reinterpret_borrow<py::bytes>(encoded));
}

StoreName NameOf(const py::object& key, const py::object& path, const py::handle& proj) {
  if (key.is_none() == path.is_none()) {
    RaiseInvalid("name the store with key=0x5f3e0001 or with path=FILE (and proj=N), not both");
  }
  absl::StatusOr<StoreName> name = absl::InvalidArgumentError("");
  if (!path.is_none()) {
    name = StoreName::FromPath(PathOf(path), static_cast<int>(Int(proj, "proj", 1, 255)));
  } else if (py::isinstance<py::str>(key)) {
    name = StoreName::ParseKey(Text(key, "key"));
  } else {
    py::object index = Index(key, "key", "an int or a str such as '0x5f3e0001'");
    int overflow = 0;
    const long long k = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (k == -1 && PyErr_Occurred()) throw py::error_already_set();
    if (overflow != 0) RaiseRange("key", index, "1..0xffffffff (a System V key)");
    if (k <= 0 || k > 0xffffffffLL) {
      RaiseInvalid(absl::StrCat("key=", k, " is not a System V key: give 1..0xffffffff"));
    }
    name = StoreName::FromKey(static_cast<key_t>(static_cast<uint32_t>(k)));
  }
  if (!name.ok()) Raise(name.status(), Context::kOpen);
  return *std::move(name);
}

}  // namespace shmkv::python
