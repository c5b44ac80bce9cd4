// shmkv.NearCache: a read-through cache in front of Redis over a shmkv.Store,
// kept fresh by kvsync. Every call that may touch Redis or wait for a store
// lock runs with the GIL released.
#include "kv/python/near_cache.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "kv/python/arguments.h"
#include "kv/python/errors.h"
#include "kv/python/py_store.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"

namespace shmkv::python {
namespace {

using near::NearCache;
using near::NearCacheOptions;
using near::ReadInfo;
using near::ReadPath;

// Seconds as a Duration: finite and > 0 (>= 0 when zero_ok), else raises.
absl::Duration Seconds(const py::handle& object, const char* what, bool zero_ok = false) {
  const double seconds = Real(object, what);
  if (std::isnan(seconds) || std::isinf(seconds) || seconds < 0 || (seconds == 0 && !zero_ok)) {
    RaiseInvalid(absl::StrCat(what, "=", seconds, " is not valid: give finite seconds ",
                              zero_ok ? ">= 0" : "> 0"));
  }
  return absl::Seconds(seconds);
}

py::object DurationOrNone(absl::Duration d, bool known) {
  return known ? py::object(py::float_(absl::ToDoubleSeconds(d))) : py::object(py::none());
}

py::object TextOrNone(const std::string& text) {
  return text.empty() ? py::object(py::none()) : py::object(py::str(text));
}

class PyNearCache {
 public:
  PyNearCache(const py::object& store, const py::object& redis, const py::object& fill_ttl,
              const py::object& heartbeat_timeout, const py::object& redis_timeout,
              const py::object& sync_check_interval)
      : store_object_(store) {
    if (!py::isinstance<PyStore>(store)) {
      PyErr_Format(PyExc_TypeError, "NearCache needs a shmkv.Store, not %s",
                   Py_TYPE(store.ptr())->tp_name);
      throw py::error_already_set();
    }
    NearCacheOptions options;
    options.redis = Text(redis, "redis");
    options.fill_ttl = Seconds(fill_ttl, "fill_ttl");
    options.heartbeat_timeout = Seconds(heartbeat_timeout, "heartbeat_timeout");
    options.redis_timeout = Seconds(redis_timeout, "redis_timeout");
    options.sync_check_interval =
        Seconds(sync_check_interval, "sync_check_interval", /*zero_ok=*/true);
    std::shared_ptr<Store> attached = AttachedStore();
    absl::StatusOr<std::unique_ptr<NearCache>> cache =
        NearCache::Create(attached.get(), std::move(options));
    if (!cache.ok()) Raise(cache.status());
    cache_ = *std::move(cache);
  }

  // Runs `fn(NearCache&)` with the GIL released, the store and this cache
  // kept alive for the call even if another thread closes either meanwhile.
  // Raises when either was closed.
  template <typename Fn>
  auto Call(Fn fn) {
    std::shared_ptr<Store> store = AttachedStore();
    std::shared_ptr<NearCache> cache = cache_;
    if (cache == nullptr) RaiseError("this NearCache is closed; make a new one");
    py::gil_scoped_release release;
    return fn(*cache);
  }

  py::object Get(const py::handle& key) { return GetInfo(key)[0]; }

  py::tuple GetInfo(const py::handle& key) {
    Bytes k(key, "key");
    ReadInfo info;
    absl::StatusOr<std::string> value =
        Call([&](NearCache& cache) { return cache.Get(k.view(), &info); });
    if (absl::IsNotFound(value.status())) {
      return read_info_(py::none(), near::ReadPathName(info.path), TextOrNone(info.bypass_reason));
    }
    if (!value.ok()) Raise(value.status(), Context::kRedis);
    return read_info_(py::bytes(*value), near::ReadPathName(info.path),
                      TextOrNone(info.bypass_reason));
  }

  void Set(const py::handle& key, const py::handle& value) {
    Bytes k(key, "key"), v(value, "value");
    absl::Status s = Call([&](NearCache& cache) { return cache.Set(k.view(), v.view()); });
    if (!s.ok()) Raise(s, Context::kRedis);
  }

  bool Delete(const py::handle& key) {
    Bytes k(key, "key");
    absl::Status s = Call([&](NearCache& cache) { return cache.Delete(k.view()); });
    if (absl::IsNotFound(s)) return false;
    if (!s.ok()) Raise(s, Context::kRedis);
    return true;
  }

