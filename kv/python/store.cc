// shmkv.Store's opening, single-entry methods and closing, and the bindings
// of the whole class (its other methods: store_batch.cc, store_admin.cc).
#include "kv/python/store.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/python/arguments.h"
#include "kv/python/errors.h"
#include "kv/python/py_store.h"
#include "shmkv/options.h"
#include "shmkv/store.h"

namespace shmkv::python {

PyStore::PyStore(const py::object& key, const py::object& path, const py::object& proj,
                 const py::object& create, const py::object& capacity, const py::object& max_value,
                 const py::object& evict, const py::object& default_ttl, const py::object& mode,
                 const py::object& items, const py::object& lock_timeout,
                 const py::object& allow_foreign_owner) {
  const StoreName name = NameOf(key, path, proj);
  Options options;
  if (!capacity.is_none()) options.capacity_bytes = Size(capacity, "capacity");
  if (!max_value.is_none()) options.max_value_size = Size(max_value, "max_value");
  if (!items.is_none()) options.expected_items = Size(items, "items");
  options.evict = Flag(evict, "evict");
  const absl::Duration ttl = Ttl(default_ttl, "default_ttl");
  options.default_ttl = ttl == absl::InfiniteDuration() ? absl::ZeroDuration() : ttl;
  options.mode = static_cast<int>(Int(mode, "mode", 0, 07777));
  options.lock_timeout = Timeout(lock_timeout, "lock_timeout");
  options.allow_foreign_owner = Flag(allow_foreign_owner, "allow_foreign_owner");
  const OpenMode open_mode = Flag(create, "create") ? OpenMode::kOpenOrCreate : OpenMode::kAttach;
  absl::StatusOr<std::unique_ptr<Store>> opened;
  {
    py::gil_scoped_release release;
    opened = Store::Open(name, options, open_mode);
  }
  if (!opened.ok()) Raise(opened.status(), Context::kOpen);
  store_ = *std::move(opened);
}

void PyStore::CheckValueSize(size_t size, const char* what) {
  if (max_value_ == 0) {
    absl::StatusOr<StoreInfo> info = Call([](Store& st) { return st.Info(); });
    if (!info.ok()) return;  // the caller raises its own error
    max_value_ = info->max_value_size;
  }
  if (size <= max_value_) return;
  RaiseInvalid(absl::StrCat(what, " of ", size, " bytes is over this store's max_value of ",
                            max_value_,
                            " bytes; store smaller values or create the store with a larger "
                            "max_value"));
}

py::object PyStore::Get(const py::handle& key) {
  Bytes k(key, "key");
  thread_local std::string value;
  absl::Status s = Call([&](Store& st) { return st.Get(k.view(), &value); });
  if (absl::IsNotFound(s)) return py::none();
  if (!s.ok()) Raise(s);
  return py::bytes(value.data(), value.size());
}

py::object PyStore::GetMeta(const py::handle& key) {
  Bytes k(key, "key");
  thread_local std::string value;
  EntryMeta meta;
  absl::Status s = Call([&](Store& st) { return st.Get(k.view(), &value, &meta); });
  if (absl::IsNotFound(s)) return py::none();
  if (!s.ok()) Raise(s);
  py::object m = meta_type_(meta.version, meta.flags, Seconds(meta.ttl_remaining), meta.value_size);
  return py::make_tuple(py::bytes(value.data(), value.size()), m);
}

py::bytes PyStore::GetItem(const py::handle& key) {
  py::object v = Get(key);
  if (v.is_none()) {
    PyErr_SetObject(PyExc_KeyError, key.ptr());
    throw py::error_already_set();
  }
  return v;
}

void PyStore::Put(const py::handle& key, const py::handle& value, const py::handle& ttl,
                  const py::handle& flags) {
  WriteOptions options;
  options.ttl = Ttl(ttl);
  options.flags = static_cast<uint32_t>(Unsigned(flags, "flags", UINT32_MAX));
  Bytes k(key, "key"), v(value, "value");
  absl::Status s = Call([&](Store& st) { return st.Put(k.view(), v.view(), options); });
  if (absl::IsResourceExhausted(s)) CheckValueSize(v.view().size(), "value");
  if (!s.ok()) Raise(s);
}

// Writes with a condition; false when the condition does not hold.
bool PyStore::Conditional(const py::handle& key, const py::handle& value, const py::handle& ttl,
                          WriteCondition condition, const py::handle& version) {
  WriteOptions options;
  options.ttl = Ttl(ttl);
  options.condition = condition;
  if (condition == WriteCondition::kIfVersion) {
    options.expected_version = Unsigned(version, "version", UINT64_MAX);
  }
  Bytes k(key, "key"), v(value, "value");
  absl::Status s = Call([&](Store& st) { return st.Put(k.view(), v.view(), options); });
  if (s.ok()) return true;
  const bool unmet = absl::IsAlreadyExists(s) || absl::IsNotFound(s) ||
                     (condition == WriteCondition::kIfVersion && absl::IsFailedPrecondition(s) &&
                      !IsStoreDestroyed(s));
  if (unmet) return false;
  if (absl::IsResourceExhausted(s)) CheckValueSize(v.view().size(), "value");
  Raise(s);
}

int64_t PyStore::Incr(const py::handle& key, const py::handle& delta, const py::handle& init,
                      const py::handle& ttl) {
  const int64_t by = Int(delta, "delta", INT64_MIN, INT64_MAX);
  IncrementOptions options;
  options.initial = Int(init, "init", INT64_MIN, INT64_MAX);
  options.ttl = Ttl(ttl);
  Bytes k(key, "key");
  absl::StatusOr<int64_t> r = Call([&](Store& st) { return st.Increment(k.view(), by, options); });
  if (!r.ok()) Raise(r.status(), Context::kIncrement);
  return *r;
}

bool PyStore::Touch(const py::handle& key, const py::handle& ttl) {
  if (ttl.is_none()) RaiseInvalid("touch needs a ttl: seconds > 0, or math.inf for never");
  const absl::Duration d = Ttl(ttl);
  Bytes k(key, "key");
  absl::Status s = Call([&](Store& st) { return st.Touch(k.view(), d); });
  if (absl::IsNotFound(s)) return false;
  if (!s.ok()) Raise(s);
  return true;
}

bool PyStore::Delete(const py::handle& key) {
  Bytes k(key, "key");
  absl::Status s = Call([&](Store& st) { return st.Delete(k.view()); });
  if (absl::IsNotFound(s)) return false;
  if (!s.ok()) Raise(s);
  return true;
}

void PyStore::DelItem(const py::handle& key) {
  if (!Delete(key)) {
    PyErr_SetObject(PyExc_KeyError, key.ptr());
    throw py::error_already_set();
  }
}

bool PyStore::Contains(const py::handle& key) {
  Bytes k(key, "key");
  absl::StatusOr<bool> r = Call([&](Store& st) { return st.Contains(k.view()); });
  if (!r.ok()) Raise(r.status());
  return *r;
}

uint64_t PyStore::Len() {
  absl::StatusOr<uint64_t> r = Call([](Store& st) { return st.Size(); });
  if (!r.ok()) Raise(r.status());
  return *r;
}

py::bytes PyStore::GetOrCompute(const py::handle& key, const py::object& fn, const py::handle& ttl,
                                const py::handle& wait_timeout) {
  if (!PyCallable_Check(fn.ptr())) {
    PyErr_Format(PyExc_TypeError, "fn must be a callable returning bytes or str, not %s",
                 Py_TYPE(fn.ptr())->tp_name);
    throw py::error_already_set();
  }
  GetOrComputeOptions options;
  options.write.ttl = Ttl(ttl);
  options.wait_timeout = Timeout(wait_timeout, "wait_timeout");
  Bytes k(key, "key");
  bool raised = false;  // fn raised: its exception is pending in this thread
  size_t computed_size = 0;
  absl::StatusOr<std::string> r = Call([&](Store& st) {
    return st.GetOrCompute(
        k.view(),
        [&]() -> absl::StatusOr<std::string> {
          py::gil_scoped_acquire acquire;
          try {
            py::object v = fn();
            Bytes bytes(v, "the value get_or_compute's function returned");
            computed_size = bytes.view().size();
            return std::string(bytes.view());
          } catch (py::error_already_set& e) {
            e.restore();
            raised = true;
            return absl::CancelledError("the compute function raised; nothing was stored");
          }
        },
        options);
  });
  if (raised) throw py::error_already_set();
  if (absl::IsResourceExhausted(r.status())) {
    CheckValueSize(computed_size, "the value get_or_compute's function returned");
  }
  if (!r.ok()) Raise(r.status());
  return py::bytes(*r);
}

void PyStore::Close() {
  std::shared_ptr<Store> store = std::move(store_);
  py::gil_scoped_release release;
  store.reset();  // detaches unless a call from another thread still runs
}

py::object PyStore::meta_type_;

namespace {

void Destroy(const py::object& key, const py::object& path, const py::object& proj) {
  const StoreName name = NameOf(key, path, proj);
  absl::Status s;
  {
    py::gil_scoped_release release;
    s = Store::Destroy(name);
  }
  if (!s.ok()) Raise(s, Context::kOpen);
}

using PyStoreClass = py::class_<PyStore>;

// Store's methods on one entry, or a batch of them.
void DefineEntryMethods(PyStoreClass& c) {
  c.def("get", &PyStore::Get, py::arg("key"), "The value (bytes), or None when absent.")
      .def("get_many", &PyStore::GetMany, py::arg("keys"),
           "A list of the keys' values (bytes, or None when absent), read in one call:\n"
           "faster than a loop of get. Raises for a bad key (naming its index).")
      .def("put_many", &PyStore::PutMany, py::arg("items"), py::arg("ttl") = py::none(),
           py::arg("flags") = 0,
           "Stores each (key, value) of items (a dict or an iterable of pairs) in one call,\n"
           "with one ttl and flags. Raises the first failed item's error (naming its index)\n"
           "after the call; the other items are stored all the same. A value over the\n"
           "store's max_value raises InvalidArgument.")
      .def("get_meta", &PyStore::GetMeta, py::arg("key"),
           "(value, Meta(version, flags, ttl_remaining, size)), or None when absent.")
      .def("put", &PyStore::Put, py::arg("key"), py::arg("value"), py::arg("ttl") = py::none(),
           py::arg("flags") = 0,
           "Stores value under key (ttl in seconds, a positive ttl below 1 ms counts as 1 ms;\n"
           "flags: 0..2**32-1). A value over the store's max_value raises InvalidArgument.")
      .def(
          "add",
          [](PyStore& s, const py::handle& k, const py::handle& v, const py::handle& ttl) {
            return s.Conditional(k, v, ttl, WriteCondition::kIfAbsent, py::none());
          },
          py::arg("key"), py::arg("value"), py::arg("ttl") = py::none(),
          "Stores only if the key is absent; False if it exists.")
      .def(
          "replace",
          [](PyStore& s, const py::handle& k, const py::handle& v, const py::handle& ttl) {
            return s.Conditional(k, v, ttl, WriteCondition::kIfPresent, py::none());
          },
          py::arg("key"), py::arg("value"), py::arg("ttl") = py::none(),
          "Stores only if the key exists; False if absent.")
      .def(
          "cas",
          [](PyStore& s, const py::handle& k, const py::handle& version, const py::handle& v,
             const py::handle& ttl) {
            return s.Conditional(k, v, ttl, WriteCondition::kIfVersion, version);
          },
          py::arg("key"), py::arg("version"), py::arg("value"), py::arg("ttl") = py::none(),
          "Stores only if the entry's version (get_meta) is still `version`; False otherwise.")
      .def("incr", &PyStore::Incr, py::arg("key"), py::arg("delta") = 1, py::arg("init") = 0,
           py::arg("ttl") = py::none(),
           "Adds delta to the decimal number at key (created as init + delta); returns it.\n"
           "An existing entry keeps its TTL; its flags become 0.\n"
           "Raises NotANumber when the value is not a number.")
      .def("touch", &PyStore::Touch, py::arg("key"), py::arg("ttl"),
           "Sets a new TTL (math.inf: never); False if absent.")
      .def("delete", &PyStore::Delete, py::arg("key"), "Removes key; False if absent.")
      .def("get_or_compute", &PyStore::GetOrCompute, py::arg("key"), py::arg("fn"),
           py::arg("ttl") = py::none(), py::arg("wait_timeout") = 5.0,
           "The cached value, or fn()'s result stored under key. Across processes (of any\n"
           "language) concurrent misses on one key call fn once; the others wait (up to\n"
           "wait_timeout seconds, then LockTimeout). If fn raises, nothing is stored and\n"
           "its exception propagates.");
}

// Store's methods that walk what a prefix (and a glob) select.
void DefineWalkMethods(PyStoreClass& c) {
  c.def(
       "keys",
       [](const py::object& self, const py::handle& prefix) {
         return PyStore::Walk(self, prefix, false);
       },
       py::arg("prefix") = py::bytes(""),
       "An iterator over the live keys under prefix. It reads the store a page at a time\n"
       "as it is consumed (as scan does): each key present for the whole iteration comes\n"
       "exactly once, a key added or deleted meanwhile at most once.")
      .def(
          "items",
          [](const py::object& self, const py::handle& prefix) {
            return PyStore::Walk(self, prefix, true);
          },
          py::arg("prefix") = py::bytes(""),
          "An iterator over (key, value) of the live entries under prefix, read a page at a\n"
          "time as keys() is.")
      .def("scan", &PyStore::ScanPage, py::arg("cursor") = 0, py::arg("count") = 10,
           py::arg("prefix") = py::bytes(""), py::arg("match") = py::none(),
           py::arg("values") = false,
           "One page of a walk: (next_cursor, keys), or (next_cursor, [(key, value)]) with\n"
           "values=True. Start with cursor 0 and pass next_cursor back until it is 0. At most\n"
           "count entries a page (more only for keys whose hashes share their top 32 bits); prefix "
           "and match (a byte glob, str, the same in every locale) "
           "select keys. Each key\n"
           "present for the whole walk comes exactly once. A cursor not from this store raises\n"
           "InvalidArgument.")
      .def("delete_matching", &PyStore::DeleteMatching, py::arg("prefix") = py::bytes(""),
           py::arg("match") = py::none(),
           "Deletes every entry whose key starts with prefix and matches the glob match;\n"
           "returns how many. Selecting everything raises InvalidArgument (use flush).")
      .def(
          "delete_prefix",
          [](PyStore& s, const py::handle& prefix) { return s.DeleteMatching(prefix, py::none()); },
          py::arg("prefix"), "Deletes every entry whose key starts with prefix; returns how many.");
}

// Store's methods on the whole store and the attachment, and the protocols.
void DefineStoreMethods(PyStoreClass& c) {
  c.def("stats", &PyStore::Stats, "Counters summed over the stripes (a dict).")
      .def("info", &PyStore::Info, "The store's settings and the segment's facts (a dict).")
      .def("check", &PyStore::Check, py::arg("repair") = false,
           "Verifies the store (and with repair=True repairs it); a dict with ok, problems, "
           "repairs, entries_checked, entries_dropped.")
      .def("flush", &PyStore::Flush, "Removes every entry.")
      .def("flush_expired", &PyStore::FlushExpired,
           "Removes expired entries now; returns how many.")
      .def("close", &PyStore::Close, "Detaches; the store stays. Further calls raise Error.")
      .def_property_readonly("closed", &PyStore::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](PyStore& s, const py::object&, const py::object&, const py::object&) {
             s.Close();
             return false;
           })
      .def("__getitem__", &PyStore::GetItem)
      .def("__setitem__", [](PyStore& s, const py::handle& k,
                             const py::handle& v) { s.Put(k, v, py::none(), py::int_(0)); })
      .def("__delitem__", &PyStore::DelItem)
      .def("__contains__", &PyStore::Contains)
      .def("__len__", &PyStore::Len);
}

}  // namespace

