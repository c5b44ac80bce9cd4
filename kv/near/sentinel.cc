#include "kv/near/sentinel.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace shmkv::near {

std::string SentinelTarget::ToString() const {
  std::vector<std::string> names;
  for (const RedisAddress& s : sentinels) names.push_back(s.ToString());
  return absl::StrCat(kSentinelScheme, absl::StrJoin(names, ","), "/", master);
}

bool IsSentinelTarget(absl::string_view text) { return absl::StartsWith(text, kSentinelScheme); }

absl::StatusOr<SentinelTarget> ParseSentinelTarget(absl::string_view text) {
  const std::string help =
      "give sentinel:HOST:PORT[,HOST:PORT...]/MASTERNAME (the sentinels, and the name they "
      "monitor the primary under)";
  const std::string original(text);
  const size_t slash = text.rfind('/');
  if (!absl::ConsumePrefix(&text, kSentinelScheme) || slash == absl::string_view::npos ||
      slash + 1 >= original.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad sentinel address \"", original, "\"; ", help));
  }
  SentinelTarget target;
  target.master = original.substr(slash + 1);
  if (target.master.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad master name \"", target.master, "\" in \"", original, "\"; ", help));
  }
  absl::string_view list = text.substr(0, text.size() - target.master.size() - 1);
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    absl::StatusOr<RedisAddress> sentinel = ParseRedisAddress(part);
    if (!sentinel.ok() || !sentinel->unix_path.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad sentinel \"", part, "\" in \"", original, "\"; ", help));
    }
    target.sentinels.push_back(*std::move(sentinel));
  }
  return target;
}

absl::StatusOr<RedisAddress> AskSentinel(const RedisAddress& sentinel, absl::string_view master,
                                         absl::Duration timeout) {
  const std::string who = absl::StrCat("sentinel ", sentinel.ToString());
  absl::StatusOr<std::unique_ptr<RedisConnection>> c = RedisConnection::Connect(sentinel, timeout);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> r =
      (*c)->Command({"SENTINEL", "get-master-addr-by-name", std::string(master)});
  if (!r.ok()) return r.status();
  if (r->type == RedisReply::Type::kNil) {
    return absl::UnavailableError(absl::StrCat(who, " monitors no primary named \"", master,
                                               "\" (check the name after the /)"));
  }
  if (r->type != RedisReply::Type::kArray || r->elements.size() != 2 ||
      r->elements[0].type != RedisReply::Type::kString ||
      r->elements[1].type != RedisReply::Type::kString) {
    return absl::UnavailableError(absl::StrCat(who,
                                               " answered SENTINEL get-master-addr-by-name with ",
                                               r->Describe(), " (is it a sentinel?)"));
  }
  const std::string& host = r->elements[0].str;
  const bool v6 = host.find(':') != std::string::npos;
  absl::StatusOr<RedisAddress> primary =
      ParseRedisAddress(absl::StrCat(v6 ? "[" : "", host, v6 ? "]:" : ":", r->elements[1].str));
  if (!primary.ok()) {
    return absl::UnavailableError(
        absl::StrCat(who, " named the primary ", r->Describe(), ": ", primary.status().message()));
  }
  return primary;
}

absl::Status CheckPrimaryRole(RedisConnection& connection) {
  const std::string who = connection.address().ToString();
  absl::StatusOr<RedisReply> role = connection.Command({"ROLE"});
  if (!role.ok()) return role.status();
  if (role->type != RedisReply::Type::kArray || role->elements.empty()) {
    return absl::UnavailableError(absl::StrCat(who, " answered ROLE with ", role->Describe()));
  }
  if (role->elements[0].IsString("master")) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat(who, " is not a primary (ROLE says ", role->elements[0].Describe(),
                   "): the sentinels' view is out of date or a failover is under way"));
}

namespace {

// The message of `reply` when it is one published on `channel`; else null.
const std::string* MessageOn(const RedisReply& reply, absl::string_view channel) {
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 3 ||
      !reply.elements[0].IsString("message") || !reply.elements[1].IsString(channel) ||
      reply.elements[2].type != RedisReply::Type::kString) {
    return nullptr;
  }
  return &reply.elements[2].str;
}

}  // namespace

bool IsSwitchOf(const RedisReply& reply, absl::string_view master, std::string* description,
                RedisAddress* to) {
  const std::string* message = MessageOn(reply, kSwitchMasterChannel);
  if (message == nullptr) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(*message, ' ');
  if (parts.size() != 5 || parts[0] != master) return false;
  if (to != nullptr) {
    to->host = std::string(parts[3]);
    if (!absl::SimpleAtoi(parts[4], &to->port)) to->port = 0;
  }
  *description = absl::StrCat(master, " switched from ", parts[1], ":", parts[2], " to ", parts[3],
                              ":", parts[4]);
  return true;
}

bool IsFailoverStartOf(const RedisReply& reply, absl::string_view master,
                       std::string* description) {
  const std::string* message = MessageOn(reply, kTryFailoverChannel);
  if (message == nullptr) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(*message, ' ');
  if (parts.size() < 4 || parts[0] != "master" || parts[1] != master) return false;
  *description =
      absl::StrCat("a failover of ", master, " (primary ", parts[2], ":", parts[3], ") has begun");
  return true;
}

absl::StatusOr<bool> HasFailoverInProgress(const RedisReply& master, absl::string_view who) {
  if (master.type != RedisReply::Type::kArray) {
    return absl::UnavailableError(absl::StrCat(who, " answered SENTINEL MASTER with ",
                                               master.Describe(), " (check the name after the /)"));
  }
  for (size_t i = 0; i + 1 < master.elements.size(); i += 2) {
    if (!master.elements[i].IsString("flags")) continue;
    for (absl::string_view flag : absl::StrSplit(master.elements[i + 1].str, ',')) {
      if (flag == "failover_in_progress") return true;
    }
    return false;
  }
  return absl::UnavailableError(absl::StrCat(who, " answered SENTINEL MASTER without its flags"));
}

absl::StatusOr<bool> FailoverUnderWay(const RedisAddress& sentinel, absl::string_view master,
                                      absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<RedisConnection>> c = RedisConnection::Connect(sentinel, timeout);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReply> r = (*c)->Command({"SENTINEL", "MASTER", std::string(master)});
  if (!r.ok()) return r.status();
  return HasFailoverInProgress(*r, absl::StrCat("sentinel ", sentinel.ToString()));
}

}  // namespace shmkv::near
