// shmkv.Store and shmkv.destroy.
#ifndef SHMKV_KV_PYTHON_STORE_H_
#define SHMKV_KV_PYTHON_STORE_H_

#include <pybind11/pybind11.h>

namespace shmkv::python {

// Defines shmkv.Store and shmkv.destroy; get_meta returns `meta_type`
// (shmkv.Meta) tuples.
void DefineStore(pybind11::module_& m, pybind11::object meta_type);

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_STORE_H_
