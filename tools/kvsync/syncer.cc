#include "tools/kvsync/syncer.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "kv/util/escape.h"

namespace shmkv::kvsync {
namespace {

using near::RedisConnection;
using near::RedisReply;
using near::SyncPhase;

// Time since boot on the heartbeat's clock (CLOCK_BOOTTIME), which no step
// of the wall clock (NTP, date -s) moves and which counts a suspend: every
// interval and deadline of the loop is measured on it, as the heartbeat's
// age is by its readers, so a PING outstanding across a suspend is a loss.
absl::Duration MonotonicNow() { return absl::Nanoseconds(near::MonotonicNowNs()); }

// A store failure kvsync outlives: a lock wait that timed out behind a
// stopped or slow process (Unavailable). Invalidations may then have gone
// unapplied, so it is a loss (clear, resync), never an exit.
bool Transient(const absl::Status& s) { return absl::IsUnavailable(s); }

std::string PrefixList(const std::vector<std::string>& prefixes) {
  std::vector<std::string> escaped;
  for (const std::string& p : prefixes) escaped.push_back(util::EscapeKey(p));
  return absl::StrJoin(escaped, ", ");
}

}  // namespace

Syncer::Syncer(Store* store, SyncerConfig config) : store_(store), config_(std::move(config)) {
  near::SetThisProcess(&state_);
  state_.boot_id = near::HostBootId();
  state_.phase = SyncPhase::kConnecting;
  state_.heartbeat_interval_ms = absl::ToInt64Milliseconds(config_.heartbeat);
  if (config_.sentinel.has_value()) {
    state_.redis = config_.sentinel->ToString();
  } else if (config_.cluster_seeds.empty()) {
    state_.redis = config_.redis.ToString();
  } else {
    std::vector<std::string> seeds;
    for (const near::RedisAddress& a : config_.cluster_seeds) seeds.push_back(a.ToString());
    state_.redis = absl::StrCat(near::kClusterScheme, absl::StrJoin(seeds, ","));
  }
  state_.prefixes = config_.prefixes;
}

void Syncer::Log(const std::string& line) {
  std::fprintf(stderr, "kvsync: %s\n", line.c_str());
  std::fflush(stderr);
}

absl::Status Syncer::Lost(const std::string& reason) {
  links_.clear();
  sentinels_.reset();
  state_.last_error = reason;
  state_.redis_run_id.clear();
  lost_before_ = true;
  connect_failure_logged_ = false;
  // Both steps are tried whatever the other did. A record that cannot be
  // written leaves readers a heartbeat that ages out; a clear that fails is
  // made again before anything says synced (Resync).
  std::string outcome;
  if (absl::Status s = ChangePhase(SyncPhase::kConnecting); !s.ok()) {
    if (!Transient(s)) return s;
    outcome = absl::StrCat("; writing the record failed: ", s.message());
  }
  absl::StatusOr<uint64_t> cleared = ClearPrefixes();
  if (cleared.ok()) {
    absl::StrAppend(&outcome, "; cleared ", *cleared, " keys");
  } else if (Transient(cleared.status())) {
    absl::StrAppend(&outcome, "; clearing failed: ", cleared.status().message(),
                    " (cleared again before syncing)");
  } else {
    return cleared.status();
  }
  Log(absl::StrCat("not synced: ", reason, outcome, "; reconnecting"));
  return absl::OkStatus();
}

absl::Status Syncer::Resync(std::string* lost) {
  absl::Status s = ChangePhase(SyncPhase::kConnecting);
  absl::StatusOr<uint64_t> cleared = s.ok() ? ClearPrefixes() : absl::StatusOr<uint64_t>(s);
  if (cleared.ok()) {
    if (lost_before_) ++state_.resyncs;
    // Tracking is on and the prefixes are empty: nothing served now can
    // have missed an invalidation.
    synced_as_of_ms_ = near::MonotonicNowMs();
    for (Link& link : links_) link.applied_as_of_ms = synced_as_of_ms_;
    s = ChangePhase(SyncPhase::kSynced);
    if (s.ok()) {
      const std::string primary =
          sentinels_.has_value()
              ? absl::StrCat(" to the primary ", links_.front().address.ToString())
              : "";
      Log(absl::StrCat("synced", primary, " (epoch ", state_.epoch, ", resyncs ", state_.resyncs,
                       ", cleared ", *cleared, " keys",
                       last_clear_walked_ ? "" : "; the store held only this record: no walk",
                       ")"));
      return s;
    }
    if (lost_before_) --state_.resyncs;
  } else {
    s = cleared.status();
  }
  if (!Transient(s)) return s;
  *lost = absl::StrCat("the store failed while resyncing: ", s.message());
  return absl::OkStatus();
}

absl::Status Syncer::HandleMessages(Link& link, const std::vector<RedisReply>& replies,
                                    std::string* lost) {
  for (const RedisReply& r : replies) {
    if (r.type != RedisReply::Type::kArray || r.elements.empty()) continue;
    const RedisReply& kind = r.elements[0];
    if (kind.IsString("pong")) {
      // Redis sends the pong after every invalidation it queued for this
      // connection before it read the PING, and those are applied by now:
      // every write acknowledged before the PING was sent is applied.
      // In a cluster, as of the earliest such instant over the primaries.
      link.ping_outstanding = false;
      link.applied_as_of_ms = absl::ToInt64Milliseconds(link.ping_sent);
      int64_t all_applied = link.applied_as_of_ms;
      for (const Link& other : links_) all_applied = std::min(all_applied, other.applied_as_of_ms);
      synced_as_of_ms_ = std::max(synced_as_of_ms_, all_applied);
      continue;
    }
    if (!kind.IsString("message") || r.elements.size() != 3 || !r.elements[1].IsString(kChannel)) {
      continue;
    }
    const RedisReply& keys = r.elements[2];
    if (keys.type == RedisReply::Type::kNil) {
      // FLUSHALL / FLUSHDB: everything tracked is gone. A new epoch first,
      // so that a fill that read a value from before the flush is not served.
      ++state_.flushes;
      ++state_.epoch;
      absl::Status s = WriteRecord();
      absl::StatusOr<uint64_t> cleared = s.ok() ? ClearPrefixes() : absl::StatusOr<uint64_t>(s);
      if (!cleared.ok()) {
        if (!Transient(cleared.status())) return cleared.status();
        *lost = absl::StrCat("applying a flush: ", cleared.status().message());
      }
      continue;
    }
    if (keys.type == RedisReply::Type::kString) {
      // Redis's tracking sends an array or nil, never a single string: this
      // is a client's PUBLISH on the channel. Fail-safe at the least cost:
      // the key it names is invalidated, nothing else (a clear of every
      // prefix would let any client empty every host's cache).
      if (state_.foreign_messages++ == 0) {
        Log(absl::StrCat("a client published on ", kChannel, " (", r.Describe(),
                         "); such messages only invalidate the key they name (counted in "
                         "foreign_messages)"));
      }
    } else if (keys.type != RedisReply::Type::kArray) {
      *lost = absl::StrCat("unexpected invalidation message ", r.Describe());
      return absl::OkStatus();
    }
    const std::vector<RedisReply> one = {keys};
    for (const RedisReply& key : keys.type == RedisReply::Type::kString ? one : keys.elements) {
      absl::Status s = store_->Delete(key.str);
      if (s.ok() || absl::IsNotFound(s)) {
        ++state_.invalidations;
      } else if (absl::IsInvalidArgument(s)) {
        // A key the store cannot hold (longer than its max key) was never
        // cached: nothing to delete. Counted; said once.
        if (state_.invalidations_skipped++ == 0) {
          Log(absl::StrCat("skipping invalidations of keys this store cannot hold (", s.message(),
                           "); such keys are read from Redis directly"));
        }
      } else if (!Transient(s)) {
        return s;
      } else if (lost->empty()) {
        *lost = absl::StrCat("applying an invalidation: ", s.message());
      }
    }
  }
  return absl::OkStatus();
}

void Syncer::CheckSlotMap(Link& link, std::string* lost) {
  absl::StatusOr<RedisReply> slots = link.tracking->Command({"CLUSTER", "SLOTS"});
  absl::StatusOr<near::SlotMap> now = slots.ok()
                                          ? near::SlotMap::FromClusterSlots(*slots, link.address)
                                          : absl::StatusOr<near::SlotMap>(slots.status());
  if (!now.ok()) {
    *lost = absl::StrCat("reading the slot map of ", link.address.ToString(), ": ",
                         now.status().message());
  } else if (!now->SameRouting(slot_map_)) {
    *lost = absl::StrCat("the cluster's slot map changed (", link.address.ToString(), " reports ",
                         now->ToString(), "; was ", slot_map_.ToString(), ")");
  }
}

void Syncer::BeatLink(Link& link, std::string* lost) {
  absl::StatusOr<RedisReply> pong = link.tracking->Command({"PING"});
  if (!pong.ok()) {
    *lost = absl::StrCat("tracking connection: ", pong.status().message());
  } else if (!pong->IsString("PONG")) {
    *lost = absl::StrCat("tracking connection answered PING with ", pong->Describe());
  }
  if (lost->empty()) CheckUnsignalledChanges(link, lost);
  if (lost->empty() && !config_.cluster_seeds.empty()) CheckSlotMap(link, lost);
  if (lost->empty() && sentinels_.has_value()) {
    // A primary demoted to a replica (a failover whose announcement was
    // missed) no longer applies writes of its own.
    if (absl::Status role = near::CheckPrimaryRole(*link.tracking); !role.ok()) {
      *lost = std::string(role.message());
    }
  }
  if (!lost->empty()) return;
  const absl::Duration pong_timeout = std::max(absl::Seconds(1), 5 * config_.heartbeat);
  if (link.ping_outstanding) {
    if (MonotonicNow() - link.ping_sent > pong_timeout) {
      *lost = absl::StrCat("subscription connection: no PONG within ",
                           absl::FormatDuration(pong_timeout));
    }
  } else if (absl::Status s = link.sub->Send({"PING"}); !s.ok()) {
    *lost = absl::StrCat("subscription connection: ", s.message());
  } else {
    link.ping_outstanding = true;
    link.ping_sent = MonotonicNow();
  }
}

absl::Status Syncer::Heartbeat(std::string* lost) {
  for (Link& link : links_) {
    if (!lost->empty()) break;
    BeatLink(link, lost);
    if (!lost->empty() && links_.size() > 1) {
      *lost = absl::StrCat(link.address.ToString(), ": ", *lost);
    }
  }
  if (lost->empty() && sentinels_.has_value()) {
    sentinels_->Beat(MonotonicNow(), std::max(absl::Seconds(1), 5 * config_.heartbeat), lost);
  }
  // A loss just detected is the loss path's to record (connecting): never
  // a heartbeat that says synced.
  if (!lost->empty()) return absl::OkStatus();
  absl::Status written = WriteRecord();
  if (!Transient(written)) return written;
  // Readers stop trusting a heartbeat that is not rewritten; while synced it
  // is also a loss, as the store may be refusing invalidations too.
  if (lost->empty() && !links_.empty()) {
    *lost = absl::StrCat("writing the heartbeat: ", written.message());
  }
  return absl::OkStatus();
}

namespace {

// Whether a stop signal arrived (the signalfd is readable), without waiting.
bool StopArrived(int stop_fd) {
  struct pollfd p = {stop_fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

}  // namespace

absl::Status Syncer::ClaimWithRetries(int stop_fd) {
  absl::Duration backoff = absl::Milliseconds(50);
  bool logged = false;
  for (;;) {
    absl::Status s = Claim();
    if (!Transient(s)) return s;
    // A lock held by a stopped or slow process: wait for it, never exit.
    if (!logged) {
      Log(absl::StrCat("cannot claim the store's sync record yet: ", s.message(),
                       "; retrying with backoff"));
      logged = true;
    }
    struct pollfd p = {stop_fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(backoff))) > 0) {
      return absl::CancelledError("stopped before the sync record could be claimed");
    }
    backoff = std::min(backoff * 2, config_.max_backoff);
  }
}

absl::Status Syncer::TryConnect(std::string* lost) {
  const absl::Duration now = MonotonicNow();
  absl::Status connected = Connect();
  if (connected.ok()) {
    if (absl::Status s = Resync(lost); !s.ok()) return s;
    if (lost->empty()) backoff_ = absl::Milliseconds(50);
    return absl::OkStatus();
  }
  if (absl::IsFailedPrecondition(connected)) return connected;
  if (!connect_failure_logged_) {
    Log(absl::StrCat("still not synced: ", connected.message(), "; retrying with backoff"));
    connect_failure_logged_ = true;
  }
  state_.last_error = std::string(connected.message());
  next_attempt_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, config_.max_backoff);
  return absl::OkStatus();
}

