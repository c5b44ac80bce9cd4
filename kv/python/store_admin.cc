// shmkv.Store's maintenance and statistics: stats, info, check, flush,
// flush_expired.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kv/python/arguments.h"
#include "kv/python/errors.h"
#include "kv/python/py_store.h"
#include "shmkv/store.h"

namespace shmkv::python {

py::dict PyStore::Stats() {
  absl::StatusOr<StoreStats> r = Call([](Store& st) { return st.Stats(); });
  if (!r.ok()) Raise(r.status());
  py::dict d;
  d["hits"] = r->hits;
  d["misses"] = r->misses;
  d["puts"] = r->puts;
  d["deletes"] = r->deletes;
  d["evictions"] = r->evictions;
  d["expirations"] = r->expirations;
  d["items"] = r->items;
  d["key_bytes"] = r->key_bytes;
  d["value_bytes"] = r->value_bytes;
  d["bytes_used"] = r->bytes_used;
  d["log_bytes"] = r->log_bytes;
  d["capacity"] = r->capacity;
  d["index_entries"] = r->index_entries;
  d["index_limit"] = r->index_limit;
  d["lock_waits"] = r->lock_waits;
  d["owner_deaths_recovered"] = r->owner_deaths_recovered;
  return d;
}

py::dict PyStore::Info() {
  absl::StatusOr<StoreInfo> r = Call([](Store& st) { return st.Info(); });
  if (!r.ok()) Raise(r.status());
  py::dict d;
  d["name"] = r->name;
  d["key"] = static_cast<uint32_t>(r->key);
  d["shm_id"] = r->shm_id;
  d["sem_id"] = r->sem_id;
  d["layout_version"] = r->layout_version;
  d["segment_bytes"] = r->segment_bytes;
  d["capacity"] = r->capacity;
  d["lock_stripes"] = r->lock_stripes;
  d["index_slots"] = r->index_slots;
  d["max_key_size"] = r->max_key_size;
  d["max_value_size"] = r->max_value_size;
  d["evict"] = r->evict;
  d["huge_pages"] = r->huge_pages;
  d["default_ttl"] = r->default_ttl == absl::ZeroDuration() ? py::none() : Seconds(r->default_ttl);
  d["created_at_ms"] = r->created_at_ms;
  d["creator_uid"] = r->creator_uid;
  d["owner_uid"] = r->owner_uid;
  d["creator_pid"] = r->creator_pid;
  d["mode"] = r->mode;
  d["attached_processes"] = r->attached_processes;
  d["removed"] = r->removed;
  d["warnings"] = r->warnings;
  return d;
}

py::dict PyStore::Check(const py::handle& repair) {
  const bool fix = Flag(repair, "repair");
  absl::StatusOr<CheckReport> r = Call([&](Store& st) { return st.Check(fix); });
  if (!r.ok()) Raise(r.status());
  py::dict d;
  d["ok"] = r->ok;
  d["problems"] = r->problems;
  d["repairs"] = r->repairs;
  d["entries_checked"] = r->entries_checked;
  d["entries_dropped"] = r->entries_dropped;
  return d;
}

void PyStore::Flush() {
  absl::Status s = Call([](Store& st) { return st.Clear(); });
  if (!s.ok()) Raise(s);
}

uint64_t PyStore::FlushExpired() {
  absl::StatusOr<uint64_t> r = Call([](Store& st) { return st.FlushExpired(); });
  if (!r.ok()) Raise(r.status());
  return *r;
}

}  // namespace shmkv::python
