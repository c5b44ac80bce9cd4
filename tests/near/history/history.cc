#include "tests/near/history/history.h"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shmkv::history {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr size_t kViolationsShown = 20;

// One value a key held in Redis: written by ops[op] (or the key's absence
// before the first write, op = -1), current from `start` at the earliest to
// `last` at the latest.
struct Version {
  int64_t start = 0, end = 0;
  bool ok = true;
  int op = -1;
  int64_t last = kNever;
  int overwritten_by = -1;  // the op whose end is `last`
};

struct KeyHistory {
  std::vector<Version> versions;
  std::unordered_map<std::string, std::vector<size_t>> by_value;
};

void AddVersion(KeyHistory& h, const std::string& value, const Version& v) {
  h.by_value[value].push_back(h.versions.size());
  h.versions.push_back(v);
}

// The key's history, begun (on first use) with its absence.
KeyHistory& KeyOf(std::map<std::string, KeyHistory>& keys, const std::string& key) {
  auto [it, inserted] = keys.try_emplace(key);
  if (inserted) AddVersion(it->second, kAbsent, Version{0, 0, true, -1});
  return it->second;
}

// Sets each version's `last`: the earliest end of a successful write that
// began after it ended.
void ComputeLast(KeyHistory& h) {
  std::vector<size_t> order;
  for (size_t i = 0; i < h.versions.size(); ++i) {
    if (h.versions[i].ok) order.push_back(i);
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return h.versions[a].start < h.versions[b].start; });
  // suffix[i]: the version of order[i..] that ends first.
  std::vector<size_t> suffix(order.size());
  for (size_t i = order.size(); i-- > 0;) {
    suffix[i] = order[i];
    if (i + 1 < order.size() && h.versions[suffix[i + 1]].end < h.versions[order[i]].end) {
      suffix[i] = suffix[i + 1];
    }
  }
  for (Version& v : h.versions) {
    if (!v.ok) continue;  // may have applied at any time: current until the end
    auto first_after =
        std::upper_bound(order.begin(), order.end(), v.end,
                         [&](int64_t t, size_t i) { return t < h.versions[i].start; });
    if (first_after == order.end()) continue;
    const Version& next = h.versions[suffix[first_after - order.begin()]];
    v.last = next.end;
    v.overwritten_by = next.op;
  }
}

std::string Ms(int64_t ns) { return absl::StrFormat("%.3f ms", static_cast<double>(ns) / 1e6); }

std::string Describe(const std::vector<Op>& ops, int op) {
  return op < 0 ? "(the key's absence before the first write)" : FormatOp(ops[op]);
}

}  // namespace

std::string CheckResult::Summary() const {
  return absl::StrCat("reads checked ", reads_checked, " (", hits,
                      " from the store), reads failed ", reads_failed, ", writes ", writes, " (",
                      writes_failed, " failed), faults ", faults, ", largest staleness ",
                      Ms(max_staleness_ns), ", wrong values ", wrong_values,
                      ", reads staler than the bound ", too_stale);
}

CheckResult Check(const std::vector<Op>& ops, int64_t bound_ns) {
  CheckResult result;
  std::map<std::string, KeyHistory> keys;
  std::vector<const Op*> restarts;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.kind == OpKind::kRead) KeyOf(keys, op.key);
    if (op.kind == OpKind::kFault || op.kind == OpKind::kRedisRestart) ++result.faults;
    if (op.kind == OpKind::kRedisRestart) restarts.push_back(&op);
    if (op.kind != OpKind::kWrite) continue;
    ++result.writes;
    if (!op.ok) ++result.writes_failed;
    AddVersion(KeyOf(keys, op.key), op.value,
               Version{op.start_ns, op.end_ns, op.ok, static_cast<int>(i)});
  }
  for (auto& [key, h] : keys) {
    for (const Op* r : restarts) {
      AddVersion(h, kAbsent,
                 Version{r->start_ns, r->end_ns, true, static_cast<int>(r - ops.data())});
    }
    ComputeLast(h);
  }
  for (const Op& r : ops) {
    if (r.kind != OpKind::kRead) continue;
    if (!r.ok) {
      ++result.reads_failed;
      continue;
    }
    ++result.reads_checked;
    if (r.detail == "hit") ++result.hits;
    const KeyHistory& h = keys[r.key];
    auto found = h.by_value.find(r.value);
    const Version* best = nullptr;
    int64_t staleness = kNever;
    if (found != h.by_value.end()) {
      for (size_t i : found->second) {
        const Version& v = h.versions[i];
        if (v.start > r.end_ns) continue;  // written after the read ended
        const int64_t s = v.last == kNever ? 0 : std::max<int64_t>(0, r.start_ns - v.last);
        if (s < staleness) staleness = s, best = &v;
      }
    }
    if (best == nullptr) {
      ++result.wrong_values;
      if (result.violations.size() < kViolationsShown) {
        result.violations.push_back(absl::StrCat(
            "read a value never written to its key (before the read ended): ", FormatOp(r)));
      }
      continue;
    }
    result.max_staleness_ns = std::max(result.max_staleness_ns, staleness);
    if (staleness <= bound_ns) continue;
    ++result.too_stale;
    if (result.violations.size() < kViolationsShown) {
      result.violations.push_back(absl::StrCat(
          "read a value ", Ms(staleness), " after it was replaced (bound ", Ms(bound_ns),
          "):\n  read:     ", FormatOp(r), "\n  written:  ", Describe(ops, best->op),
          "\n  replaced: ", Describe(ops, best->overwritten_by)));
    }
  }
  return result;
}

}  // namespace shmkv::history
