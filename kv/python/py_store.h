// The class behind shmkv.Store: one process's attachment, every call with
// the GIL released while it may wait for a lock. Its methods are defined by
// concern: store.cc (opening, single entries, closing, the bindings),
// store_batch.cc (get_many, put_many, keys, items, scan, delete_matching),
// store_admin.cc (stats, info, check, flush).
#ifndef SHMKV_KV_PYTHON_PY_STORE_H_
#define SHMKV_KV_PYTHON_PY_STORE_H_

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kv/python/errors.h"
#include "shmkv/store.h"

namespace shmkv::python {

namespace py = pybind11;

class PyStore {
 public:
  // Every argument is converted here (arguments.h), so a wrong type gets a
  // TypeError naming it rather than pybind11's own message.
  PyStore(const py::object& key, const py::object& path, const py::object& proj,
          const py::object& create, const py::object& capacity, const py::object& max_value,
          const py::object& evict, const py::object& default_ttl, const py::object& mode,
          const py::object& items, const py::object& lock_timeout,
          const py::object& allow_foreign_owner);

  // Runs `fn(Store&)` with the GIL released; raises on a closed store. The
  // call holds a reference: a close() from another thread meanwhile detaches
  // when it returns.
  template <typename Fn>
  auto Call(Fn fn) {
    std::shared_ptr<Store> store = Shared("this store is closed; open it again");
    py::gil_scoped_release release;
    return fn(*store);
  }

  // The attachment, for objects that use it (NearCache) to hold for the
  // length of a call; raises shmkv.Error with `closed_message` once closed.
  std::shared_ptr<Store> Shared(const char* closed_message) const {
    if (store_ == nullptr) RaiseError(closed_message);
    return store_;
  }

  // Single entries (store.cc).
  py::object Get(const py::handle& key);
  py::object GetMeta(const py::handle& key);
  py::bytes GetItem(const py::handle& key);
  void Put(const py::handle& key, const py::handle& value, const py::handle& ttl,
           const py::handle& flags);
  bool Conditional(const py::handle& key, const py::handle& value, const py::handle& ttl,
                   WriteCondition condition, const py::handle& version);
  int64_t Incr(const py::handle& key, const py::handle& delta, const py::handle& init,
               const py::handle& ttl);
  bool Touch(const py::handle& key, const py::handle& ttl);
  bool Delete(const py::handle& key);
  void DelItem(const py::handle& key);
  bool Contains(const py::handle& key);
  uint64_t Len();
  py::bytes GetOrCompute(const py::handle& key, const py::object& fn, const py::handle& ttl,
                         const py::handle& wait_timeout);

  // Batches and walks (store_batch.cc).
  // Each converts all its arguments before it collects views of them: a
  // conversion may run Python code (__index__, __float__, an iterator),
  // even this method again from the same thread.
  py::list GetMany(const py::handle& keys);
  void PutMany(const py::object& items, const py::handle& ttl, const py::handle& flags);
  // keys() and items(): an iterator that reads the store a page at a time
  // as it is consumed; it keeps `self` (a Store) alive.
  static py::object Walk(const py::object& self, const py::handle& prefix, bool with_values);
  py::tuple ScanPage(const py::handle& cursor, const py::handle& count, const py::handle& prefix,
                     const py::handle& match, const py::handle& values);
  uint64_t DeleteMatching(const py::handle& prefix, const py::handle& match);

  // Maintenance and statistics (store_admin.cc).
  py::dict Stats();
  py::dict Info();
  py::dict Check(const py::handle& repair);
  void Flush();
  uint64_t FlushExpired();

  void Close();
  bool closed() const { return store_ == nullptr; }

  static void SetMetaType(py::object type) { meta_type_ = std::move(type); }

 private:
  // After a write failed with ResourceExhausted: raises InvalidArgument
  // (not StoreFull: the store is not full) when the value of `size` bytes
  // is over the store's max_value.
  void CheckValueSize(size_t size, const char* what);

  std::shared_ptr<Store> store_;
  uint64_t max_value_ = 0;  // the store's, read on the first need (0: not yet)
  static py::object meta_type_;
};

// Defines the iterator class keys() and items() return.
void DefineWalk(py::module_& m);

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_PY_STORE_H_
