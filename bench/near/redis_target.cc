#include "bench/near/redis_target.h"

#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/engine/runner.h"
#include "kv/near/key_slot.h"
#include "kv/near/sentinel.h"
#include "kv/near/slot_map.h"

namespace shmkv {
namespace bench {
namespace {

constexpr absl::Duration kAskTimeout = absl::Seconds(1);

// Sends each operation to the client of the primary that serves its key.
class RoutedClient final : public Client {
 public:
  RoutedClient(const RedisTarget* target, std::vector<std::unique_ptr<Client>> clients)
      : target_(target), clients_(std::move(clients)) {}
  OpResult Get(absl::string_view key, std::string* value) override {
    return Note(clients_[target_->PrimaryOf(key)].get(),
                [&](Client* c) { return c->Get(key, value); });
  }
  OpResult Put(absl::string_view key, absl::string_view value) override {
    return Note(clients_[target_->PrimaryOf(key)].get(),
                [&](Client* c) { return c->Put(key, value); });
  }
  std::string LastError() const override { return failed_ ? failed_->LastError() : ""; }

 private:
  template <typename Op>
  OpResult Note(Client* c, Op op) {
    const OpResult r = op(c);
    if (r == OpResult::kError) failed_ = c;
    return r;
  }
  const RedisTarget* target_;
  std::vector<std::unique_ptr<Client>> clients_;
  Client* failed_ = nullptr;
};

// The primaries of the cluster `text` names, and the primary of each slot,
// once the cluster serves every slot.
absl::Status DiscoverCluster(const std::string& text, std::vector<std::string>* primaries,
                             std::vector<uint16_t>* slot_primary) {
  absl::StatusOr<std::vector<near::RedisAddress>> seeds = near::ParseClusterSeeds(text);
  if (!seeds.ok()) return seeds.status();
  absl::StatusOr<near::SlotMap> map;
  for (int i = 0; i < 100 && !StopRequested(); ++i) {
    if (i > 0) usleep(100000);
    map = near::DiscoverSlotMap(*seeds, kAskTimeout);
    if (map.ok()) break;
  }
  if (!map.ok()) return map.status();
  for (const near::RedisAddress& a : map->Primaries()) primaries->push_back(a.ToString());
  slot_primary->assign(near::kClusterSlots, 0);
  for (int slot = 0; slot < near::kClusterSlots; ++slot) {
    const std::string owner = map->PrimaryOf(slot)->ToString();  // complete: FromClusterSlots
    for (size_t p = 0; p < primaries->size(); ++p) {
      if ((*primaries)[p] == owner) (*slot_primary)[slot] = static_cast<uint16_t>(p);
    }
  }
  return absl::OkStatus();
}

// The primary the sentinels `text` names name, once one of them does.
absl::StatusOr<std::string> AskSentinels(const std::string& text) {
  absl::StatusOr<near::SentinelTarget> target = near::ParseSentinelTarget(text);
  if (!target.ok()) return target.status();
  absl::Status last;
  for (int i = 0; i < 100 && !StopRequested(); ++i) {
    if (i > 0) usleep(100000);
    for (const near::RedisAddress& sentinel : target->sentinels) {
      absl::StatusOr<near::RedisAddress> primary =
          near::AskSentinel(sentinel, target->master, kAskTimeout);
      if (primary.ok()) return primary->ToString();
      last = primary.status();
    }
  }
  return last;
}

// OK once the server at `address` answers ROLE as a primary.
absl::Status CheckPrimary(const std::string& address) {
  absl::StatusOr<RedisContextPtr> c = ConnectRedis(address);
  if (!c.ok()) return c.status();
  absl::StatusOr<RedisReplyPtr> role = RedisRun(c->get(), {"ROLE"});
  if (!role.ok()) return role.status();
  const redisReply* r = role->get();
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
      r->element[0]->type == REDIS_REPLY_STRING &&
      absl::string_view(r->element[0]->str, r->element[0]->len) == "master") {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the server the sentinels name, ", address,
                   ", is not a primary (ROLE): wait until the sentinels agree on one"));
}

}  // namespace

absl::StatusOr<RedisTarget> RedisTarget::Resolve(const std::string& text) {
  RedisTarget t;
  if (near::IsClusterTarget(text)) {
    if (absl::Status s = DiscoverCluster(text, &t.primaries_, &t.slot_primary_); !s.ok()) return s;
  } else if (near::IsSentinelTarget(text)) {
    absl::StatusOr<std::string> primary = AskSentinels(text);
    if (!primary.ok()) return primary.status();
    t.primaries_.push_back(*primary);
  } else {
    t.primaries_.push_back(text);
  }
  for (const std::string& p : t.primaries_) {
    if (absl::Status s = AwaitRedis(p); !s.ok()) return s;
  }
  if (near::IsSentinelTarget(text)) {
    if (absl::Status s = CheckPrimary(t.primaries_[0]); !s.ok()) return s;
  }
  return t;
}

size_t RedisTarget::PrimaryOf(absl::string_view key) const {
  return slot_primary_.empty() ? 0 : slot_primary_[near::KeySlot(key)];
}

absl::StatusOr<std::vector<RedisContextPtr>> RedisTarget::ConnectAll() const {
  std::vector<RedisContextPtr> all;
  for (const std::string& p : primaries_) {
    absl::StatusOr<RedisContextPtr> c = ConnectRedis(p);
    if (!c.ok()) return c.status();
    all.push_back(std::move(*c));
  }
  return all;
}

absl::StatusOr<std::unique_ptr<Client>> RedisTarget::NewGetSetClient() const {
  absl::StatusOr<std::vector<RedisContextPtr>> all = ConnectAll();
  if (!all.ok()) return all.status();
  std::vector<std::unique_ptr<Client>> clients;
  for (RedisContextPtr& c : *all)
    clients.push_back(std::make_unique<RedisGetSetClient>(std::move(c)));
  if (clients.size() == 1) return std::move(clients[0]);
  return std::unique_ptr<Client>(new RoutedClient(this, std::move(clients)));
}

absl::Status RedisTarget::Preload(const Workload& workload, const ProgressFn& progress) const {
  if (primaries_.size() == 1) return PreloadRedis(primaries_[0], workload, progress);
  KeyBuffer keys(workload.config());
  for (size_t p = 0; p < primaries_.size(); ++p) {
    absl::Status s = PreloadRedis(primaries_[p], workload, progress,
                                  [&](uint64_t k) { return PrimaryOf(keys.Of(k)) == p; });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, uint64_t>> RedisTarget::CommandCalls() const {
  std::map<std::string, uint64_t> sum;
  for (const std::string& p : primaries_) {
    absl::StatusOr<std::map<std::string, uint64_t>> calls = RedisCommandCalls(p);
    if (!calls.ok()) return calls.status();
    for (const auto& [name, n] : *calls) sum[name] += n;
  }
  return sum;
}

}  // namespace bench
}  // namespace shmkv
