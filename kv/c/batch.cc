// The C API's batches: shmkv_get_many and shmkv_put_many over Store::GetMany
// and Store::PutMany. The C++ calls' arguments and results live in
// per-thread vectors that keep their capacity, so a steady batch allocates
// nothing.
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "kv/c/c_api.h"

using namespace shmkv::c_api;  // NOLINT: this file implements the C API over them

namespace {

// The C++ condition for a C one; false when `condition` names none.
bool ConditionOf(int condition, shmkv::WriteCondition* out) {
  switch (condition) {
    case SHMKV_WRITE_ALWAYS:
      *out = shmkv::WriteCondition::kAlways;
      return true;
    case SHMKV_WRITE_IF_ABSENT:
      *out = shmkv::WriteCondition::kIfAbsent;
      return true;
    case SHMKV_WRITE_IF_PRESENT:
      *out = shmkv::WriteCondition::kIfPresent;
      return true;
    case SHMKV_WRITE_IF_VERSION:
      *out = shmkv::WriteCondition::kIfVersion;
      return true;
    default:
      return false;
  }
}

// False (reported) for NULL items with a nonzero count.
bool CheckBatch(const void* items, size_t count, shmkv_error* err) {
  if (items == nullptr && count != 0) {
    InvalidArgument("items is NULL but count is not 0", err);
    return false;
  }
  return true;
}

}  // namespace

extern "C" {

shmkv_status shmkv_get_many(shmkv_store* store, shmkv_get_item* items, size_t count,
                            shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    if (!CheckBatch(items, count, err)) return SHMKV_INVALID_ARGUMENT;
    thread_local std::vector<absl::string_view> keys;
    thread_local std::vector<size_t> index;  // keys[j] is items[index[j]]'s key
    thread_local std::vector<shmkv::GetResult> results;
    keys.clear();
    index.clear();
    for (size_t i = 0; i < count; ++i) {
      shmkv_get_item& item = items[i];
      item.value_size = 0;
      absl::string_view key;
      if (!Bytes(item.key, item.key_size, "key", &key, nullptr) ||
          (item.buf == nullptr && item.buf_size != 0)) {
        item.status = SHMKV_INVALID_ARGUMENT;
        continue;
      }
      keys.push_back(key);
      index.push_back(i);
    }
    const absl::Status call = store->store->GetMany(keys, &results);
    for (size_t j = 0; j < keys.size(); ++j) {
      shmkv_get_item& item = items[index[j]];
      const shmkv::GetResult& r = results[j];
      item.status = CodeOf(r.status);
      if (!r.status.ok()) continue;
      item.status = CopyOut(r.value, item.buf, item.buf_size, &item.value_size, nullptr);
      FillMeta(r.meta, &item.meta);
    }
    return Report(call, err);
  });
}

shmkv_status shmkv_put_many(shmkv_store* store, shmkv_put_item* items, size_t count,
                            shmkv_error* err) {
  return GuardedCall(store, err, [&]() -> shmkv_status {
    if (!CheckBatch(items, count, err)) return SHMKV_INVALID_ARGUMENT;
    thread_local std::vector<shmkv::WriteOptions> options;
    thread_local std::vector<shmkv::PutItem> puts;
    thread_local std::vector<size_t> index;  // puts[j] is items[index[j]]
    thread_local std::vector<shmkv::PutResult> results;
    options.resize(count);
    puts.clear();
    index.clear();
    for (size_t i = 0; i < count; ++i) {
      shmkv_put_item& item = items[i];
      item.version = 0;
      shmkv::PutItem put;
      shmkv::WriteOptions& o = options[i];
      o = shmkv::WriteOptions();
      if (!Bytes(item.key, item.key_size, "key", &put.key, nullptr) ||
          !Bytes(item.value, item.value_size, "value", &put.value, nullptr) ||
          !Ttl(item.ttl, &o.ttl, nullptr) || !ConditionOf(item.condition, &o.condition)) {
        item.status = SHMKV_INVALID_ARGUMENT;
        continue;
      }
      o.flags = item.flags;
      o.expected_version = item.expected_version;
      put.options = &o;
      puts.push_back(put);
      index.push_back(i);
    }
    const absl::Status call = store->store->PutMany(puts, shmkv::WriteOptions(), &results);
    for (size_t j = 0; j < puts.size(); ++j) {
      shmkv_put_item& item = items[index[j]];
      item.status = CodeOf(results[j].status);
      item.version = results[j].version;
    }
    return Report(call, err);
  });
}

}  // extern "C"