  py::object SyncStateDict() {
    absl::StatusOr<near::SyncState> state;
    near::SyncHealth health;
    Call([&](NearCache& cache) {
      state = cache.SyncStatus();
      if (state.ok()) health = near::EvaluateSync(*state, cache.options().heartbeat_timeout);
    });
    if (absl::IsNotFound(state.status())) return py::none();
    if (!state.ok()) Raise(state.status());
    py::dict d;
    d["phase"] = near::SyncPhaseName(state->phase);
    d["serving"] = health.serving;
    d["reason"] = TextOrNone(health.reason);
    d["pid"] = state->pid;
    d["epoch"] = state->epoch;
    d["heartbeat_age"] =
        absl::ToDoubleSeconds(absl::Milliseconds(near::MonotonicNowMs() - state->heartbeat_ms));
    d["heartbeat_interval"] =
        absl::ToDoubleSeconds(absl::Milliseconds(state->heartbeat_interval_ms));
    d["invalidations"] = state->invalidations;
    d["invalidations_skipped"] = state->invalidations_skipped;
    d["flushes"] = state->flushes;
    d["resyncs"] = state->resyncs;
    d["keys_cleared"] = state->keys_cleared;
    d["foreign_messages"] = state->foreign_messages;
    d["redis"] = state->redis;
    d["redis_run_id"] = TextOrNone(state->redis_run_id);
    py::list prefixes;
    for (const std::string& p : state->prefixes) prefixes.append(py::bytes(p));
    d["prefixes"] = prefixes;
    d["last_error"] = TextOrNone(state->last_error);
    return d;
  }

  py::dict Health(const py::handle& key) {
    Bytes k(key, "key");
    near::SyncHealth health;
    bool recorded = false;
    Call([&](NearCache& cache) {
      health = cache.Health(k.view());
      recorded = cache.SyncStatus().ok();
    });
    py::dict d;
    d["serving"] = health.serving;
    d["reason"] = TextOrNone(health.reason);
    d["heartbeat_age"] = DurationOrNone(health.heartbeat_age, recorded);
    return d;
  }

  py::dict Stats() {
    std::shared_ptr<NearCache> cache = cache_;
    if (cache == nullptr) RaiseError("this NearCache is closed; make a new one");
    const near::NearCacheStats s = cache->Stats();
    py::dict d;
    d["hits"] = s.hits;
    d["fills"] = s.fills;
    d["shared"] = s.shared;
    d["direct"] = s.direct;
    d["redis_reads"] = s.redis_reads;
    d["redis_errors"] = s.redis_errors;
    d["wrong_server"] = s.wrong_server;
    d["redirects"] = s.redirects;
    return d;
  }

  void Close() {
    std::shared_ptr<NearCache> cache = std::move(cache_);
    py::gil_scoped_release release;
    cache.reset();  // closes the Redis connection unless a call still runs
  }
  bool closed() const { return cache_ == nullptr; }

  static void SetReadInfoType(py::object type) { read_info_ = std::move(type); }

 private:
  std::shared_ptr<Store> AttachedStore() {
    return store_object_.cast<PyStore&>().Shared("the NearCache's store is closed");
  }

