// The near cache in front of a real Redis Cluster: three primaries started
// once for the suite (tests/near/redis_cluster_env.h).
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kv/near/key_slot.h"
#include "kv/near/slot_map.h"
#include "tests/near/redis_cluster_env.h"
#include "tests/test_util.h"

namespace shmkv::neartest {
namespace {

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster();
    absl::Status started = cluster_->Start(3);
    if (!started.ok()) {
      delete cluster_;
      cluster_ = nullptr;
      FAIL() << started;
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(cluster_, nullptr) << "the cluster did not start"; }

  static RedisCluster* cluster_;
};

RedisCluster* ClusterTest::cluster_ = nullptr;

TEST_F(ClusterTest, KeySlotAgreesWithClusterKeyslot) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(0));
  std::mt19937 random(7);
  // Printable and binary keys, with and without braces in every place.
  const std::string alphabet = std::string("{}{}ab:_\x00\xff\x7f", 13);
  for (int i = 0; i < 3000; ++i) {
    std::string key;
    const int length = static_cast<int>(random() % 12);
    for (int j = 0; j < length; ++j) key.push_back(alphabet[random() % alphabet.size()]);
    if (i % 3 == 0) key += absl::StrCat("user:", random());
    ASSERT_OK_AND_ASSIGN(near::RedisReply slot, c->Command({"CLUSTER", "KEYSLOT", key}));
    ASSERT_EQ(slot.type, near::RedisReply::Type::kInteger) << slot.Describe();
    ASSERT_EQ(near::KeySlot(key), slot.integer) << "key \"" << key << "\"";
  }
}

TEST_F(ClusterTest, DiscoversEveryPrimaryFromAnySeed) {
  for (int seed = 0; seed < cluster_->node_count(); ++seed) {
    near::RedisAddress unreachable;  // refused first: the next seed answers
    unreachable.host = "127.0.0.1";
    unreachable.port = 1;
    ASSERT_OK_AND_ASSIGN(
        near::SlotMap map,
        near::DiscoverSlotMap({unreachable, cluster_->address(seed)}, absl::Seconds(2)));
    EXPECT_EQ(map.Primaries().size(), 3u) << map.ToString();
    for (int slot : {0, 5000, 5461, 10922, 10923, 16383}) {
      ASSERT_OK_AND_ASSIGN(int node, cluster_->PrimaryOfSlot(slot));
      ASSERT_NE(map.PrimaryOf(slot), nullptr);
      EXPECT_EQ(map.PrimaryOf(slot)->port, cluster_->port(node)) << "slot " << slot;
    }
  }
}

TEST_F(ClusterTest, AWrongNodeAnswersAMovedThatNamesTheOwner) {
  const std::string key = "user:moved";
  ASSERT_OK_AND_ASSIGN(int owner, cluster_->PrimaryOfSlot(near::KeySlot(key)));
  const int wrong = (owner + 1) % cluster_->node_count();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<near::RedisConnection> c, cluster_->Client(wrong));
  ASSERT_OK_AND_ASSIGN(near::RedisReply reply, c->Command({"GET", key}));
  ASSERT_EQ(reply.type, near::RedisReply::Type::kError) << reply.Describe();
  std::optional<near::Redirect> redirect = near::ParseRedirect(reply.str);
  ASSERT_TRUE(redirect.has_value()) << reply.str;
  EXPECT_EQ(redirect->kind, near::Redirect::Kind::kMoved);
  EXPECT_EQ(redirect->slot, near::KeySlot(key));
  EXPECT_EQ(redirect->to.port, cluster_->port(owner));
}

TEST(ClusterDiscovery, ANodeOutsideAClusterIsNamed) {
  near::RedisAddress nobody;
  nobody.host = "127.0.0.1";
  nobody.port = 1;
  absl::StatusOr<near::SlotMap> map = near::DiscoverSlotMap({nobody}, absl::Seconds(1));
  EXPECT_TRUE(absl::IsUnavailable(map.status()));
  EXPECT_NE(map.status().message().find("127.0.0.1:1"), std::string::npos) << map.status();
}

}  // namespace
}  // namespace shmkv::neartest