absl::Status Syncer::WaitAndRead(int stop_fd, std::string* lost) {
  absl::Duration wake = next_beat_;
  if (links_.empty()) wake = std::min(wake, next_attempt_);
  const int timeout_ms =
      static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(wake - MonotonicNow()) + 1));
  // Each link's subscription and tracking connections (fds[2i], fds[2i+1]),
  // then each sentinel's subscription, then the stop signals' fd.
  std::vector<struct pollfd> fds;
  for (const Link& link : links_) {
    fds.push_back({link.sub->fd(), POLLIN, 0});
    fds.push_back({link.tracking->fd(), POLLIN, 0});
  }
  const size_t sentinel_count = sentinels_.has_value() ? sentinels_->size() : 0;
  for (size_t i = 0; i < sentinel_count; ++i) fds.push_back({sentinels_->fd(i), POLLIN, 0});
  fds.push_back({stop_fd, POLLIN, 0});
  const int ready = poll(fds.data(), fds.size(), timeout_ms);
  if (ready < 0 && errno != EINTR) return absl::InternalError("poll failed");
  for (size_t i = 0; ready > 0 && lost->empty() && i < links_.size(); ++i) {
    Link& link = links_[i];
    if (fds[2 * i].revents != 0) {
      std::vector<RedisReply> replies;
      absl::Status read = link.sub->ReadAvailable(&replies);
      if (absl::Status s = HandleMessages(link, replies, lost); !s.ok()) return s;
      if (!read.ok() && lost->empty()) {
        *lost = absl::StrCat("subscription connection: ", read.message());
      }
    }
    if (lost->empty() && fds[2 * i + 1].revents != 0) {
      // The tracking connection never has unread replies: readable means
      // closed (or a protocol error).
      std::vector<RedisReply> replies;
      absl::Status read = link.tracking->ReadAvailable(&replies);
      *lost = read.ok() ? "tracking connection: unexpected data"
                        : absl::StrCat("tracking connection: ", read.message());
    }
    if (!lost->empty() && links_.size() > 1) {
      *lost = absl::StrCat(link.address.ToString(), ": ", *lost);
    }
  }
  for (size_t i = 0; ready > 0 && lost->empty() && i < sentinel_count; ++i) {
    if (fds[2 * links_.size() + i].revents != 0) sentinels_->Read(i, lost);
  }
  return absl::OkStatus();
}

