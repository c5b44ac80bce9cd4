// Redis Cluster routing without a cluster: the slot of a key (CRC16/XMODEM
// with hash tags) against fixed vectors, the slot map read from a CLUSTER
// SLOTS reply, MOVED and ASK, and the cluster address form.
#include <string>

#include "gtest/gtest.h"
#include "kv/near/key_slot.h"
#include "kv/near/slot_map.h"
#include "tests/test_util.h"

namespace shmkv::near {
namespace {

TEST(KeySlot, Crc16IsXmodem) {
  EXPECT_EQ(Crc16Xmodem("123456789"), 0x31C3);  // the standard check value
  EXPECT_EQ(Crc16Xmodem(""), 0);
}

TEST(KeySlot, MatchesWhatRedisReports) {
  // Slots as redis-server 7.0's CLUSTER KEYSLOT answers them.
  const struct {
    std::string key;
    int slot;
  } vectors[] = {
      {"foo", 12182},
      {"bar", 5061},
      {"hello", 866},
      {"123456789", 12739},
      {"user:1", 10778},
      {"", 0},
      {"{user1000}.following", 3443},
      {"foo{}{bar}", 8363},     // empty tag: the whole key
      {"foo{{bar}}zap", 4015},  // tag "{bar"
      {"foo{bar}{zap}", 5061},  // first tag only: as "bar"
      {"{}", 15257},
      {"a{b", 13340},  // no closing brace: the whole key
  };
  for (const auto& v : vectors) EXPECT_EQ(KeySlot(v.key), v.slot) << v.key;
}

TEST(KeySlot, HashTagsShareASlot) {
  EXPECT_EQ(HashedPart("{user:1}.name"), "user:1");
  EXPECT_EQ(KeySlot("{user:1}.name"), KeySlot("{user:1}.mail"));
  EXPECT_EQ(KeySlot("{user:1}.name"), KeySlot("user:1"));
  EXPECT_EQ(HashedPart("x{}y"), "x{}y");
}

RedisReply Int(long long v) {
  RedisReply r;
  r.type = RedisReply::Type::kInteger;
  r.integer = v;
  return r;
}
RedisReply Str(const std::string& s) {
  RedisReply r;
  r.type = RedisReply::Type::kString;
  r.str = s;
  return r;
}
RedisReply Arr(std::vector<RedisReply> e) {
  RedisReply r;
  r.type = RedisReply::Type::kArray;
  r.elements = std::move(e);
  return r;
}
RedisReply Range(int first, int last, const std::string& host, int port, int replica_port = 0) {
  std::vector<RedisReply> e = {Int(first), Int(last), Arr({Str(host), Int(port), Str("id")})};
  if (replica_port != 0) e.push_back(Arr({Str(host), Int(replica_port), Str("id2")}));
  return Arr(std::move(e));
}

TEST(SlotMap, ReadsClusterSlots) {
  RedisAddress asked;
  asked.host = "10.0.0.9";
  asked.port = 7000;
  // Out of order, one node with an empty host (meaning: the node asked).
  RedisReply reply = Arr({Range(10923, 16383, "10.0.0.3", 7002), Range(0, 5460, "", 7000, 7100),
                          Range(5461, 10922, "10.0.0.2", 7001)});
  ASSERT_OK_AND_ASSIGN(SlotMap map, SlotMap::FromClusterSlots(reply, asked));
  EXPECT_EQ(map.PrimaryOf(0)->ToString(), "10.0.0.9:7000");
  EXPECT_EQ(map.PrimaryOf(5460)->ToString(), "10.0.0.9:7000");
  EXPECT_EQ(map.PrimaryOf(5461)->ToString(), "10.0.0.2:7001");
  EXPECT_EQ(map.PrimaryOf(16383)->ToString(), "10.0.0.3:7002");
  EXPECT_EQ(map.PrimaryOf(16384), nullptr);
  EXPECT_EQ(map.PrimaryOf(-1), nullptr);
  ASSERT_EQ(map.Primaries().size(), 3u);
  EXPECT_EQ(map.Primaries()[0].ToString(), "10.0.0.9:7000");
  EXPECT_EQ(map.ranges()[0].replicas.size(), 1u);
  EXPECT_EQ(map.ToString(),
            "0-5460 10.0.0.9:7000; 5461-10922 10.0.0.2:7001; 10923-16383 10.0.0.3:7002");
}

TEST(SlotMap, RefusesAnIncompleteOrForeignReply) {
  RedisAddress asked;
  asked.host = "127.0.0.1";
  asked.port = 7000;
  RedisReply gap = Arr({Range(0, 100, "h", 1), Range(102, 16383, "h", 2)});
  absl::StatusOr<SlotMap> map = SlotMap::FromClusterSlots(gap, asked);
  EXPECT_TRUE(absl::IsUnavailable(map.status()));
  EXPECT_NE(map.status().message().find("slot 101 served by no node"), std::string::npos)
      << map.status();
  RedisReply error;
  error.type = RedisReply::Type::kError;
  error.str = "ERR This instance has cluster support disabled";
  map = SlotMap::FromClusterSlots(error, asked);
  EXPECT_NE(map.status().message().find("is it a cluster node?"), std::string::npos)
      << map.status();
  map = SlotMap::FromClusterSlots(Arr({Arr({Int(0), Int(16383), Str("x")})}), asked);
  EXPECT_TRUE(absl::IsUnavailable(map.status())) << map.status();
}

TEST(Redirect, ParsesMovedAndAsk) {
  std::optional<Redirect> moved = ParseRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to.ToString(), "127.0.0.1:6381");
  std::optional<Redirect> ask = ParseRedirect("ASK 12182 [::1]:7002");
  ASSERT_TRUE(ask.has_value());
  EXPECT_EQ(ask->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(ask->to.ToString(), "[::1]:7002");
  for (const char* other : {"ERR unknown command", "MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1",
                            "ASK 1 nowhere", "MOVED 1 h:1 extra"}) {
    EXPECT_FALSE(ParseRedirect(other).has_value()) << other;
  }
}

TEST(ClusterTarget, ParsesSeeds) {
  EXPECT_TRUE(IsClusterTarget("cluster:127.0.0.1:7000"));
  EXPECT_FALSE(IsClusterTarget("127.0.0.1:7000"));
  ASSERT_OK_AND_ASSIGN(std::vector<RedisAddress> seeds,
                       ParseClusterSeeds("cluster:127.0.0.1:7000,[::1]:7001"));
  ASSERT_EQ(seeds.size(), 2u);
  EXPECT_EQ(seeds[1].ToString(), "[::1]:7001");
  for (const char* bad :
       {"cluster:", "cluster:unix:/r.sock", "cluster:h:1,", "cluster:h", "127.0.0.1:7000"}) {
    absl::StatusOr<std::vector<RedisAddress>> s = ParseClusterSeeds(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << bad;
    if (!s.ok()) {
      EXPECT_NE(s.status().message().find("cluster:HOST:PORT"), std::string::npos) << s.status();
    }
  }
}

}  // namespace
}  // namespace shmkv::near
