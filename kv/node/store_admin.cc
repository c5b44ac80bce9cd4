// Store: the calls on the whole store (stats, info, check, flush).
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kv/node/arguments.h"
#include "kv/node/errors.h"
#include "kv/node/node_store.h"
#include "shmkv/store.h"

namespace shmkv::node {
namespace {

Napi::Array Lines(const Napi::Env& env, const std::vector<std::string>& lines) {
  Napi::Array out = Napi::Array::New(env, lines.size());
  for (uint32_t i = 0; i < lines.size(); ++i) out.Set(i, lines[i]);
  return out;
}

Napi::Number Count(const Napi::Env& env, uint64_t n) {
  return Napi::Number::New(env, static_cast<double>(n));
}

}  // namespace

Napi::Value ReportValue(const Napi::Env& env, const CheckReport& report) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", report.ok);
  o.Set("problems", Lines(env, report.problems));
  o.Set("repairs", Lines(env, report.repairs));
  o.Set("entriesChecked", Count(env, report.entries_checked));
  o.Set("entriesDropped", Count(env, report.entries_dropped));
  return o;
}

Napi::Value NodeStore::Stats(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  absl::StatusOr<StoreStats> s = Shared(env)->Stats();
  if (!s.ok()) Throw(env, s.status());
  Napi::Object o = Napi::Object::New(env);
  o.Set("hits", Count(env, s->hits));
  o.Set("misses", Count(env, s->misses));
  o.Set("puts", Count(env, s->puts));
  o.Set("deletes", Count(env, s->deletes));
  o.Set("evictions", Count(env, s->evictions));
  o.Set("expirations", Count(env, s->expirations));
  o.Set("items", Count(env, s->items));
  o.Set("keyBytes", Count(env, s->key_bytes));
  o.Set("valueBytes", Count(env, s->value_bytes));
  o.Set("bytesUsed", Count(env, s->bytes_used));
  o.Set("capacity", Count(env, s->capacity));
  o.Set("indexEntries", Count(env, s->index_entries));
  o.Set("indexLimit", Count(env, s->index_limit));
  o.Set("lockWaits", Count(env, s->lock_waits));
  o.Set("ownerDeathsRecovered", Count(env, s->owner_deaths_recovered));
  return o;
}

Napi::Value NodeStore::Info(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  absl::StatusOr<StoreInfo> s = Shared(env)->Info();
  if (!s.ok()) Throw(env, s.status());
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", s->name);
  o.Set("key", Count(env, static_cast<uint32_t>(s->key)));
  o.Set("layoutVersion", Count(env, s->layout_version));
  o.Set("segmentBytes", Count(env, s->segment_bytes));
  o.Set("capacity", Count(env, s->capacity));
  o.Set("lockStripes", Count(env, s->lock_stripes));
  o.Set("maxKeySize", Count(env, s->max_key_size));
  o.Set("maxValueSize", Count(env, s->max_value_size));
  o.Set("evict", s->evict);
  o.Set("defaultTtl", s->default_ttl == absl::ZeroDuration()
                          ? Seconds(env, absl::InfiniteDuration())
                          : Seconds(env, s->default_ttl));
  o.Set("createdAtMs", Count(env, static_cast<uint64_t>(s->created_at_ms)));
  o.Set("creatorUid", Count(env, s->creator_uid));
  o.Set("ownerUid", Count(env, s->owner_uid));
  o.Set("creatorPid", Count(env, static_cast<uint64_t>(s->creator_pid)));
  o.Set("mode", Count(env, static_cast<uint64_t>(s->mode)));
  o.Set("attachedProcesses", Count(env, s->attached_processes));
  o.Set("warnings", Lines(env, s->warnings));
  return o;
}

Napi::Value NodeStore::Check(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const bool repair =
      Flag(Field(OptionsObject(env, info[0], "options"), "repair"), "repair", false);
  absl::StatusOr<CheckReport> report = Shared(env)->Check(repair);
  if (!report.ok()) Throw(env, report.status());
  return ReportValue(env, *report);
}

Napi::Value NodeStore::Flush(const Napi::CallbackInfo& info) {
  const absl::Status s = Shared(info.Env())->Clear();
  if (!s.ok()) Throw(info.Env(), s);
  return info.Env().Undefined();
}

Napi::Value NodeStore::FlushExpired(const Napi::CallbackInfo& info) {
  absl::StatusOr<uint64_t> n = Shared(info.Env())->FlushExpired();
  if (!n.ok()) Throw(info.Env(), n.status());
  return Count(info.Env(), *n);
}

}  // namespace shmkv::node