absl::Status Syncer::Run(int stop_fd) {
  if (absl::Status s = ClaimWithRetries(stop_fd); !s.ok()) {
    return absl::IsCancelled(s) ? absl::OkStatus() : s;
  }
  Log(absl::StrCat("pid ", state_.pid, " keeps ", config_.store_name, " in sync with Redis at ",
                   state_.redis, " for prefixes ", PrefixList(config_.prefixes), "; connecting"));
  if (absl::StatusOr<uint64_t> c = ClearPrefixes(); !c.ok() && !Transient(c.status())) {
    return c.status();  // a transient failure: Resync clears before saying synced
  }

  backoff_ = absl::Milliseconds(50);
  next_attempt_ = MonotonicNow();
  next_beat_ = next_attempt_;
  while (!StopArrived(stop_fd)) {
    std::string lost;
    if (links_.empty() && MonotonicNow() >= next_attempt_) {
      if (absl::Status s = TryConnect(&lost); !s.ok()) return s;
    }
    if (MonotonicNow() >= next_beat_) {
      if (absl::Status s = Heartbeat(&lost); !s.ok()) return s;
      next_beat_ = MonotonicNow() + config_.heartbeat;
    }
    if (lost.empty()) {
      if (absl::Status s = WaitAndRead(stop_fd, &lost); !s.ok()) return s;
    }
    if (!lost.empty()) {
      if (absl::Status s = Lost(lost); !s.ok()) return s;
      next_attempt_ = MonotonicNow() + backoff_;
      backoff_ = std::min(backoff_ * 2, config_.max_backoff);
    }
  }

  links_.clear();
  sentinels_.reset();
  state_.last_error = "kvsync stopped";
  if (absl::Status s = ChangePhase(SyncPhase::kStopped); !s.ok()) return s;
  absl::StatusOr<uint64_t> cleared = ClearPrefixes();
  Log(absl::StrCat("stopped; not synced", cleared.ok() ? "" : " (clearing failed)"));
  return absl::OkStatus();
}

}  // namespace shmkv::kvsync
