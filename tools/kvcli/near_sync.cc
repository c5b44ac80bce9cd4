#include "tools/kvcli/near_sync.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "kv/util/escape.h"
#include "kv/util/format.h"
#include "shmkv/near/near_cache.h"
#include "shmkv/near/sync_state.h"

namespace shmkv {
namespace kvcli {
namespace {

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

}  // namespace

std::string NearTrackedWriteWarning(Store& store, absl::string_view key, absl::string_view verb) {
  if (absl::StatusOr<bool> has = store.Contains(near::kSyncStateKey); !has.ok() || !*has) {
    return "";
  }
  absl::StatusOr<near::SyncState> state = near::ReadSyncState(store);
  if (!state.ok() || !state->Tracks(key)) return "";
  return absl::StrCat(
      "key ", util::EscapeKey(key), " is under a prefix kvsync (pid ", state->pid,
      ") tracks for the near cache of Redis at ", state->redis, "; this ", verb,
      " changes only this host's copy, which near-cache readers do not serve (the next one "
      "deletes it and reads Redis): write the key in Redis instead");
}

NearSyncView DescribeNearSync(Store& store) {
  NearSyncView view;
  // Contains counts no hit or miss: looking leaves a store without kvsync's
  // record (most stores) exactly as it was.
  if (absl::StatusOr<bool> has = store.Contains(near::kSyncStateKey); has.ok() && !*has) {
    view.json = "null";
    return view;
  }
  absl::StatusOr<near::SyncState> state = near::ReadSyncState(store);
  if (absl::IsNotFound(state.status())) {
    view.json = "null";
    return view;
  }
  view.present = true;
  if (!state.ok()) {
    view.line = absl::StrCat("kvsync's record is unreadable: ", state.status().message());
    view.json = JsonObject().Str("error", state.status().message()).Build();
    return view;
  }
  // Judged as readers with NearCache's default heartbeat timeout judge it.
  const near::SyncHealth health =
      near::EvaluateSync(*state, near::NearCacheOptions().heartbeat_timeout);
  view.readable = true;
  view.state = *state;
  view.health = health;
  std::vector<std::string> prefixes;
  for (const std::string& p : state->prefixes) prefixes.push_back(util::EscapeKey(p));
  view.line = absl::StrCat(
      "kvsync pid ", state->pid, " ", near::SyncPhaseName(state->phase), ", ",
      health.serving ? "readers serve from the store"
                     : absl::StrCat("readers go to Redis (", health.reason, ")"),
      "; heartbeat ", util::FormatDuration(health.heartbeat_age), " ago (every ",
      state->heartbeat_interval_ms, " ms); epoch ", state->epoch, "; ",
      Plural(state->invalidations, "invalidation", "invalidations"), ", ",
      Plural(state->flushes, "flush", "flushes"), ", ", Plural(state->resyncs, "resync", "resyncs"),
      ", ", Plural(state->keys_cleared, "key cleared", "keys cleared"), ", ",
      Plural(state->foreign_messages, "foreign message", "foreign messages"), "; Redis ",
      state->redis,
      state->redis_run_id.empty() ? "" : absl::StrCat(" (run_id ", state->redis_run_id, ")"),
      ", prefixes ", absl::StrJoin(prefixes, " "),
      state->last_error.empty() ? "" : absl::StrCat("; last error: ", state->last_error));
  view.json = JsonObject()
                  .I64("pid", state->pid)
                  .Str("phase", near::SyncPhaseName(state->phase))
                  .Bool("serving", health.serving)
                  .Str("reason", health.reason)
                  .I64("heartbeat_age_ms", absl::ToInt64Milliseconds(health.heartbeat_age))
                  .I64("heartbeat_interval_ms", state->heartbeat_interval_ms)
                  .U64("epoch", state->epoch)
                  .U64("invalidations", state->invalidations)
                  .U64("flushes", state->flushes)
                  .U64("resyncs", state->resyncs)
                  .U64("keys_cleared", state->keys_cleared)
                  .U64("foreign_messages", state->foreign_messages)
                  .Str("redis", state->redis)
                  .Str("redis_run_id", state->redis_run_id)
                  .StrArray("prefixes", state->prefixes)
                  .Str("last_error", state->last_error)
                  .Build();
  return view;
}

}  // namespace kvcli
}  // namespace shmkv
