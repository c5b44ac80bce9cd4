#include "kv/near/redis_router.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kv/near/key_slot.h"
#include "kv/platform/process.h"

namespace shmkv::near {

bool RunIdTracked(absl::string_view tracked, absl::string_view run_id) {
  if (run_id.empty()) return false;
  if (tracked == run_id) return true;  // one server: no list to split
  for (absl::string_view one : absl::StrSplit(tracked, ',')) {
    if (one == run_id) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<RedisRouter>> RedisRouter::Create(absl::string_view target,
                                                                 absl::Duration timeout) {
  if (IsClusterTarget(target)) {
    absl::StatusOr<std::vector<RedisAddress>> seeds = ParseClusterSeeds(target);
    if (!seeds.ok()) return seeds.status();
    std::vector<std::string> names;
    for (const RedisAddress& s : *seeds) names.push_back(s.ToString());
    return std::unique_ptr<RedisRouter>(
        new RedisRouter(absl::StrCat(kClusterScheme, absl::StrJoin(names, ",")), RedisAddress(),
                        *std::move(seeds), std::nullopt, timeout));
  }
  if (IsSentinelTarget(target)) {
    absl::StatusOr<SentinelTarget> sentinel = ParseSentinelTarget(target);
    if (!sentinel.ok()) return sentinel.status();
    std::string name = sentinel->ToString();
    return std::unique_ptr<RedisRouter>(
        new RedisRouter(std::move(name), RedisAddress(), {}, *std::move(sentinel), timeout));
  }
  absl::StatusOr<RedisAddress> server = ParseRedisAddress(target);
  if (!server.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(server.status().message(),
                                                   "; or cluster:HOST:PORT[,HOST:PORT...], or "
                                                   "sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME"));
  }
  return std::unique_ptr<RedisRouter>(
      new RedisRouter(server->ToString(), *server, {}, std::nullopt, timeout));
}

RedisRouter::RedisRouter(std::string target, RedisAddress server, std::vector<RedisAddress> seeds,
                         std::optional<SentinelTarget> sentinel, absl::Duration timeout)
    : target_(std::move(target)),
      server_(std::move(server)),
      seeds_(std::move(seeds)),
      sentinel_(std::move(sentinel)),
      timeout_(timeout) {}

absl::Status RedisRouter::ResolvePrimary() {
  std::vector<std::string> failures;
  for (const RedisAddress& s : sentinel_->sentinels) {
    absl::StatusOr<RedisAddress> named = AskSentinel(s, sentinel_->master, timeout_);
    bool fresh = false;
    // Connect checks ROLE on a new connection, and a kept one is checked
    // here: a sentinel whose view is out of date may name a replica (an old
    // primary demoted, or back at its address).
    absl::StatusOr<Link*> link = named.ok() ? Connect(*named, &fresh) : named.status();
    if (link.ok() && !fresh) {
      if (absl::Status role = CheckPrimaryRole(*(*link)->connection); !role.ok()) link = role;
    }
    if (link.ok()) {
      primary_ = *std::move(named);
      return absl::OkStatus();
    }
    failures.push_back(std::string(link.status().message()));
  }
  CountError();
  return absl::UnavailableError(
      absl::StrCat("no sentinel of ", target_,
                   " named a primary that answers as one: ", absl::StrJoin(failures, "; ")));
}

absl::StatusOr<const RedisAddress*> RedisRouter::Route(absl::string_view key) {
  if (sentinel()) {
    if (!primary_.has_value()) {
      if (absl::Status s = ResolvePrimary(); !s.ok()) return s;
    }
    return &*primary_;
  }
  if (!cluster()) return &server_;
  if (slot_map_ == nullptr) {
    // The seeds, then every node this reader has reached: any may answer.
    std::vector<RedisAddress> ask = seeds_;
    for (const auto& [address, link] : links_) {
      if (link.connection != nullptr) ask.push_back(address);
    }
    absl::StatusOr<SlotMap> map = DiscoverSlotMap(ask, timeout_);
    if (!map.ok()) {
      CountError();
      return map.status();
    }
    slot_map_ = std::make_unique<SlotMap>(*std::move(map));
  }
  const RedisAddress* primary = slot_map_->PrimaryOf(KeySlot(key));
  if (primary == nullptr) return absl::UnavailableError("no primary serves the key's slot");
  return primary;
}

absl::StatusOr<RedisRouter::Link*> RedisRouter::Connect(const RedisAddress& address, bool* fresh) {
  // Most calls ask for the server the last one did: compared, not looked up.
  if (last_link_ == nullptr || !SameAddress(*last_address_, address)) {
    auto it = links_.try_emplace(address).first;
    last_address_ = &it->first;
    last_link_ = &it->second;
  }
  Link& link = *last_link_;
  const pid_t pid = platform::CurrentPid();
  if (link.connection != nullptr && link.pid != pid) {
    // Opened before a fork(): the other process still uses this socket, and
    // on a shared socket each reads the other's replies. Close this
    // process's copy of the descriptor, sending nothing on it (no QUIT).
    link.connection.reset();
  }
  *fresh = link.connection == nullptr || link.connection->broken();
  if (!*fresh) return &link;
  link.connection.reset();
  absl::StatusOr<std::unique_ptr<RedisConnection>> c = RedisConnection::Connect(address, timeout_);
  // Every new connection learns which server it reached.
  absl::StatusOr<std::string> run_id = c.ok() ? ServerRunId(**c) : c.status();
  // Under Sentinel, only a primary: never fill from a replica.
  if (run_id.ok() && sentinel()) {
    if (absl::Status role = CheckPrimaryRole(**c); !role.ok()) run_id = role;
  }
  if (!run_id.ok()) {
    CountError();
    return run_id.status();
  }
  link.connection = *std::move(c);
  link.pid = pid;
  link.run_id = *std::move(run_id);
  return &link;
}

absl::StatusOr<RedisRouter::Answer> RedisRouter::Send(
    const RedisAddress& address, absl::Span<const std::vector<std::string>> commands,
    bool idempotent, bool asking) {
  for (int attempt = 0;; ++attempt) {
    bool fresh = false;
    absl::StatusOr<Link*> link = Connect(address, &fresh);
    if (!link.ok()) return link.status();
    RedisConnection& c = *(*link)->connection;
    absl::StatusOr<RedisReply> asked =
        asking ? c.Command({"ASKING"}) : absl::StatusOr<RedisReply>(RedisReply());
    absl::StatusOr<RedisReply> r = !asked.ok()            ? asked
                                   : commands.size() == 1 ? c.Command(commands[0])
                                                          : c.Commands(commands);
    if (r.ok()) return Answer{*std::move(r), (*link)->run_id};
    CountError();
    // A connection that worked before may have been closed by a Redis that
    // has since restarted: an idempotent command goes once more on a new one.
    if (fresh || !idempotent || attempt > 0) return r.status();
  }
}

bool RedisRouter::MovedOn(const RedisAddress& unreachable, absl::string_view key) {
  if (!cluster()) return false;
  slot_map_.reset();
  absl::StatusOr<const RedisAddress*> to = Route(key);
  return to.ok() && (*to)->ToString() != unreachable.ToString();
}

absl::StatusOr<RedisRouter::Answer> RedisRouter::Command(const std::vector<std::string>& argv,
                                                         absl::string_view key, bool idempotent) {
  absl::StatusOr<const RedisAddress*> to = Route(key);
  if (!to.ok()) return to.status();
  const RedisAddress first = **to;
  absl::StatusOr<Answer> answer =
      Send(first, absl::MakeConstSpan(&argv, 1), idempotent, /*asking=*/false);
  // A primary that cannot be reached may have been failed over. A write
  // that may have applied is not sent again: it fails, and the next command
  // uses the map read now.
  if (!answer.ok() && MovedOn(first, key) && idempotent) {
    to = Route(key);
    if (!to.ok()) return to.status();
    answer = Send(**to, absl::MakeConstSpan(&argv, 1), idempotent, /*asking=*/false);
  }
  if (sentinel()) return FollowPrimary(std::move(answer), argv, key, idempotent);
  if (!cluster() || !answer.ok() || answer->reply.type != RedisReply::Type::kError) return answer;
  std::optional<Redirect> redirect = ParseRedirect(answer->reply.str);
  if (!redirect.has_value()) return answer;
  redirects_.fetch_add(1, std::memory_order_relaxed);
  // MOVED: the slot has a new primary for good; the map is read again at
  // the next command. ASK: this one command goes to the migration's target.
  if (redirect->kind == Redirect::Kind::kMoved) slot_map_.reset();
  return Send(redirect->to, absl::MakeConstSpan(&argv, 1), idempotent,
              redirect->kind == Redirect::Kind::kAsk);
}

absl::StatusOr<RedisRouter::Answer> RedisRouter::Commands(
    absl::Span<const std::vector<std::string>> commands, bool idempotent) {
  if (routed()) {
    return absl::FailedPreconditionError(
        "commands are sent together only to a single Redis server (not a cluster, not under "
        "Sentinel); send them one at a time");
  }
  absl::StatusOr<const RedisAddress*> to = Route("");
  if (!to.ok()) return to.status();
  return Send(**to, commands, idempotent, /*asking=*/false);
}

absl::StatusOr<RedisRouter::Answer> RedisRouter::FollowPrimary(absl::StatusOr<Answer> answer,
                                                               const std::vector<std::string>& argv,
                                                               absl::string_view key,
                                                               bool idempotent) {
  // READONLY: the server was demoted to a replica (a failover) and refused
  // the command, which it did not apply: ask the sentinels and send it once
  // more. A connection error: the next command asks the sentinels, and an
  // idempotent one goes once more now.
  const bool readonly = answer.ok() && answer->reply.type == RedisReply::Type::kError &&
                        absl::StartsWith(answer->reply.str, "READONLY");
  if (answer.ok() && !readonly) return answer;
  primary_.reset();
  if (!readonly && !idempotent) return answer;
  absl::StatusOr<const RedisAddress*> to = Route(key);
  if (!to.ok()) return readonly ? answer : to.status();
  return Send(**to, absl::MakeConstSpan(&argv, 1), idempotent, /*asking=*/false);
}

absl::StatusOr<absl::string_view> RedisRouter::ServerOf(absl::string_view key) {
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<const RedisAddress*> to = Route(key);
    if (!to.ok()) return to.status();
    bool fresh = false;
    absl::StatusOr<Link*> link = Connect(**to, &fresh);
    if (link.ok()) return absl::string_view((*link)->run_id);
    // A copy: MovedOn drops the slot map *to points into.
    const RedisAddress unreachable = **to;
    if (attempt > 0 || !MovedOn(unreachable, key)) return link.status();
  }
}

}  // namespace shmkv::near
