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

RoutingTable TableOf(uint64_t epoch, std::string generation,
                     std::vector<std::pair<std::string, std::pair<int, int>>> ranges) {
  RoutingTable t;
  t.epoch = epoch;
  t.generation = std::move(generation);
  for (const auto& [master, range] : ranges) {
    int16_t i = t.AddMaster(master);
    for (int s = range.first; s <= range.second; ++s) t.owner[s] = i;
  }
  return t;
}

TEST(ClassifyTopologyTest, ANewGenerationIsTakenWhateverItsEpoch) {
  const std::string a(32, 'a'), b(32, 'b');
  // The controller lost its data: epoch 2 of a new history follows epoch 8 of the old one.
  EXPECT_EQ(ClassifyTopology(a, 8, TableOf(2, b, {})), TopologyChange::kNewHistory);
  EXPECT_EQ(ClassifyTopology(a, 8, TableOf(9, a, {})), TopologyChange::kNewer);
  EXPECT_EQ(ClassifyTopology(a, 8, TableOf(8, a, {})), TopologyChange::kStale);
  EXPECT_EQ(ClassifyTopology(a, 8, TableOf(3, a, {})), TopologyChange::kStale);
  // An older controller sends no generation; the first table of a newer one starts a history.
  EXPECT_EQ(ClassifyTopology("", 8, TableOf(9, "", {})), TopologyChange::kNewer);
  EXPECT_EQ(ClassifyTopology("", 8, TableOf(1, "", {})), TopologyChange::kStale);
  EXPECT_EQ(ClassifyTopology("", 0, TableOf(1, a, {})), TopologyChange::kNewHistory);
}

TEST(WithFailedOverSlotsTest, OnlyTheSuspectsSlotsMoveAndOnlyToAnotherOwner) {
  RoutingTable current =
      TableOf(5, "g", {{"m1:1", {0, 99}}, {"m2:1", {100, 199}}, {"m3:1", {200, 16383}}});
  current.source = "controller";
  // The nodes' view: m2's replica r2 took over; m3's slots 300-399 moved to m1 meanwhile.
  RoutingTable observed = TableOf(
      0, "", {{"m1:1", {0, 99}}, {"r2:1", {100, 199}}, {"m3:1", {200, 16383}}, {"m1:1", {300, 399}}});
  observed.replicas[1] = {"m2:1"};
  int moved = -1;
  EXPECT_EQ(WithFailedOverSlots(current, observed, {"m1:1"}, &moved), nullptr);
  EXPECT_EQ(moved, 0);
  RoutingTablePtr t = WithFailedOverSlots(current, observed, {"m2:1"}, &moved);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(moved, 100);
  EXPECT_EQ(*t->OwnerOf(150), "r2:1");
  EXPECT_EQ(t->replicas[static_cast<size_t>(t->owner[150])], std::vector<std::string>{"m2:1"});
  EXPECT_EQ(*t->OwnerOf(50), "m1:1");
  EXPECT_EQ(*t->OwnerOf(350), "m3:1");  // not a suspect's: the controller's table stands
  EXPECT_EQ(t->epoch, 5u);
  EXPECT_EQ(*current.OwnerOf(150), "m2:1");  // a copy
  // Slots the nodes show without an owner stay where they were.
  RoutingTable unassigned = TableOf(0, "", {{"m1:1", {0, 99}}});
  EXPECT_EQ(WithFailedOverSlots(current, unassigned, {"m2:1"}), nullptr);
}

}  // namespace
}  // namespace rs::proxy
