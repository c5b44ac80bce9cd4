// kvsync's side of Redis: connecting the tracking pair to each server (one
// server, each primary of a cluster, or the primary the sentinels name),
// with the proof that both connections reach the same server.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "tools/kvsync/syncer.h"

namespace shmkv::kvsync {

using near::RedisConnection;
using near::RedisReply;
using near::SyncPhase;

namespace {

// Whether the client `id`, seen from `from`, is a subscribed connection of
// the server `from` reached (CLIENT LIST ID answers a line "id=N ... sub=1
// ..." for it, nothing for a client that is not there).
absl::StatusOr<bool> SubscriberSeen(RedisConnection& from, long long id) {
  absl::StatusOr<RedisReply> list = from.Command({"CLIENT", "LIST", "ID", absl::StrCat(id)});
  if (!list.ok()) return list.status();
  if (list->type != RedisReply::Type::kString) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Redis answered CLIENT LIST ID with ", list->Describe(), "; kvsync needs Redis 6.2+"));
  }
  const std::string line = absl::StrCat(" ", list->str, " ");
  return line.find(absl::StrCat(" id=", id, " ")) != std::string::npos &&
         line.find(" sub=1 ") != std::string::npos;
}

// The calls of `command` in the text of INFO commandstats (0 if never).
uint64_t CommandCalls(absl::string_view info, absl::string_view command) {
  std::optional<std::string> stat = near::InfoField(info, absl::StrCat("cmdstat_", command));
  uint64_t calls = 0;
  if (stat.has_value()) {
    absl::string_view text = *stat;
    if (absl::ConsumePrefix(&text, "calls=")) {
      (void)absl::SimpleAtoi(text.substr(0, text.find(',')), &calls);
    }
  }
  return calls;
}

}  // namespace

absl::StatusOr<Syncer::ServerCounters> Syncer::ReadServerCounters(RedisConnection& tracking) {
  absl::StatusOr<RedisReply> info = tracking.Command({"INFO", "commandstats"});
  if (!info.ok()) return info.status();
  if (info->type != RedisReply::Type::kString) {
    return absl::UnavailableError(
        absl::StrCat("Redis answered INFO commandstats with ", info->Describe()));
  }
  return ServerCounters{CommandCalls(info->str, "info"), CommandCalls(info->str, "swapdb")};
}

void Syncer::CheckUnsignalledChanges(Link& link, std::string* lost) {
  absl::StatusOr<ServerCounters> now = ReadServerCounters(*link.tracking);
  if (!now.ok()) {
    *lost = absl::StrCat("tracking connection: ", now.status().message());
  } else if (now->swapdb != link.counters.swapdb) {
    *lost = "SWAPDB ran on Redis, which changes every key of a database without an invalidation";
  } else if (now->info <= link.counters.info) {
    // kvsync's own INFO calls only grow: the statistics were reset (CONFIG
    // RESETSTAT), and a SWAPDB since the last look would go unseen.
    *lost = "Redis's command statistics were reset (CONFIG RESETSTAT): a SWAPDB could go unseen";
  }
  if (now.ok()) link.counters = *now;
}

absl::StatusOr<Syncer::Subscriber> Syncer::Subscribe(const near::RedisAddress& address) {
  absl::StatusOr<std::unique_ptr<RedisConnection>> sub =
      RedisConnection::Connect(address, config_.redis_timeout);
  if (!sub.ok()) return sub.status();
  absl::StatusOr<RedisReply> id = (*sub)->Command({"CLIENT", "ID"});
  if (!id.ok()) return id.status();
  if (id->type != RedisReply::Type::kInteger) {
    return absl::FailedPreconditionError(
        absl::StrCat("Redis answered CLIENT ID with ", id->Describe(), "; kvsync needs Redis 6+"));
  }
  absl::StatusOr<std::string> run_id = near::ServerRunId(**sub);
  if (!run_id.ok()) return run_id.status();
  absl::StatusOr<RedisReply> subscribed = (*sub)->Command({"SUBSCRIBE", kChannel});
  if (!subscribed.ok()) return subscribed.status();
  if (subscribed->type != RedisReply::Type::kArray || subscribed->elements.empty() ||
      !subscribed->elements[0].IsString("subscribe")) {
    return absl::UnavailableError(
        absl::StrCat("Redis answered SUBSCRIBE with ", subscribed->Describe()));
  }
  return Subscriber{*std::move(sub), id->integer, *std::move(run_id)};
}