void DefineStore(py::module_& m, py::object meta_type) {
  PyStore::SetMetaType(std::move(meta_type));
  PyStoreClass c(m, "Store",
                 "One process's attachment to a store. Thread-safe; closes on close() or "
                 "at the end of a with block.");
  c.def(py::init<const py::object&, const py::object&, const py::object&, const py::object&,
                 const py::object&, const py::object&, const py::object&, const py::object&,
                 const py::object&, const py::object&, const py::object&, const py::object&>(),
        py::kw_only(), py::arg("key") = py::none(), py::arg("path") = py::none(),
        py::arg("proj") = 1, py::arg("create") = false, py::arg("capacity") = py::none(),
        py::arg("max_value") = py::none(), py::arg("evict") = true,
        py::arg("default_ttl") = py::none(), py::arg("mode") = 0600, py::arg("items") = py::none(),
        py::arg("lock_timeout") = 5.0, py::arg("allow_foreign_owner") = false,
        "Opens the store named by key (int or '0x5f3e0001') or by path and proj (ftok).\n"
        "create=True creates it if absent with capacity ('64MiB' or bytes), max_value,\n"
        "evict, default_ttl (seconds; None: never; below 1 ms: 1 ms, the store's\n"
        "resolution), mode and items (expected entries). Raises StoreNotFound,\n"
        "PermissionDenied, NotAStore, StoreFull, LockTimeout; TypeError, OverflowError\n"
        "or InvalidArgument (a ValueError) naming a bad argument.");
  DefineEntryMethods(c);
  DefineWalkMethods(c);
  DefineStoreMethods(c);

  DefineWalk(m);
  m.def("destroy", &Destroy, py::kw_only(), py::arg("key") = py::none(),
        py::arg("path") = py::none(), py::arg("proj") = 1,
        "Removes the store (its segment and semaphore set). Every later call of a process\n"
        "still attached fails (store destroyed) until it opens the name again. Only the\n"
        "store's owner, creator or root may destroy it (PermissionDenied otherwise, and\n"
        "nothing changes). Raises StoreNotFound when there is none.");
}

}  // namespace shmkv::python
