#include "proxy/topology_source.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

using Order = std::vector<std::string>;

TEST(AskingOrderTest, TheNodeThatAnsweredLastFirstFailingNodesLastEachOnce) {
  Order candidates = {"d:1", "a:1", "b:1", "a:1", "c:1", "b:1"};
  EXPECT_EQ(AskingOrder(candidates, "", {}), (Order{"d:1", "a:1", "b:1", "c:1"}));
  EXPECT_EQ(AskingOrder(candidates, "c:1", {}), (Order{"c:1", "d:1", "a:1", "b:1"}));
  EXPECT_EQ(AskingOrder(candidates, "c:1", {"d:1", "a:1"}), (Order{"c:1", "b:1", "d:1", "a:1"}));
  // The one that answered last is not in the list any more: the others keep their order.
  EXPECT_EQ(AskingOrder(candidates, "z:1", {"b:1"}), (Order{"d:1", "a:1", "c:1", "b:1"}));
  EXPECT_TRUE(AskingOrder({}, "a:1", {"a:1"}).empty());
}

TEST(FetchClusterSlotsTest, ReportsWhichNodesFailedAndNoneAnswered) {
  ProxyConfig config;
  config.connect_timeout_ms = 200;
  AskOutcome outcome;
  outcome.answered = "stale";
  auto t = FetchClusterSlots({"127.0.0.1:1", "not an address", "127.0.0.1:2"}, config, &outcome);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(outcome.answered, "");
  EXPECT_EQ(outcome.failed, (Order{"127.0.0.1:1", "not an address", "127.0.0.1:2"}));
}

TEST(HealthyReplicasTest, OnlineReplicasWithARecentAcknowledgement) {
  const std::string info =
      "# Replication\r\nrole:master\r\nconnected_slaves:3\r\n"
      "slave0:ip=10.0.0.2,port=6379,state=online,offset=100,lag=0\r\n"
      "slave1:ip=10.0.0.3,port=6379,state=online,offset=90,lag=7\r\n"
      "slave2:ip=10.0.0.4,port=6380,state=wait_bgsave,offset=0,lag=0\r\n"
      "master_failover_state:no-failover\r\n";
  EXPECT_EQ(HealthyReplicas("10.0.0.1", info, 2), (std::set<std::string>{"10.0.0.2:6379"}));
  EXPECT_EQ(HealthyReplicas("10.0.0.1", info, 10),
            (std::set<std::string>{"10.0.0.2:6379", "10.0.0.3:6379"}));
  EXPECT_TRUE(HealthyReplicas("10.0.0.1", "role:master\r\nconnected_slaves:0\r\n", 2).empty());
}

}  // namespace
}  // namespace rs::proxy
