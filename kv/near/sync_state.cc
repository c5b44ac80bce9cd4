#include "shmkv/near/sync_state.h"

#include <time.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "kv/platform/monotonic_clock.h"
#include "kv/platform/process.h"
#include "kv/util/escape.h"

namespace shmkv::near {
namespace {

absl::Status Malformed(absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat("the near-cache sync record is malformed (", why,
                   "); restart kvsync, which rewrites it, or delete the key \\x00shmkv.near.sync"));
}

}  // namespace

const char* SyncPhaseName(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::kConnecting:
      return "connecting";
    case SyncPhase::kSynced:
      return "synced";
    case SyncPhase::kStopped:
      return "stopped";
  }
  return "?";
}

bool SyncState::Tracks(absl::string_view key) const {
  for (const std::string& p : prefixes) {
    if (absl::StartsWith(key, p)) return true;
  }
  return false;
}

int64_t MonotonicNowNs() { return platform::BootTimeNanos(); }

int64_t MonotonicNowMs() { return MonotonicNowNs() / 1000000; }

const std::string& HostBootId() { return platform::BootId(); }

namespace {

platform::ProcessIdentity IdentityOf(const SyncState& state) {
  platform::ProcessIdentity id;
  id.pid = state.pid;
  id.start_time = state.pid_start_time;
  id.pid_namespace = state.pid_namespace;
  return id;
}

// Whether the kvsync that wrote `state` (in this boot) may run: not gone,
// not a zombie, not a later process with its pid. One of another PID
// namespace cannot be checked: it may.
bool Runs(const SyncState& state) {
  return state.pid > 0 && platform::LivenessOf(IdentityOf(state)) != platform::Liveness::kDead;
}

}  // namespace

bool KvsyncMayBeRunning(const SyncState& state, absl::Duration stale_after) {
  const int64_t age_ms = MonotonicNowMs() - state.heartbeat_ms;
  return state.phase != SyncPhase::kStopped && state.boot_id == HostBootId() && age_ms >= 0 &&
         absl::Milliseconds(age_ms) <= stale_after && Runs(state);
}

void SetThisProcess(SyncState* state) {
  const platform::ProcessIdentity& self = platform::CurrentIdentity();
  state->pid = self.pid;
  state->pid_start_time = self.start_time;
  state->pid_namespace = self.pid_namespace;
}

bool WrittenByThisProcess(const SyncState& state) {
  const platform::ProcessIdentity& self = platform::CurrentIdentity();
  return state.pid == self.pid && state.pid_start_time == self.start_time &&
         state.pid_namespace == self.pid_namespace;
}

SyncHealth EvaluateSync(const SyncState& state, absl::Duration heartbeat_timeout) {
  return EvaluateSync(state, heartbeat_timeout, MonotonicNowMs());
}

SyncHealth EvaluateSync(const SyncState& state, absl::Duration heartbeat_timeout, int64_t now_ms) {
  SyncHealth health;
  health.heartbeat_age = absl::Milliseconds(now_ms - state.heartbeat_ms);
  if (!state.synced()) {
    health.reason = absl::StrCat("kvsync (pid ", state.pid, ") is ", SyncPhaseName(state.phase),
                                 state.last_error.empty() ? "" : ": ", state.last_error);
    return health;
  }
  if (state.boot_id != HostBootId()) {
    health.reason = absl::StrCat("the sync record (pid ", state.pid,
                                 ") was not written in this boot of this host (restored from a "
                                 "dump?); start kvsync, which rewrites it");
    return health;
  }
  if (health.heartbeat_age < absl::ZeroDuration()) {
    health.reason = absl::StrCat("kvsync's (pid ", state.pid,
                                 ") heartbeat is ahead of this host's clock; restart kvsync");
    return health;
  }
  if (health.heartbeat_age > heartbeat_timeout) {
    health.reason =
        absl::StrCat("kvsync (pid ", state.pid, ") last beat ",
                     absl::FormatDuration(health.heartbeat_age), " ago; restart it if it is gone");
    return health;
  }
  if (health.heartbeat_age > absl::Milliseconds(3 * state.heartbeat_interval_ms) && !Runs(state)) {
    health.reason = absl::StrCat("kvsync (pid ", state.pid, ") is gone; restart it");
    return health;
  }
  health.serving = true;
  return health;
}

