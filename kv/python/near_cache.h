// shmkv.NearCache: the C++ NearCache (kv/near) for Python.
#ifndef SHMKV_KV_PYTHON_NEAR_CACHE_H_
#define SHMKV_KV_PYTHON_NEAR_CACHE_H_

#include <pybind11/pybind11.h>

namespace shmkv::python {

// Defines shmkv.NearCache and shmkv.ReadInfo (a named tuple: value, path,
// reason). Call after shmkv.Store is defined.
void DefineNearCache(pybind11::module_& m);

}  // namespace shmkv::python

#endif  // SHMKV_KV_PYTHON_NEAR_CACHE_H_