absl::StatusOr<Syncer::Link> Syncer::ConnectLink(const near::RedisAddress& address) {
  absl::StatusOr<Subscriber> sub = Subscribe(address);
  if (!sub.ok()) return sub.status();
  absl::StatusOr<std::unique_ptr<RedisConnection>> tracking =
      RedisConnection::Connect(address, config_.redis_timeout);
  if (!tracking.ok()) return tracking.status();
  // Both connections must reach one server, or the invalidations of the
  // writes the readers see would go nowhere (a load balancer or a name with
  // several addresses in front of several servers): not synced, retried.
  absl::StatusOr<std::string> run_id = near::ServerRunId(**tracking);
  if (!run_id.ok()) return run_id.status();
  if (*run_id != sub->run_id) {
    return absl::UnavailableError(absl::StrCat(
        "kvsync's two connections to ", address.ToString(),
        " reached different Redis servers (run_id ", sub->run_id, " and ", *run_id,
        "); point --redis at one server, not a load balancer or a name with several addresses"));
  }
  std::vector<std::string> argv = {"CLIENT", "TRACKING", "on", "REDIRECT", absl::StrCat(sub->id),
                                   "BCAST"};
  for (const std::string& p : config_.prefixes) {
    argv.push_back("PREFIX");
    argv.push_back(p);
  }
  absl::StatusOr<RedisReply> on = (*tracking)->Command(argv);
  if (!on.ok()) return on.status();
  absl::StatusOr<bool> seen = SubscriberSeen(**tracking, sub->id);
  if (!seen.ok()) return seen.status();
  if (!*seen) {
    // The subscription connection closed before (or while) tracking was
    // redirected to it: a passing failure, retried with backoff.
    return absl::UnavailableError(absl::StrCat("the subscription connection (client id ", sub->id,
                                               ") was gone when tracking was turned on (",
                                               on->Describe(), ")"));
  }
  if (on->type == RedisReply::Type::kError) {
    // Not a transient failure: the prefixes or the server are wrong.
    return absl::FailedPreconditionError(absl::StrCat(
        "Redis refused CLIENT TRACKING: ", on->str,
        "; check the --prefix values (Redis refuses overlapping prefixes) and that Redis is 6+"));
  }
  if (!on->IsString("OK")) {
    return absl::UnavailableError(
        absl::StrCat("Redis answered CLIENT TRACKING with ", on->Describe()));
  }
  absl::StatusOr<ServerCounters> counters = ReadServerCounters(**tracking);
  if (!counters.ok()) return counters.status();
  Link link;
  link.address = address;
  link.sub = std::move(sub->connection);
  link.tracking = *std::move(tracking);
  link.run_id = *std::move(run_id);
  link.counters = *counters;
  return link;
}

absl::Status Syncer::ConnectThroughSentinels() {
  // Subscribed first: a failover after the sentinels are asked is seen.
  absl::StatusOr<SentinelWatch> watch =
      SentinelWatch::Open(*config_.sentinel, config_.redis_timeout);
  if (!watch.ok()) return watch.status();
  std::optional<Link> primary;
  absl::Status found = watch->FindPrimary([&](const near::RedisAddress& named) -> absl::Status {
    absl::StatusOr<Link> link = ConnectLink(named);
    if (!link.ok()) return link.status();
    // A sentinel whose view is out of date may name a replica.
    if (absl::Status role = near::CheckPrimaryRole(*link->tracking); !role.ok()) return role;
    primary = *std::move(link);
    return absl::OkStatus();
  });
  if (!found.ok()) return found;
  state_.redis_run_id = primary->run_id;
  links_.clear();
  links_.push_back(*std::move(primary));
  sentinels_ = *std::move(watch);
  return absl::OkStatus();
}

absl::Status Syncer::Connect() {
  if (config_.sentinel.has_value()) return ConnectThroughSentinels();
  std::vector<near::RedisAddress> servers = {config_.redis};
  if (!config_.cluster_seeds.empty()) {
    absl::StatusOr<near::SlotMap> map =
        near::DiscoverSlotMap(config_.cluster_seeds, config_.redis_timeout);
    if (!map.ok()) return map.status();
    slot_map_ = *std::move(map);
    servers = slot_map_.Primaries();
  }
  std::vector<Link> links;
  std::vector<std::string> run_ids;
  for (const near::RedisAddress& server : servers) {
    absl::StatusOr<Link> link = ConnectLink(server);
    if (!link.ok()) return link.status();
    run_ids.push_back(link->run_id);
    links.push_back(*std::move(link));
  }
  links_ = std::move(links);
  // One identity per server tracked: a reader fills only from one of them.
  state_.redis_run_id = absl::StrJoin(run_ids, ",");
  return absl::OkStatus();
}

}  // namespace shmkv::kvsync
