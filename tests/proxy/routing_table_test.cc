#include "proxy/routing_table.h"

#include <gtest/gtest.h>

namespace rs::proxy {
namespace {

constexpr const char* kTopology = R"({"epoch": 7, "shards": [
  {"master": {"address": "127.0.0.1:7001", "id": "a"}, "slots": [[0, 5460]],
   "replicas": [{"address": "127.0.0.1:7004", "id": "d"}]},
  {"master": {"address": "127.0.0.1:7002", "id": "b"}, "slots": [[5461, 10922]], "replicas": []},
  {"master": {"address": "127.0.0.1:7003", "id": "c"}, "slots": [[10923, 16000], [16001, 16383]],
   "replicas": []}]})";

TEST(RoutingTableTest, ParsesTheControllersTopology) {
  auto t = RoutingTable::FromTopologyJson(kTopology);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->epoch, 7u);
  EXPECT_EQ(t->masters.size(), 3u);
  EXPECT_EQ(*t->OwnerOf(0), "127.0.0.1:7001");
  EXPECT_EQ(*t->OwnerOf(5461), "127.0.0.1:7002");
  EXPECT_EQ(*t->OwnerOf(16383), "127.0.0.1:7003");
  EXPECT_EQ(t->replicas[0], std::vector<std::string>{"127.0.0.1:7004"});
  EXPECT_EQ(t->AssignedSlots(), 16384);
}

TEST(RoutingTableTest, ReadsTheGenerationAndTakesItsAbsenceAsEmpty) {
  auto old = RoutingTable::FromTopologyJson(kTopology);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->generation, "");
  auto t = RoutingTable::FromTopologyJson(
      R"({"epoch": 2, "generation": "0123456789abcdef0123456789abcdef", "shards": []})");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->generation, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(t->epoch, 2u);
  EXPECT_FALSE(RoutingTable::FromTopologyJson(R"({"epoch": 2, "generation": 5, "shards": []})").ok());
}

TEST(RoutingTableTest, RejectsBadTopologies) {
  for (
      const char* bad :
      {"", "[]", "{}", R"({"epoch": -1, "shards": []})", R"({"epoch": 1})",
       R"({"epoch": 1, "shards": [{"slots": [[0, 1]]}]})",
       R"({"epoch": 1, "shards": [{"master": {"address": "nohost"}, "slots": []}]})",
       R"({"epoch": 1, "shards": [{"master": {"address": "1.2.3.4:5"}, "slots": [[5, 1]]}]})",
       R"({"epoch": 1, "shards": [{"master": {"address": "1.2.3.4:5"}, "slots": [[0, 16384]]}]})"}) {
    EXPECT_FALSE(RoutingTable::FromTopologyJson(bad).ok()) << bad;
  }
}

TEST(RoutingTableTest, UnassignedSlotsHaveNoOwner) {
  auto t = RoutingTable::FromTopologyJson(
      R"({"epoch": 1, "shards": [{"master": {"address": "1.2.3.4:5"}, "slots": [[0, 9]]}]})");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->OwnerOf(9), nullptr);
  EXPECT_EQ(t->OwnerOf(10), nullptr);
  EXPECT_EQ(t->AssignedSlots(), 10);
}

TEST(RoutingTableTest, MovedPatchCopiesAndLeavesTheOriginal) {
  auto t = RoutingTable::FromTopologyJson(kTopology);
  ASSERT_TRUE(t.ok());
  auto original = std::make_shared<const RoutingTable>(std::move(t).value());
  auto patched = original->WithSlotOwner(100, "127.0.0.1:7009");
  EXPECT_EQ(*patched->OwnerOf(100), "127.0.0.1:7009");
  EXPECT_EQ(*patched->OwnerOf(101), "127.0.0.1:7001");
  EXPECT_EQ(*original->OwnerOf(100), "127.0.0.1:7001");
  EXPECT_EQ(patched->masters.size(), 4u);
  EXPECT_EQ(patched->epoch, 7u);
}

}  // namespace
}  // namespace rs::proxy
