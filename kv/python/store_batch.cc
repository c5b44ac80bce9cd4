// shmkv.Store's batches and walks: get_many, put_many, keys, items, scan,
// delete_matching.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kv/python/arguments.h"
#include "kv/python/errors.h"
#include "kv/python/py_store.h"
#include "shmkv/store.h"

namespace shmkv::python {
namespace {

// `status`, its message naming the batch item it is about.
absl::Status ForItem(const absl::Status& status, size_t index) {
  return absl::Status(status.code(), absl::StrCat("item ", index, ": ", status.message()));
}

// What scan, keys, items and delete_matching select.
ScanOptions Selection(const py::handle& prefix, const std::optional<std::string>& match,
                      bool with_values) {
  Bytes p(prefix, "prefix");
  ScanOptions options;
  options.prefix = std::string(p.view());
  if (match.has_value()) options.match = *match;
  options.with_values = with_values;
  return options;
}

// Keys, or (key, value) pairs when with_values.
py::list EntryList(const std::vector<std::pair<std::string, std::string>>& entries,
                   bool with_values) {
  py::list out;
  for (const auto& [key, value] : entries) {
    if (with_values) {
      out.append(py::make_tuple(py::bytes(key), py::bytes(value)));
    } else {
      out.append(py::bytes(key));
    }
  }
  return out;
}

}  // namespace

// A list of values (None where absent) for an iterable of keys, read with
// one GetMany.
py::list PyStore::GetMany(const py::iterable& keys) {
  py::list held;  // keeps each key object, which its Bytes views, alive
  for (py::handle k : keys) held.append(k);
  std::deque<Bytes> bytes;  // a deque: its elements (views into themselves) never move
  thread_local std::vector<absl::string_view> views;
  thread_local std::vector<GetResult> results;
  views.clear();
  for (py::handle k : held) views.push_back(bytes.emplace_back(k, "key").view());
  absl::Status s = Call([&](Store& st) { return st.GetMany(views, &results); });
  if (!s.ok()) Raise(s);
  py::list out(views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    const GetResult& r = results[i];
    if (absl::IsNotFound(r.status)) {
      out[i] = py::none();
    } else if (!r.status.ok()) {
      Raise(ForItem(r.status, i));
    } else {
      out[i] = py::bytes(r.value.data(), r.value.size());
    }
  }
  return out;
}

// Stores each (key, value) of `items` (a dict, or an iterable of pairs)
// with one PutMany. Raises the first item's error after the call; the
// other items are stored all the same.
void PyStore::PutMany(const py::object& items, const py::object& ttl, uint32_t flags) {
  py::object pairs = py::isinstance<py::dict>(items) ? items.attr("items")() : items;
  py::list held;
  for (py::handle pair : pairs) {
    const bool is_pair =
        (py::isinstance<py::tuple>(pair) || py::isinstance<py::list>(pair)) && py::len(pair) == 2;
    if (!is_pair) RaiseInvalid("put_many takes a dict or (key, value) pairs");
    held.append(py::tuple(py::reinterpret_borrow<py::object>(pair)));
  }
  std::deque<Bytes> bytes;
  thread_local std::vector<PutItem> puts;
  thread_local std::vector<PutResult> results;
  puts.clear();
  for (py::handle pair : held) {
    py::tuple t = py::reinterpret_borrow<py::tuple>(pair);
    const absl::string_view k = bytes.emplace_back(t[0], "key").view();
    puts.push_back(PutItem{k, bytes.emplace_back(t[1], "value").view()});
  }
  WriteOptions options;
  options.ttl = Ttl(ttl);
  options.flags = flags;
  absl::Status s = Call([&](Store& st) { return st.PutMany(puts, options, &results); });
  if (!s.ok()) Raise(s);
  for (size_t i = 0; i < puts.size(); ++i) {
    if (!results[i].status.ok()) Raise(ForItem(results[i].status, i));
  }
}

// Keys (with_values false: no value is copied) or (key, value) pairs
// under `prefix`, collected page by page with the GIL released.
py::iterator PyStore::Walk(const py::handle& prefix, bool with_values) {
  const ScanOptions options = Selection(prefix, std::nullopt, with_values);
  std::vector<std::pair<std::string, std::string>> entries;
  absl::Status s = Call([&](Store& st) -> absl::Status {
    uint64_t cursor = 0;
    do {
      absl::StatusOr<uint64_t> next =
          st.Scan(cursor, 256, options,
                  [&](absl::string_view key, absl::string_view value, const EntryMeta&) {
                    entries.emplace_back(std::string(key), std::string(value));
                  });
      if (!next.ok()) return next.status();
      cursor = *next;
    } while (cursor != 0);
    return absl::OkStatus();
  });
  if (!s.ok()) Raise(s);
  return py::iter(EntryList(entries, with_values));
}

// One page of Store::Scan: (next cursor, keys or (key, value) pairs).
py::tuple PyStore::ScanPage(uint64_t cursor, size_t count, const py::handle& prefix,
                            const std::optional<std::string>& match, bool values) {
  const ScanOptions options = Selection(prefix, match, values);
  std::vector<std::pair<std::string, std::string>> entries;
  absl::StatusOr<uint64_t> next = Call([&](Store& st) {
    return st.Scan(cursor, count, options,
                   [&](absl::string_view key, absl::string_view value, const EntryMeta&) {
                     entries.emplace_back(std::string(key), std::string(value));
                   });
  });
  if (!next.ok()) Raise(next.status());
  return py::make_tuple(*next, EntryList(entries, values));
}

uint64_t PyStore::DeleteMatching(const py::handle& prefix,
                                 const std::optional<std::string>& match) {
  const ScanOptions options = Selection(prefix, match, false);
  if (options.prefix.empty() && options.match.empty()) {
    Raise(absl::InvalidArgumentError(
        "no prefix and no match select every entry; use flush() to delete everything"));
  }
  absl::StatusOr<uint64_t> n = Call([&](Store& st) { return st.DeleteMatching(options); });
  if (!n.ok()) Raise(n.status());
  return *n;
}

}  // namespace shmkv::python
