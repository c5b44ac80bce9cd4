// The C API: flushing, counting, stats, info and check.
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kv/c/c_api.h"

using namespace shmkv::c_api;  // NOLINT: this file implements the C API over them

extern "C" {

shmkv_status shmkv_flush(shmkv_store* store, shmkv_error* err) {
  return GuardedCall(store, err,
                     [&]() -> shmkv_status { return Report(store->store->Clear(), err); });
}

shmkv_status shmkv_flush_expired(shmkv_store* store, uint64_t* removed, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::StatusOr<uint64_t> n = store->store->FlushExpired();
    if (!n.ok()) return Report(n.status(), err);
    if (removed != nullptr) *removed = *n;
    return SHMKV_OK;
  });
}

shmkv_status shmkv_size(shmkv_store* store, uint64_t* items, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    if (items == nullptr) return InvalidArgument("items is NULL: it receives the count", err);
    absl::StatusOr<uint64_t> n = store->store->Size();
    if (!n.ok()) return Report(n.status(), err);
    *items = *n;
    return SHMKV_OK;
  });
}

shmkv_status shmkv_get_stats(shmkv_store* store, shmkv_stats* stats, size_t stats_size,
                             shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::StatusOr<shmkv::StoreStats> s = store->store->Stats();
    if (!s.ok()) return Report(s.status(), err);
    shmkv_stats c = {};
    c.hits = s->hits;
    c.misses = s->misses;
    c.puts = s->puts;
    c.deletes = s->deletes;
    c.evictions = s->evictions;
    c.expirations = s->expirations;
    c.items = s->items;
    c.key_bytes = s->key_bytes;
    c.value_bytes = s->value_bytes;
    c.bytes_used = s->bytes_used;
    c.log_bytes = s->log_bytes;
    c.capacity = s->capacity;
    c.index_entries = s->index_entries;
    c.index_limit = s->index_limit;
    c.lock_waits = s->lock_waits;
    c.owner_deaths_recovered = s->owner_deaths_recovered;
    return CopyStruct(c, stats, stats_size, err);
  });
}

shmkv_status shmkv_get_info(shmkv_store* store, shmkv_info* info, size_t info_size,
                            shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::StatusOr<shmkv::StoreInfo> s = store->store->Info();
    if (!s.ok()) return Report(s.status(), err);
    shmkv_info c = {};
    CopyText(s->name, c.name);
    c.key = s->key;
    c.shm_id = s->shm_id;
    c.sem_id = s->sem_id;
    c.layout_version = s->layout_version;
    c.segment_bytes = s->segment_bytes;
    c.capacity = s->capacity;
    c.lock_stripes = s->lock_stripes;
    c.index_slots = s->index_slots;
    c.max_key_size = s->max_key_size;
    c.max_value_size = s->max_value_size;
    c.evict = s->evict;
    c.huge_pages = s->huge_pages;
    c.default_ttl = absl::ToDoubleSeconds(s->default_ttl);
    c.created_at_ms = s->created_at_ms;
    c.creator_uid = s->creator_uid;
    c.owner_uid = s->owner_uid;
    c.creator_pid = s->creator_pid;
    c.mode = s->mode;
    c.attached_processes = s->attached_processes;
    c.removed = s->removed;
    c.warnings = static_cast<uint32_t>(s->warnings.size());
    if (!s->warnings.empty()) CopyText(s->warnings[0], c.warning);
    return CopyStruct(c, info, info_size, err);
  });
}

shmkv_status shmkv_check(shmkv_store* store, int repair, shmkv_check_report* report,
                         size_t report_size, shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    absl::StatusOr<shmkv::CheckReport> r = store->store->Check(repair != 0);
    if (!r.ok()) return Report(r.status(), err);
    shmkv_check_report c = {};
    c.ok = r->ok;
    c.entries_checked = r->entries_checked;
    c.entries_dropped = r->entries_dropped;
    c.problems = static_cast<uint32_t>(r->problems.size());
    c.repairs = static_cast<uint32_t>(r->repairs.size());
    if (!r->problems.empty()) CopyText(r->problems[0], c.first_problem);
    return CopyStruct(c, report, report_size, err);
  });
}

}  // extern "C"
