// The loop of kvsync: keeps one store in step with Redis through Redis's
// invalidation messages (doc/near_cache.md, "Protocol").
//
// Two connections: S subscribes to __redis__:invalidate; T turns on
// CLIENT TRACKING on REDIRECT <S's id> BCAST PREFIX <p>... (hiredis 0.14
// speaks RESP2, which has no push frames, hence the redirect). Each
// invalidated key is deleted from the store; a flush (nil) clears the
// tracked prefixes. Losing either connection, or a PING that goes
// unanswered, means invalidations may have been lost: the prefixes are
// cleared, the record says "connecting", and sync is re-established with
// backoff (clearing once more before saying "synced"). A store lock that
// times out is such a loss too, never an exit; an invalidated key too long
// for the store is counted and skipped.
#ifndef SHMKV_TOOLS_KVSYNC_SYNCER_H_
#define SHMKV_TOOLS_KVSYNC_SYNCER_H_

#include <signal.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kv/near/redis_client.h"
#include "kv/near/sentinel.h"
#include "kv/near/slot_map.h"
#include "shmkv/near/sync_state.h"
#include "shmkv/store.h"
#include "tools/kvsync/sentinel_watch.h"

namespace shmkv::kvsync {

// The channel Redis publishes invalidations on for a client that asked for
// them to be redirected to a subscriber (CLIENT TRACKING ... REDIRECT).
inline constexpr char kChannel[] = "__redis__:invalidate";

struct SyncerConfig {
  near::RedisAddress redis;  // one server; or
  // a cluster: any of its nodes (the record names it "cluster:" + these);
  // or a primary found through Sentinel.
  std::vector<near::RedisAddress> cluster_seeds;
  std::optional<near::SentinelTarget> sentinel;
  std::vector<std::string> prefixes;  // non-empty, none starting with NUL
  std::string store_name;             // for log lines
  absl::Duration heartbeat = absl::Milliseconds(100);
  absl::Duration redis_timeout = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(1);
};

class Syncer {
 public:
  Syncer(Store* store, SyncerConfig config);

  // Claims the store's sync record (AlreadyExists when another live kvsync
  // holds it) and follows Redis until `stop_fd` (a signalfd of the stop
  // signals, which the caller blocked) becomes readable: then marks the
  // record stopped and returns OK. Errors: the record was taken over, the
  // store failed, Redis refused the tracking command.
  absl::Status Run(int stop_fd);

 private:
  absl::Status Claim();
  // Claim, again with backoff while a store lock times out; Cancelled when
  // a stop signal arrives meanwhile.
  absl::Status ClaimWithRetries(int stop_fd);
  // Run's steps: connect and resync when due (or schedule the next try);
  // wait for data, the next beat or a stop signal, and read what came.
  absl::Status TryConnect(std::string* lost);
  absl::Status WaitAndRead(int stop_fd, std::string* lost);
  absl::Status WriteRecord();
  absl::StatusOr<uint64_t> ClearPrefixes();
  // Whether the store holds nothing but kvsync's record: then a clear has
  // nothing to delete and need not walk the index.
  bool OnlyTheRecordIsStored();
  // The subscription connection S: subscribed, with its client id and the
  // run_id of the server it reached.
  struct Subscriber {
    std::unique_ptr<near::RedisConnection> connection;
    long long id = 0;
    std::string run_id;
  };
  absl::StatusOr<Subscriber> Subscribe(const near::RedisAddress& address);
  // Counters of INFO commandstats that reveal a change Redis sends no
  // invalidation for: SWAPDB's calls, and kvsync's own INFO calls (which
  // only grow unless the statistics are reset).
  struct ServerCounters {
    uint64_t info = 0;
    uint64_t swapdb = 0;
  };
  // The pair of connections to one server (the server, or one primary of
  // a cluster), and the state of the PING on its subscription.
  struct Link {
    near::RedisAddress address;
    std::unique_ptr<near::RedisConnection> sub, tracking;
    std::string run_id;
    ServerCounters counters;
    bool ping_outstanding = false;
    absl::Duration ping_sent;  // on CLOCK_BOOTTIME, since boot
    // MonotonicNowMs() as of which every invalidation of this server is
    // known applied.
    int64_t applied_as_of_ms = 0;
  };
  // Both connections to `address`, proven to reach one server (the same
  // run_id, and S seen subscribed from T), tracking on. Unavailable
  // (retried) when they reach different servers or S vanished meanwhile.
  absl::StatusOr<Link> ConnectLink(const near::RedisAddress& address);
  // Every link: to the server, or to every primary of the cluster's slot
  // map (read first), or to the primary the sentinels name.
  absl::Status Connect();
  // Under Sentinel: subscribes to +switch-master and +try-failover on the
  // sentinels, then, unless one is failing the master over, links to the
  // primary they name, once it answers ROLE as a primary.
  absl::Status ConnectThroughSentinels();
  static absl::StatusOr<ServerCounters> ReadServerCounters(near::RedisConnection& tracking);
  // At each heartbeat: a SWAPDB since the last look, or reset statistics,
  // is a loss (clear, resync).
  void CheckUnsignalledChanges(Link& link, std::string* lost);
  // At each heartbeat in a cluster: a slot map that differs, as any
  // primary reports it, from the one the links were made for is a loss.
  void CheckSlotMap(Link& link, std::string* lost);
  void BeatLink(Link& link, std::string* lost);
  // A loss: drops both connections, says "connecting" and clears. Errors
  // only for a store failure that is not Transient (syncer.cc).
  absl::Status Lost(const std::string& reason);
  // Tracking is on: what was filled before now may have missed an
  // invalidation, so clear once more, then say synced. A transient store
  // failure makes it a loss again (`lost`): nothing says synced until a
  // clear went through.
  absl::Status Resync(std::string* lost);
  absl::Status HandleMessages(Link& link, const std::vector<near::RedisReply>& replies,
                              std::string* lost);
  absl::Status Heartbeat(std::string* lost);
  absl::Status ChangePhase(near::SyncPhase phase);
  void Log(const std::string& line);

  Store* const store_;
  const SyncerConfig config_;
  near::SyncState state_;
  uint64_t record_version_ = 0;
  // Whether the last clear walked the index (false: the store held nothing
  // but the record); said in the "synced" line.
  bool last_clear_walked_ = true;

  std::vector<Link> links_;  // empty while not connected
  near::SlotMap slot_map_;   // in a cluster: the routing links_ were made for
  // Under Sentinel, while connected: the subscriptions to the sentinels.
  std::optional<SentinelWatch> sentinels_;
  // MonotonicNowMs() as of which every invalidation is known applied: the
  // end of the last resync's clear, or the earliest, over the links, of the
  // sending of the last PING on a subscription whose pong was read. The
  // heartbeat while synced.
  int64_t synced_as_of_ms_ = 0;
  absl::Duration backoff_, next_attempt_, next_beat_;  // CLOCK_BOOTTIME, since boot
  bool connect_failure_logged_ = false;
  bool lost_before_ = false;
};

}  // namespace shmkv::kvsync

#endif  // SHMKV_TOOLS_KVSYNC_SYNCER_H_
