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
  PyStore(const py::object& key, const py::object& path, int proj, bool create,
          const py::object& capacity, const py::object& max_value, bool evict,
          const py::object& default_ttl, int mode, const py::object& items, double lock_timeout,
          bool allow_foreign_owner);

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
  void Put(const py::handle& key, const py::handle& value, const py::object& ttl, uint32_t flags);
  bool Conditional(const py::handle& key, const py::handle& value, const py::object& ttl,
                   WriteCondition condition, uint64_t version);
  int64_t Incr(const py::handle& key, int64_t delta, int64_t init, const py::object& ttl);
  bool Touch(const py::handle& key, const py::object& ttl);
  bool Delete(const py::handle& key);
  void DelItem(const py::handle& key);
  bool Contains(const py::handle& key);
  uint64_t Len();
  py::bytes GetOrCompute(const py::handle& key, const py::object& fn, const py::object& ttl,
                         double wait_timeout);

  // Batches and walks (store_batch.cc).
  py::list GetMany(const py::iterable& keys);
  void PutMany(const py::object& items, const py::object& ttl, uint32_t flags);
  py::iterator Walk(const py::handle& prefix, bool with_values);
  py::tuple ScanPage(uint64_t cursor, size_t count, const py::handle& prefix,
                     const std::optional<std::string>& match, bool values);
  uint64_t DeleteMatching(const py::handle& prefix, const std::optional<std::string>& match);

  // Maintenance and statistics (store_admin.cc).
  py::dict Stats();
  py::dict Info();
  py::dict Check(bool repair);
  void Flush();
  uint64_t FlushExpired();

  void Close();
  bool closed() const { return store_ == nullptr; }

  static void SetMetaType(py::object type) { meta_type_ = std::move(type); }

 private:
  std::shared_ptr<Store> store_;
  static py::object meta_type_;
};

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_PY_STORE_H_
