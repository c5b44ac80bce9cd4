#include "tools/kvsync/sentinel_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace shmkv::kvsync {

absl::StatusOr<SentinelWatch> SentinelWatch::Open(const near::SentinelTarget& target,
                                                  absl::Duration timeout) {
  SentinelWatch watch;
  watch.target_ = target;
  watch.timeout_ = timeout;
  std::string failures;
  for (const near::RedisAddress& address : target.sentinels) {
    absl::StatusOr<std::unique_ptr<near::RedisConnection>> c =
        near::RedisConnection::Connect(address, timeout);
    absl::Status subscribed = c.status();
    for (const char* channel : {near::kSwitchMasterChannel, near::kTryFailoverChannel}) {
      if (!subscribed.ok()) break;
      absl::StatusOr<near::RedisReply> r = (*c)->Command({"SUBSCRIBE", channel});
      subscribed = r.status();
      if (r.ok() && (r->type != near::RedisReply::Type::kArray || r->elements.empty() ||
                     !r->elements[0].IsString("subscribe"))) {
        subscribed = absl::UnavailableError(absl::StrCat(
            "sentinel ", address.ToString(), " answered SUBSCRIBE with ", r->Describe()));
      }
    }
    if (!subscribed.ok()) {
      failures += (failures.empty() ? "" : "; ") + std::string(subscribed.message());
      continue;
    }
    Sentinel sentinel;
    sentinel.connection = *std::move(c);
    watch.sentinels_.push_back(std::move(sentinel));
  }
  if (watch.sentinels_.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no sentinel of ", target.ToString(), " answered: ", failures));
  }
  return watch;
}

void SentinelWatch::Read(size_t i, std::string* lost) {
  Sentinel& s = sentinels_[i];
  const std::string who = absl::StrCat("sentinel ", s.connection->address().ToString());
  std::vector<near::RedisReply> replies;
  absl::Status read = s.connection->ReadAvailable(&replies);
  for (const near::RedisReply& r : replies) {
    std::string described;
    near::RedisAddress to;
    if (near::IsSwitchOf(r, target_.master, &described, &to)) {
      if (to.host == primary_.host && to.port == primary_.port) continue;
      *lost = absl::StrCat(who, " announced a failover: ", described);
      return;
    }
    if (near::IsFailoverStartOf(r, target_.master, &described)) {
      *lost = absl::StrCat(who, " announced that ", described);
      return;
    }
    if (r.type == near::RedisReply::Type::kArray && !r.elements.empty() &&
        r.elements[0].IsString("pong")) {
      s.ping_outstanding = false;
    }
  }
  if (!read.ok()) *lost = absl::StrCat(who, ": ", read.message());
}

void SentinelWatch::Beat(absl::Duration now, absl::Duration pong_timeout, std::string* lost) {
  for (Sentinel& s : sentinels_) {
    const std::string who = absl::StrCat("sentinel ", s.connection->address().ToString());
    if (s.ping_outstanding) {
      if (now - s.ping_sent > pong_timeout) {
        *lost = absl::StrCat(who, ": no PONG within ", absl::FormatDuration(pong_timeout));
        return;
      }
    } else if (absl::Status sent = s.connection->Send({"PING"}); !sent.ok()) {
      *lost = absl::StrCat(who, ": ", sent.message());
      return;
    } else {
      s.ping_outstanding = true;
      s.ping_sent = now;
    }
  }
}

}  // namespace shmkv::kvsync
