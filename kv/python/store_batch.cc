// shmkv.Store's batches and walks: get_many, put_many, keys, items, scan,
// delete_matching.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kv/python/arguments.h"
#include "kv/python/errors.h"
#include "kv/python/py_store.h"
#include "shmkv/store.h"

namespace shmkv::python {
namespace {

// `status`, its message naming the batch item it is about.
absl::Status ForItem(const absl::Status& status, size_t index) {
  return absl::Status(status.code(), absl::StrCat("item ", index, ": ", status.message()));
}

// What scan, keys, items and delete_matching select.
ScanOptions Selection(const py::handle& prefix, const py::handle& match, bool with_values) {
  ScanOptions options;
  if (!match.is_none()) options.match = Text(match, "match");
  options.prefix = std::string(Bytes(prefix, "prefix").view());
  options.with_values = with_values;
  return options;
}

using Entries = std::vector<std::pair<std::string, std::string>>;

// A key, or a (key, value) pair when with_values.
py::object Entry(const std::pair<std::string, std::string>& entry, bool with_values) {
  if (with_values) return py::make_tuple(py::bytes(entry.first), py::bytes(entry.second));
  return py::bytes(entry.first);
}

// Keys, or (key, value) pairs when with_values.
py::list EntryList(const Entries& entries, bool with_values) {
  py::list out;
  for (const auto& entry : entries) out.append(Entry(entry, with_values));
  return out;
}

// One page of Store::Scan from `cursor`, appended to `entries`.
absl::StatusOr<uint64_t> ScanInto(PyStore& store, uint64_t cursor, size_t count,
                                  const ScanOptions& options, Entries* entries) {
  return store.Call([&](Store& st) {
    return st.Scan(cursor, count, options,
                   [&](absl::string_view key, absl::string_view value, const EntryMeta&) {
                     entries->emplace_back(std::string(key), std::string(value));
                   });
  });
}

// What keys() and items() return: reads the next page of the walk only when
// the last one is consumed, with the GIL released, so memory stays one page
// whatever the store's size and a walk follows the scan contract.
class PyWalk {
 public:
  static constexpr size_t kPage = 256;

  PyWalk(py::object store, ScanOptions options)
      : store_(std::move(store)), options_(std::move(options)) {}

  py::object Next() {
    while (next_ == page_.size()) {
      if (done_) throw py::stop_iteration();
      if (busy_) {
        PyErr_SetString(PyExc_ValueError, "this keys()/items() iterator is already in use");
        throw py::error_already_set();
      }
      Entries page;
      absl::StatusOr<uint64_t> n = ReadPage(&page);
      if (!n.ok()) {
        done_ = true;
        Raise(n.status());
      }
      cursor_ = *n;
      done_ = cursor_ == 0;
      page_ = std::move(page);
      next_ = 0;
    }
    return Entry(page_[next_++], options_.with_values);
  }

 private:
  // The page at cursor_; busy_ meanwhile (the GIL is released), whatever
  // it raises (a closed store).
  absl::StatusOr<uint64_t> ReadPage(Entries* page) {
    struct Busy {
      explicit Busy(bool* flag) : flag(flag) { *flag = true; }
      ~Busy() { *flag = false; }
      bool* flag;
    } busy(&busy_);
    return ScanInto(store_.cast<PyStore&>(), cursor_, kPage, options_, page);
  }