std::string FormatSyncState(const SyncState& s) {
  std::string out = absl::StrCat(
      "format=1\npid=", s.pid, "\npid_start_time=", s.pid_start_time,
      "\npid_namespace=", s.pid_namespace, "\nphase=", SyncPhaseName(s.phase), "\nepoch=", s.epoch,
      "\nboot_id=", util::EscapeKey(s.boot_id), "\nheartbeat_ms=", s.heartbeat_ms,
      "\nheartbeat_interval_ms=", s.heartbeat_interval_ms, "\ninvalidations=", s.invalidations,
      "\ninvalidations_skipped=", s.invalidations_skipped, "\nflushes=", s.flushes,
      "\nresyncs=", s.resyncs, "\nkeys_cleared=", s.keys_cleared,
      "\nredis=", util::EscapeKey(s.redis), "\n");
  absl::StrAppend(&out, "redis_run_id=", util::EscapeKey(s.redis_run_id),
                  "\nforeign_messages=", s.foreign_messages, "\n");
  for (const std::string& p : s.prefixes)
    absl::StrAppend(&out, "prefix=", util::EscapeKey(p), "\n");
  absl::StrAppend(&out, "last_error=", util::EscapeKey(s.last_error), "\n");
  return out;
}

absl::StatusOr<SyncState> ParseSyncState(absl::string_view record) {
  SyncState s;
  bool have_format = false, have_phase = false;
  for (absl::string_view line : absl::StrSplit(record, '\n', absl::SkipEmpty())) {
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return Malformed(absl::StrCat("a line without '='"));
    absl::string_view name = line.substr(0, eq), value = line.substr(eq + 1);
    bool ok = true;
    if (name == "format") {
      have_format = value == "1";
      ok = have_format;
    } else if (name == "pid") {
      ok = absl::SimpleAtoi(value, &s.pid);
    } else if (name == "pid_start_time") {
      ok = absl::SimpleAtoi(value, &s.pid_start_time);
    } else if (name == "pid_namespace") {
      ok = absl::SimpleAtoi(value, &s.pid_namespace);
    } else if (name == "phase") {
      have_phase = true;
      if (value == "connecting") {
        s.phase = SyncPhase::kConnecting;
      } else if (value == "synced") {
        s.phase = SyncPhase::kSynced;
      } else if (value == "stopped") {
        s.phase = SyncPhase::kStopped;
      } else {
        ok = false;
      }
    } else if (name == "epoch") {
      ok = absl::SimpleAtoi(value, &s.epoch);
    } else if (name == "heartbeat_ms") {
      ok = absl::SimpleAtoi(value, &s.heartbeat_ms);
    } else if (name == "heartbeat_interval_ms") {
      ok = absl::SimpleAtoi(value, &s.heartbeat_interval_ms);
    } else if (name == "invalidations") {
      ok = absl::SimpleAtoi(value, &s.invalidations);
    } else if (name == "invalidations_skipped") {
      ok = absl::SimpleAtoi(value, &s.invalidations_skipped);
    } else if (name == "flushes") {
      ok = absl::SimpleAtoi(value, &s.flushes);
    } else if (name == "resyncs") {
      ok = absl::SimpleAtoi(value, &s.resyncs);
    } else if (name == "keys_cleared") {
      ok = absl::SimpleAtoi(value, &s.keys_cleared);
    } else if (name == "foreign_messages") {
      ok = absl::SimpleAtoi(value, &s.foreign_messages);
    } else if (name == "redis" || name == "prefix" || name == "last_error" || name == "boot_id" ||
               name == "redis_run_id") {
      absl::StatusOr<std::string> text = util::UnescapeKey(value);
      ok = text.ok();
      if (ok && name == "redis") s.redis = *std::move(text);
      if (ok && name == "prefix") s.prefixes.push_back(*std::move(text));
      if (ok && name == "last_error") s.last_error = *std::move(text);
      if (ok && name == "boot_id") s.boot_id = *std::move(text);
      if (ok && name == "redis_run_id") s.redis_run_id = *std::move(text);
    }  // Unknown names are fields of a later format 1 writer: ignored.
    if (!ok) return Malformed(absl::StrCat("bad field ", name));
  }
  if (!have_format) return Malformed("no format=1 line");
  if (!have_phase) return Malformed("no phase");
  return s;
}

absl::StatusOr<SyncState> ReadSyncState(Store& store) {
  std::string record;
  absl::Status got = store.Get(kSyncStateKey, &record);
  if (absl::IsNotFound(got)) {
    return absl::NotFoundError(
        "no kvsync has run on this store: start kvsync --redis=ADDR --prefix=P for it");
  }
  if (!got.ok()) return got;
  return ParseSyncState(record);
}

}  // namespace shmkv::near