  py::object store_object_;  // keeps the shmkv.Store alive
  std::shared_ptr<NearCache> cache_;
  static py::object read_info_;
};

py::object PyNearCache::read_info_;

}  // namespace

void DefineNearCache(py::module_& m) {
  const NearCacheOptions defaults;  // the keyword arguments' defaults are NearCache's own
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  py::object read_info = namedtuple("ReadInfo", py::make_tuple("value", "path", "reason"));
  read_info.attr("__doc__") =
      "How NearCache.get_info served a key: value (bytes, or None when absent in Redis), path\n"
      "('hit': from the store; 'filled': this call read Redis and filled the store; 'shared':\n"
      "another process's concurrent fill; 'direct': read from Redis, nothing filled) and, for\n"
      "'direct', reason: why the store was not used (None otherwise).";
  read_info.attr("__module__") = "shmkv";
  m.attr("ReadInfo") = read_info;
  PyNearCache::SetReadInfoType(read_info);

  py::class_<PyNearCache>(
      m, "NearCache",
      "A read-through cache in front of Redis over a shmkv.Store: one copy of a value per host,\n"
      "one Redis read per key per host however many processes (of any language) miss it\n"
      "together, kept fresh by kvsync (tools/kvsync, one per host and store), which follows\n"
      "Redis's invalidations. When kvsync is not running, not synced or not tracking the key's\n"
      "prefix, reads go to Redis directly. Thread-safe; calls from one NearCache share one\n"
      "Redis connection. After os.fork() the child's first call opens its own connection\n"
      "(parent and child never share one). Keys and values are bytes (str is encoded as UTF-8).")
      .def(py::init<const py::object&, const py::object&, const py::object&, const py::object&,
                    const py::object&, const py::object&>(),
           py::arg("store"), py::kw_only(), py::arg("redis"),
           py::arg("fill_ttl") = absl::ToDoubleSeconds(defaults.fill_ttl),
           py::arg("heartbeat_timeout") = absl::ToDoubleSeconds(defaults.heartbeat_timeout),
           py::arg("redis_timeout") = absl::ToDoubleSeconds(defaults.redis_timeout),
           py::arg("sync_check_interval") = absl::ToDoubleSeconds(defaults.sync_check_interval),
           "Caches Redis at redis ('unix:/path/redis.sock', 'host:port', for a Redis\n"
           "Cluster 'cluster:HOST:PORT[,HOST:PORT...]', or for the primary Redis Sentinel\n"
           "names 'sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME') in store (a\n"
           "shmkv.Store, kept alive by this object). fill_ttl: seconds a filled value lives\n"
           "at most; heartbeat_timeout: a kvsync heartbeat older than this means kvsync is\n"
           "gone; redis_timeout: bounds connecting to Redis and each command;\n"
           "sync_check_interval: seconds a read trusts kvsync's record as last read (0: read\n"
           "it on every get). Does not connect yet. Raises InvalidArgument for a bad address\n"
           "or option.")
      .def("get", &PyNearCache::Get, py::arg("key"),
           "The value (bytes), or None when Redis has no such key (absence is not cached).\n"
           "Raises Unavailable when Redis cannot be reached, Error when the store was closed.")
      .def("get_info", &PyNearCache::GetInfo, py::arg("key"),
           "Like get, but returns a ReadInfo(value, path, reason) saying how the value was\n"
           "served. A key absent in Redis gives ReadInfo(None, 'direct', reason).")
      .def("set", &PyNearCache::Set, py::arg("key"), py::arg("value"),
           "SET in Redis, then drops the local copy (kvsync drops it on every host).\n"
           "Raises Unavailable when Redis cannot be reached.")
      .def("delete", &PyNearCache::Delete, py::arg("key"),
           "DEL in Redis and drops the local copy; False when Redis had no such key.")
      .def("sync_state", &PyNearCache::SyncStateDict,
           "kvsync's record in the store, a dict: phase ('connecting', 'synced', 'stopped'),\n"
           "serving (whether readers may use the store now), reason (why not, else None),\n"
           "pid, epoch, heartbeat_age and heartbeat_interval (seconds), invalidations,\n"
           "invalidations_skipped (keys too long for the store), flushes, resyncs, keys_cleared, "
           "foreign_messages (a client's PUBLISH on the invalidation channel), redis (the\n"
           "address), redis_run_id (the server followed; None while not synced), prefixes "
           "(bytes),\n"
           "last_error (None if never). None when no kvsync has run on the store.")
      .def("health", &PyNearCache::Health, py::arg("key"),
           "Whether a read of key would use the store now, a dict: serving (bool), reason\n"
           "(why not, else None), heartbeat_age (seconds; None when no kvsync has run).")
      .def("stats", &PyNearCache::Stats,
           "This object's counters (not host-wide), a dict: hits, fills, shared, direct,\n"
           "redis_reads, redis_errors, wrong_server, redirects.")
      .def("close", &PyNearCache::Close,
           "Closes the Redis connection; the store stays open. Further calls raise Error.")
      .def_property_readonly("closed", &PyNearCache::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyNearCache& c, const py::object&, const py::object&, const py::object&) {
        c.Close();
        return false;
      });
}

}  // namespace shmkv::python
