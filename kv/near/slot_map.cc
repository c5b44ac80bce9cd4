#include "kv/near/slot_map.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kv/near/key_slot.h"

namespace shmkv::near {
namespace {

// One node entry of CLUSTER SLOTS: [host, port, id, ...].
absl::StatusOr<RedisAddress> NodeAddress(const RedisReply& node, const RedisAddress& asked) {
  if (node.type != RedisReply::Type::kArray || node.elements.size() < 2 ||
      node.elements[0].type != RedisReply::Type::kString ||
      node.elements[1].type != RedisReply::Type::kInteger) {
    return absl::UnavailableError(absl::StrCat("CLUSTER SLOTS named a node as ", node.Describe(),
                                               "; want [host, port, ...]"));
  }
  const std::string& host = node.elements[0].str;
  if (host == "?") {
    return absl::UnavailableError("CLUSTER SLOTS names a node whose address is not known yet");
  }
  const std::string& shown = host.empty() ? asked.host : host;
  const bool v6 = shown.find(':') != std::string::npos;
  absl::StatusOr<RedisAddress> address = ParseRedisAddress(
      absl::StrCat(v6 ? "[" : "", shown, v6 ? "]:" : ":", node.elements[1].integer));
  if (!address.ok()) return absl::UnavailableError(address.status().message());
  return address;
}

absl::StatusOr<SlotRange> ParseRange(const RedisReply& entry, const RedisAddress& asked) {
  if (entry.type != RedisReply::Type::kArray || entry.elements.size() < 3 ||
      entry.elements[0].type != RedisReply::Type::kInteger ||
      entry.elements[1].type != RedisReply::Type::kInteger) {
    return absl::UnavailableError(absl::StrCat("CLUSTER SLOTS answered an entry ", entry.Describe(),
                                               "; want [first, last, node...]"));
  }
  SlotRange range;
  range.first = static_cast<int>(entry.elements[0].integer);
  range.last = static_cast<int>(entry.elements[1].integer);
  if (range.first < 0 || range.last < range.first || range.last >= kClusterSlots) {
    return absl::UnavailableError(
        absl::StrCat("CLUSTER SLOTS answered slots ", range.first, "-", range.last));
  }
  for (size_t i = 2; i < entry.elements.size(); ++i) {
    absl::StatusOr<RedisAddress> node = NodeAddress(entry.elements[i], asked);
    if (!node.ok()) return node.status();
    if (i == 2) {
      range.primary = *std::move(node);
    } else {
      range.replicas.push_back(*std::move(node));
    }
  }
  return range;
}

}  // namespace

bool IsClusterTarget(absl::string_view text) { return absl::StartsWith(text, kClusterScheme); }

absl::StatusOr<std::vector<RedisAddress>> ParseClusterSeeds(absl::string_view text) {
  const std::string help = "give cluster:HOST:PORT[,HOST:PORT...] (any nodes of the cluster)";
  if (!absl::ConsumePrefix(&text, kClusterScheme) || text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bad cluster address \"", text, "\"; ", help));
  }
  std::vector<RedisAddress> seeds;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    absl::StatusOr<RedisAddress> seed = ParseRedisAddress(part);
    if (!seed.ok() || !seed->unix_path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("bad cluster node \"", part, "\" in \"",
                                                     kClusterScheme, text, "\"; ", help));
    }
    seeds.push_back(*std::move(seed));
  }
  return seeds;
}

absl::StatusOr<SlotMap> SlotMap::FromClusterSlots(const RedisReply& reply,
                                                  const RedisAddress& asked) {
  if (reply.type != RedisReply::Type::kArray) {
    return absl::UnavailableError(
        absl::StrCat(asked.ToString(), " answered CLUSTER SLOTS with ", reply.Describe(),
                     reply.type == RedisReply::Type::kError ? " (is it a cluster node?)" : ""));
  }
  SlotMap map;
  for (const RedisReply& entry : reply.elements) {
    absl::StatusOr<SlotRange> range = ParseRange(entry, asked);
    if (!range.ok()) return range.status();
    map.ranges_.push_back(*std::move(range));
  }
  std::sort(map.ranges_.begin(), map.ranges_.end(),
            [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  int next = 0;
  for (const SlotRange& r : map.ranges_) {
    if (r.first != next) break;
    next = r.last + 1;
  }
  if (next != kClusterSlots) {
    return absl::UnavailableError(absl::StrCat(asked.ToString(), " reports slot ", next,
                                               " served by no node: the cluster is not ready"));
  }
  return map;
}

const RedisAddress* SlotMap::PrimaryOf(int slot) const {
  auto after = std::upper_bound(ranges_.begin(), ranges_.end(), slot,
                                [](int s, const SlotRange& r) { return s < r.first; });
  if (after == ranges_.begin()) return nullptr;
  const SlotRange& r = *(after - 1);
  return slot <= r.last ? &r.primary : nullptr;
}

std::vector<RedisAddress> SlotMap::Primaries() const {
  std::vector<RedisAddress> primaries;
  for (const SlotRange& r : ranges_) {
    const std::string name = r.primary.ToString();
    if (std::none_of(primaries.begin(), primaries.end(),
                     [&](const RedisAddress& p) { return p.ToString() == name; })) {
      primaries.push_back(r.primary);
    }
  }
  return primaries;
}

std::string SlotMap::ToString() const {
  std::vector<std::string> parts;
  for (const SlotRange& r : ranges_) {
    parts.push_back(absl::StrCat(r.first, "-", r.last, " ", r.primary.ToString()));
  }
  return absl::StrJoin(parts, "; ");
}

absl::StatusOr<SlotMap> DiscoverSlotMap(const std::vector<RedisAddress>& seeds,
                                        absl::Duration timeout) {
  std::vector<std::string> failures;
  for (const RedisAddress& seed : seeds) {
    absl::StatusOr<std::unique_ptr<RedisConnection>> c = RedisConnection::Connect(seed, timeout);
    absl::StatusOr<RedisReply> slots =
        c.ok() ? (*c)->Command({"CLUSTER", "SLOTS"}) : absl::StatusOr<RedisReply>(c.status());
    absl::StatusOr<SlotMap> map = slots.ok() ? SlotMap::FromClusterSlots(*slots, seed)
                                             : absl::StatusOr<SlotMap>(slots.status());
    if (map.ok()) return map;
    failures.push_back(std::string(map.status().message()));
  }
  return absl::UnavailableError(
      absl::StrCat("no node of the cluster gave its slot map: ", absl::StrJoin(failures, "; ")));
}

std::optional<Redirect> ParseRedirect(absl::string_view error) {
  Redirect redirect;
  if (absl::ConsumePrefix(&error, "MOVED ")) {
    redirect.kind = Redirect::Kind::kMoved;
  } else if (absl::ConsumePrefix(&error, "ASK ")) {
    redirect.kind = Redirect::Kind::kAsk;
  } else {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(error, ' ');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &redirect.slot) || redirect.slot < 0 ||
      redirect.slot >= kClusterSlots) {
    return std::nullopt;
  }
  absl::StatusOr<RedisAddress> to = ParseRedisAddress(parts[1]);
  if (!to.ok()) return std::nullopt;
  redirect.to = *std::move(to);
  return redirect;
}

}  // namespace shmkv::near