  py::object store_;  // the shmkv.Store, kept alive
  const ScanOptions options_;
  uint64_t cursor_ = 0;
  bool done_ = false;
  bool busy_ = false;  // a page is being read (the GIL released meanwhile)
  Entries page_;
  size_t next_ = 0;
};

}  // namespace

// A list of values (None where absent) for an iterable of keys, read with
// one GetMany. No scratch is shared between calls: iterating `keys` runs
// Python code, which may call this again.
py::list PyStore::GetMany(const py::handle& keys) {
  if (!PyIter_Check(keys.ptr()) && Py_TYPE(keys.ptr())->tp_iter == nullptr &&
      !PySequence_Check(keys.ptr())) {
    PyErr_Format(PyExc_TypeError, "keys must be an iterable of bytes or str, not %s",
                 Py_TYPE(keys.ptr())->tp_name);
    throw py::error_already_set();
  }
  py::list held;  // keeps each key object, which its Bytes views, alive
  for (py::handle k : py::iter(keys)) held.append(k);
  std::deque<Bytes> bytes;  // a deque: its elements (views into themselves) never move
  std::vector<absl::string_view> views;
  views.reserve(held.size());
  for (py::handle k : held) views.push_back(bytes.emplace_back(k, "each of keys").view());
  std::vector<GetResult> results;
  absl::Status s = Call([&](Store& st) { return st.GetMany(views, &results); });
  if (!s.ok()) Raise(s);
  py::list out(views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    const GetResult& r = results[i];
    if (absl::IsNotFound(r.status)) {
      out[i] = py::none();
    } else if (!r.status.ok()) {
      Raise(ForItem(r.status, i));
    } else {
      out[i] = py::bytes(r.value.data(), r.value.size());
    }
  }
  return out;
}

// Stores each (key, value) of `items` (a dict, or an iterable of pairs)
// with one PutMany. Raises the first item's error after the call; the
// other items are stored all the same. Every argument is converted (which
// may run Python code, even this method again) before any view is taken,
// and no scratch is shared between calls.
void PyStore::PutMany(const py::object& items, const py::handle& ttl, const py::handle& flags) {
  WriteOptions options;
  options.ttl = Ttl(ttl);
  options.flags = static_cast<uint32_t>(Unsigned(flags, "flags", UINT32_MAX));
  py::object pairs = py::isinstance<py::dict>(items) ? items.attr("items")() : items;
  if (Py_TYPE(pairs.ptr())->tp_iter == nullptr && !PySequence_Check(pairs.ptr())) {
    PyErr_Format(PyExc_TypeError,
                 "items must be a dict or an iterable of (key, value) pairs, not %s",
                 Py_TYPE(pairs.ptr())->tp_name);
    throw py::error_already_set();
  }
  std::vector<py::tuple> held;  // tuples: their items cannot change under the views
  for (py::handle pair : py::iter(pairs)) {
    const size_t index = held.size();
    const bool is_pair =
        (py::isinstance<py::tuple>(pair) || py::isinstance<py::list>(pair)) && py::len(pair) == 2;
    if (is_pair) held.push_back(py::tuple(py::reinterpret_borrow<py::object>(pair)));
    if (!is_pair || held.back().size() != 2) {
      RaiseInvalid(absl::StrCat("items must be a dict or (key, value) pairs; item ", index,
                                " is not a pair"));
    }
  }
  std::deque<Bytes> bytes;
  std::vector<PutItem> puts;
  puts.reserve(held.size());
  for (const py::tuple& t : held) {
    const absl::string_view k = bytes.emplace_back(t[0], "a key in items").view();
    puts.push_back(PutItem{k, bytes.emplace_back(t[1], "a value in items").view()});
  }
  std::vector<PutResult> results;
  absl::Status s = Call([&](Store& st) { return st.PutMany(puts, options, &results); });
  if (!s.ok()) Raise(s);
  for (size_t i = 0; i < puts.size(); ++i) {
    if (results[i].status.ok()) continue;
    if (absl::IsResourceExhausted(results[i].status)) {
      CheckValueSize(puts[i].value.size(), absl::StrCat("item ", i, ": value").c_str());
    }
    Raise(ForItem(results[i].status, i));
  }
}

py::object PyStore::Walk(const py::object& self, const py::handle& prefix, bool with_values) {
  self.cast<PyStore&>().Shared("this store is closed; open it again");
  return py::cast(PyWalk(self, Selection(prefix, py::none(), with_values)));
}

void DefineWalk(py::module_& m) {
  py::class_<PyWalk>(m, "_Walk", "The iterator Store.keys() and Store.items() return.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PyWalk::Next);
}

// One page of Store::Scan: (next cursor, keys or (key, value) pairs).
py::tuple PyStore::ScanPage(const py::handle& cursor, const py::handle& count,
                            const py::handle& prefix, const py::handle& match,
                            const py::handle& values) {
  const uint64_t from = Unsigned(cursor, "cursor", UINT64_MAX);
  const size_t n = Unsigned(count, "count", SIZE_MAX);
  const ScanOptions options = Selection(prefix, match, Flag(values, "values"));
  Entries entries;
  absl::StatusOr<uint64_t> next = ScanInto(*this, from, n, options, &entries);
  if (!next.ok()) Raise(next.status());
  return py::make_tuple(*next, EntryList(entries, options.with_values));
}

uint64_t PyStore::DeleteMatching(const py::handle& prefix, const py::handle& match) {
  const ScanOptions options = Selection(prefix, match, false);
  if (options.prefix.empty() && options.match.empty()) {
    Raise(absl::InvalidArgumentError(
        "no prefix and no match select every entry; use flush() to delete everything"));
  }
  absl::StatusOr<uint64_t> n = Call([&](Store& st) { return st.DeleteMatching(options); });
  if (!n.ok()) Raise(n.status());
  return *n;
}

}  // namespace shmkv::python
